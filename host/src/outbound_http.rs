//! Outbound HTTP as a capability: `wasi:http/outgoing-handler` for plugins, limited to the endpoints their manifest grants.
//!
//! Every plugin links `wasi:http`, and every request passes
//! [`Hooks::send_request`] first: a request whose scheme, host and port
//! match no [`EndpointPattern`] of the manifest's `[http]` table fails inside
//! the plugin with `error-code::HTTP-request-denied`, and the host logs a
//! warning naming the plugin and the host. A granted request is sent with
//! wasmtime-wasi-http's client (hyper; HTTPS with rustls and the Mozilla web
//! roots of `webpki-roots`); its connect, first-byte and between-bytes
//! timeouts end shortly after the running call's deadline, and its response
//! body is capped at the grant's `max-response-kib`.
//!
//! The plugin waits for a response in `wasi:io/poll`, which ends at the call's
//! deadline ([`crate::deadline_io`]); the timeouts above bound the waits poll
//! does not see (a blocking read of the body), [`DEADLINE_GRACE`] after the
//! deadline, so the caller sees the deadline fault rather than a timeout error.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::Uri;
use http::uri::Scheme;
use http_body::{Body, Frame, SizeHint};
use serde::Deserialize;
use tracing::Instrument;
use wasmtime::component::Linker;
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
    WasiHttpView,
};

use crate::state::StoreData;

/// How long after the call's deadline the HTTP timeouts end: the deadline
/// fault, raised exactly at the deadline, then always wins the race.
pub(crate) const DEADLINE_GRACE: Duration = Duration::from_millis(50);

/// The response body cap when the manifest sets none: 8 MiB.
pub const DEFAULT_MAX_RESPONSE_KIB: u64 = 8 * 1024;

/// The `[http]` table of a manifest: which endpoints the plugin may call.
///
/// ```toml
/// [http]
/// allow = ["https://ec2.*.amazonaws.com", "http://127.0.0.1:*"]
/// max-response-kib = 4096
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HttpGrants {
    /// The endpoints the plugin may send requests to; empty denies every request.
    #[serde(default)]
    pub allow: Vec<EndpointPattern>,
    /// The largest response body the plugin may receive, in KiB.
    #[serde(default = "default_max_response_kib")]
    pub max_response_kib: u64,
}

fn default_max_response_kib() -> u64 {
    DEFAULT_MAX_RESPONSE_KIB
}

impl Default for HttpGrants {
    fn default() -> Self {
        HttpGrants {
            allow: Vec::new(),
            max_response_kib: DEFAULT_MAX_RESPONSE_KIB,
        }
    }
}

impl HttpGrants {
    /// Whether a request to `uri` is granted.
    pub fn allows(&self, uri: &Uri) -> bool {
        Target::of(uri).is_some_and(|t| self.allow.iter().any(|p| p.matches(&t)))
    }

    fn max_response_bytes(&self) -> u64 {
        self.max_response_kib.saturating_mul(1024)
    }
}

/// One granted endpoint: `scheme://host[:port]`.
///
/// - scheme: `http` or `https`;
/// - host: a DNS name or an IP address, compared without regard to case; a
///   `*` label stands for exactly one DNS label (`ec2.*.amazonaws.com`
///   matches `ec2.eu-west-1.amazonaws.com`, not `ec2.amazonaws.com`), and a
///   host made only of `*` labels is refused; an IPv6 address is written in
///   brackets, `http://[::1]:8080`;
/// - port: a number, `*` for any port, or nothing for the scheme's default
///   (443 for https, 80 for http).
///
/// Paths, queries and user names are not part of a grant and are refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct EndpointPattern {
    https: bool,
    labels: Vec<Label>,
    port: PortPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Label {
    Any,
    Exact(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PortPattern {
    Default,
    Any,
    Exact(u16),
}

/// What a request is sent to, normalised for matching.
struct Target {
    https: bool,
    host: String,
    port: u16,
}

impl Target {
    /// The scheme, host and port of `uri`; None for other schemes or a missing host.
    fn of(uri: &Uri) -> Option<Target> {
        let https = match uri.scheme() {
            Some(s) if *s == Scheme::HTTPS => true,
            Some(s) if *s == Scheme::HTTP => false,
            _ => return None,
        };
        let host = uri.host()?.trim_end_matches('.').to_ascii_lowercase();
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => format!("[{}]", v6.parse::<std::net::Ipv6Addr>().ok()?),
            None if host.is_empty() => return None,
            None => host,
        };
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        Some(Target { https, host, port })
    }
}

impl EndpointPattern {
    fn matches(&self, target: &Target) -> bool {
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Exact(p) => p == target.port,
            PortPattern::Default => target.port == if self.https { 443 } else { 80 },
        };
        if self.https != target.https || !port_ok {
            return false;
        }
        if target.host.starts_with('[') {
            // An IPv6 literal is one label, matched whole.
            return matches!(&self.labels[..], [Label::Exact(h)] if *h == target.host);
        }
        let labels: Vec<&str> = target.host.split('.').collect();
        labels.len() == self.labels.len()
            && self.labels.iter().zip(labels).all(|(p, l)| match p {
                Label::Any => !l.is_empty(),
                Label::Exact(e) => e == l,
            })
    }
}

