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

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tracing::Instrument;
use wasmtime::component::Linker;
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
    WasiHttpView,
};

use crate::state::StoreData;

mod grants;

pub use grants::{DEFAULT_MAX_RESPONSE_KIB, EndpointPattern, HttpGrants};

/// How long after the call's deadline the HTTP timeouts end: the deadline
/// fault, raised exactly at the deadline, then always wins the race.
pub(crate) const DEADLINE_GRACE: Duration = Duration::from_millis(50);

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
