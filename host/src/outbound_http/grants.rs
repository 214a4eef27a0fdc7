//! The `[http]` grants of a manifest: endpoint patterns (`scheme://host[:port]`) and whether a request's URI matches one.

use std::fmt;

use http::Uri;
use http::uri::Scheme;
use serde::Deserialize;

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

    /// The response body cap in bytes.
    pub(crate) fn max_response_bytes(&self) -> u64 {
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
}