impl TryFrom<String> for EndpointPattern {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl std::str::FromStr for EndpointPattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("http grant '{text}': {why}");
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| bad("expected scheme://host[:port]"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(bad("the scheme must be http or https")),
        };
        if rest.contains(['/', '?', '#']) {
            return Err(bad("a grant names scheme://host[:port], without a path"));
        }
        if rest.contains('@') {
            return Err(bad("a grant has no user name"));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (addr, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 address needs a closing ]"))?;
            let addr = addr
                .parse::<std::net::Ipv6Addr>()
                .map_err(|_| bad("not an IPv6 address between [ ]"))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| bad("expected :port after ]"))?,
                ),
            };
            (format!("[{addr}]"), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
                None => (rest.to_ascii_lowercase(), None),
            }
        };
        let port = match port {
            None => PortPattern::Default,
            Some("*") => PortPattern::Any,
            Some(p) => PortPattern::Exact(
                p.parse()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| bad("the port must be a number from 1 to 65535, or *"))?,
            ),
        };
        let labels: Vec<Label> = if host.starts_with('[') {
            vec![Label::Exact(host)]
        } else {
            host.trim_end_matches('.')
                .split('.')
                .map(|l| match l {
                    "*" => Ok(Label::Any),
                    l if !l.is_empty()
                        && l.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
                    {
                        Ok(Label::Exact(l.to_owned()))
                    }
                    _ => Err(bad(
                        "the host must be a DNS name or an IP address (a * stands for one label)",
                    )),
                })
                .collect::<Result<_, _>>()?
        };
        if labels.iter().all(|l| *l == Label::Any) {
            return Err(bad(
                "name the host: a host made only of * would grant every host",
            ));
        }
        Ok(EndpointPattern {
            https,
            labels,
            port,
        })
    }
}

impl fmt::Display for EndpointPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.https { "https://" } else { "http://" })?;
        for (i, l) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            match l {
                Label::Any => f.write_str("*")?,
                Label::Exact(e) => f.write_str(e)?,
            }
        }
        match self.port {
            PortPattern::Default => Ok(()),
            PortPattern::Any => f.write_str(":*"),
            PortPattern::Exact(p) => write!(f, ":{p}"),
        }
    }
}

/// One store's `wasi:http` state: the context and the hooks that enforce the grants.
pub(crate) struct OutboundHttp {
    ctx: WasiHttpCtx,
    hooks: Hooks,
}

impl OutboundHttp {
    /// The state for a new instance of `plugin`.
    pub(crate) fn new(plugin: Arc<str>, grants: Arc<HttpGrants>) -> OutboundHttp {
        OutboundHttp {
            ctx: WasiHttpCtx::new(),
            hooks: Hooks {
                plugin,
                grants,
                deadline: None,
            },
        }
    }
}

/// Decides each request of one plugin; knows the running call's deadline.
struct Hooks {
    plugin: Arc<str>,
    grants: Arc<HttpGrants>,
    deadline: Option<Instant>,
}

/// The future `send_request` returns.
type SendFuture = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ),
                HttpError,
            >,
        > + Send,
>;

impl Hooks {
    /// The guest's timeouts, each cut to end [`DEADLINE_GRACE`] after the call's deadline.
    fn options(&self, guest: Option<RequestOptions>) -> RequestOptions {
        let guest = guest.unwrap_or_default();
        let Some(deadline) = self.deadline else {
            return guest;
        };
        let left = deadline.saturating_duration_since(Instant::now()) + DEADLINE_GRACE;
        let cut = |t: Option<Duration>| Some(t.map_or(left, |t| t.min(left)));
        RequestOptions {
            connect_timeout: cut(guest.connect_timeout),
            first_byte_timeout: cut(guest.first_byte_timeout),
            between_bytes_timeout: cut(guest.between_bytes_timeout),
        }
    }
}

impl WasiHttpHooks for Hooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        drop(fut);
        let uri = request.uri().clone();
        let host = uri.host().unwrap_or_default().to_owned();
        let plugin = self.plugin.clone();
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            tracing::warn!(plugin = %plugin, host = %host, "outbound HTTP request denied: user names in URLs are not allowed");
            return Box::new(async { Err(HttpError::HttpRequestUriInvalid) });
        }
        if !self.grants.allows(&uri) {
            let endpoint = format!(
                "{}://{}",
                uri.scheme_str().unwrap_or(""),
                uri.authority().map(|a| a.as_str()).unwrap_or("")
            );
            tracing::warn!(plugin = %plugin, host = %host, endpoint = %endpoint, "outbound HTTP request denied: no [http] allow entry of the plugin's manifest grants this endpoint");
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let options = self.options(options);
        let cap = self.grants.max_response_bytes();
        let body_deadline = self.deadline.map(|d| d + DEADLINE_GRACE);
        let method = request.method().clone();
        let span = tracing::debug_span!("outbound_http", plugin = %plugin, host = %host, %method);
        Box::new(
            async move {
                let started = Instant::now();
                let sent = wasmtime_wasi_http::default_send_request(request, Some(options)).await;
                let (response, io) = sent.inspect_err(|e| {
                    tracing::debug!(error = %e, "outbound HTTP request failed");
                })?;
                tracing::debug!(
                    status = response.status().as_u16(),
                    elapsed_us = started.elapsed().as_micros() as u64,
                    path = uri.path(),
                    "outbound HTTP response"
                );
                let declared = response
                    .headers()
                    .get(http::header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
                if declared.is_some_and(|n| n > cap) {
                    tracing::warn!(
                        declared,
                        cap,
                        "outbound HTTP response refused: its body is larger than the grant's max-response-kib"
                    );
                    return Err(HttpError::HttpResponseBodySize(declared));
                }
                let response = response.map(|body| {
                    http_body_util::BodyExt::boxed_unsync(CappedBody::new(body, cap, body_deadline))
                });
                Ok((
                    response,
                    Box::new(io) as Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                ))
            }
            .instrument(span),
        )
    }
}

/// A response body that fails once it exceeds `cap` bytes or runs past `deadline`.
struct CappedBody<B> {
    inner: B,
    left: u64,
    cap: u64,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<B> CappedBody<B> {
    fn new(inner: B, cap: u64, deadline: Option<Instant>) -> CappedBody<B> {
        CappedBody {
            inner,
            left: cap,
            cap,
            deadline: deadline.map(|d| Box::pin(tokio::time::sleep_until(d.into()))),
        }
    }
}

impl<B> Body for CappedBody<B>
where
    B: Body<Data = Bytes, Error = HttpError> + Unpin,
{
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let len = frame.data_ref().map_or(0, |d| d.len() as u64);
                if len > this.left {
                    this.left = 0;
                    return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(Some(this.cap)))));
                }
                this.left -= len;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                let expired = this
                    .deadline
                    .as_mut()
                    .is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready());
                if expired {
                    Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)))
                } else {
                    Poll::Pending
                }
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl WasiHttpView for StoreData {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        self.http.hooks.deadline = self.deadline;
        WasiHttpCtxView {
            ctx: &mut self.http.ctx,
            table: &mut self.table,
            hooks: &mut self.http.hooks,
        }
    }
}

/// Adds `wasi:http/types` and `wasi:http/outgoing-handler` to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(linker)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(allow: &[&str]) -> HttpGrants {
        HttpGrants {
            allow: allow.iter().map(|a| a.parse().unwrap()).collect(),
            ..HttpGrants::default()
        }
    }

    fn allowed(allow: &[&str], url: &str) -> bool {
        grants(allow).allows(&url.parse().unwrap())
    }

    #[test]
    fn a_wildcard_label_matches_one_label() {
        let g = ["https://ec2.*.amazonaws.com"];
        assert!(allowed(&g, "https://ec2.eu-west-1.amazonaws.com/"));
        assert!(allowed(
            &g,
            "https://EC2.us-east-1.AmazonAWS.com:443/?Action=X"
        ));
        assert!(allowed(&g, "https://ec2.us-east-1.amazonaws.com./"));
        assert!(!allowed(&g, "https://ec2.amazonaws.com/"));
        assert!(!allowed(&g, "https://ec2.a.b.amazonaws.com/"));
        assert!(!allowed(
            &g,
            "https://ec2.eu-west-1.amazonaws.com.evil.test/"
        ));
        assert!(!allowed(
            &g,
            "https://evil.test/ec2.eu-west-1.amazonaws.com"
        ));
    }

    #[test]
    fn scheme_and_port_must_match() {
        let g = ["https://ec2.us-east-1.amazonaws.com"];
        assert!(!allowed(&g, "http://ec2.us-east-1.amazonaws.com/"));
        assert!(!allowed(&g, "https://ec2.us-east-1.amazonaws.com:8443/"));
        assert!(!allowed(&g, "http://ec2.us-east-1.amazonaws.com:443/"));
        let g = ["http://127.0.0.1:5000"];
        assert!(allowed(&g, "http://127.0.0.1:5000/"));
        assert!(!allowed(&g, "http://127.0.0.1:5001/"));
        assert!(!allowed(&g, "http://127.0.0.1/"));
        assert!(!allowed(&g, "http://127.0.0.2:5000/"));
        let g = ["http://localhost:*"];
        assert!(allowed(&g, "http://localhost:1/"));
        assert!(allowed(&g, "http://localhost/"));
        assert!(!allowed(&g, "https://localhost/"));
    }

    #[test]
    fn ipv6_literals_match_whole() {
        let g = ["http://[::1]:8080"];
        assert!(allowed(&g, "http://[::1]:8080/"));
        assert!(allowed(&g, "http://[0:0::1]:8080/"), "the same address");
        assert!(!allowed(&g, "http://[::2]:8080/"));
    }

    #[test]
    fn nothing_granted_denies_everything() {
        assert!(!allowed(&[], "https://ec2.us-east-1.amazonaws.com/"));
        assert!(!allowed(&[], "http://127.0.0.1/"));
    }

    #[test]
    fn bad_patterns_say_why() {
        let err = |p: &str| p.parse::<EndpointPattern>().unwrap_err();
        assert_eq!(
            err("ec2.amazonaws.com"),
            "http grant 'ec2.amazonaws.com': expected scheme://host[:port]"
        );
        assert!(err("ftp://x.test").ends_with("the scheme must be http or https"));
        assert!(err("https://x.test/path").ends_with("without a path"));
        assert!(err("https://u@x.test").ends_with("a grant has no user name"));
        assert!(err("https://*").ends_with("would grant every host"));
        assert!(err("https://*.*").ends_with("would grant every host"));
        assert!(err("https://x.test:0").contains("the port must be"));
        assert!(err("https://x.test:http").contains("the port must be"));
        assert!(err("https://x..test").contains("DNS name"));
        assert!(err("http://[::1").contains("closing ]"));
        assert!(err("http://[nope]").contains("IPv6"));
    }

    #[test]
    fn patterns_display_as_written() {
        for p in [
            "https://ec2.*.amazonaws.com",
            "http://127.0.0.1:*",
            "http://[::1]:8080",
        ] {
            assert_eq!(p.parse::<EndpointPattern>().unwrap().to_string(), p);
        }
    }

    #[test]
    fn timeouts_end_just_after_the_deadline() {
        let mut hooks = Hooks {
            plugin: "p".into(),
            grants: Arc::new(HttpGrants::default()),
            deadline: None,
        };
        let guest = RequestOptions {
            connect_timeout: Some(Duration::from_millis(10)),
            ..RequestOptions::default()
        };
        assert_eq!(hooks.options(Some(guest)), guest, "no deadline, no cut");
        hooks.deadline = Some(Instant::now() + Duration::from_secs(2));
        let o = hooks.options(Some(guest));
        assert_eq!(o.connect_timeout, Some(Duration::from_millis(10)));
        let first = o.first_byte_timeout.unwrap();
        assert!(
            first <= Duration::from_secs(2) + DEADLINE_GRACE,
            "{first:?}"
        );
        assert!(first > Duration::from_secs(1), "{first:?}");
        assert_eq!(o.between_bytes_timeout, o.first_byte_timeout);
    }

    #[tokio::test]
    async fn the_body_is_capped() {
        use http_body_util::{BodyExt, Full};
        let body = Full::new(Bytes::from(vec![b'x'; 100])).map_err(|e| match e {});
        let err = CappedBody::new(body, 99, None).collect().await.unwrap_err();
        assert!(
            matches!(err, HttpError::HttpResponseBodySize(Some(99))),
            "{err:?}"
        );
        let body = Full::new(Bytes::from(vec![b'x'; 100])).map_err(|e| match e {});
        let all = CappedBody::new(body, 100, None).collect().await.unwrap();
        assert_eq!(all.to_bytes().len(), 100);
    }
}
