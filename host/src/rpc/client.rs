//! Calls a JSON-RPC method on a plugin server (unix socket or TCP): one HTTP/1.1 request per connection, blocking.

use std::fmt;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::jsonrpc::{parse_response, request};

/// The largest response body read, in bytes: a runaway server cannot exhaust the host.
pub const MAX_RESPONSE: usize = 64 << 20;

/// Where a plugin server listens, as InfraKit's client parses addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A unix socket (a path, `unix://path` or `file://path`).
    Unix(PathBuf),
    /// A TCP server, `host:port` (from `tcp://` or `http://` addresses).
    Tcp(String),
}

impl Endpoint {
    /// Parses an address the way InfraKit's `parseAddress` does: a path,
    /// `unix://`, `file://`, `tcp://` or `http://`.
    pub fn parse(address: &str) -> Result<Endpoint, String> {
        let address = address.trim();
        if let Some((scheme, rest)) = address.split_once("://") {
            match scheme {
                "unix" | "file" => Ok(Endpoint::Unix(PathBuf::from(rest))),
                "tcp" | "http" => {
                    let hostport = rest.split('/').next().unwrap_or_default();
                    if hostport.is_empty() {
                        return Err(format!("no host in address {address:?}"));
                    }
                    let hostport = if hostport.contains(':') {
                        hostport.to_owned()
                    } else {
                        format!("{hostport}:80")
                    };
                    Ok(Endpoint::Tcp(hostport))
                }
                other => Err(format!(
                    "unsupported scheme {other:?} in address {address:?} (unix, file, tcp and http are)"
                )),
            }
        } else if address.is_empty() {
            Err("empty address".into())
        } else {
            Ok(Endpoint::Unix(PathBuf::from(address)))
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Unix(path) => write!(f, "unix://{}", path.display()),
            Endpoint::Tcp(addr) => write!(f, "tcp://{addr}"),
        }
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Nothing answers at the address.
    #[error("cannot connect to {path}: {source}")]
    Connect {
        /// The address.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The exchange failed or timed out.
    #[error("call to {path} failed: {reason}")]
    Transport {
        /// The address.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The server answered with a JSON-RPC error.
    #[error("{message}")]
    Remote {
        /// The JSON-RPC error code.
        code: i64,
        /// The server's message.
        message: String,
    },
}

/// Calls `method` with raw `params` on the server at `socket`; returns the raw result.
pub fn call(
    socket: &Path,
    method: &str,
    params: &str,
    timeout: Duration,
) -> Result<String, CallError> {
    call_endpoint(&Endpoint::Unix(socket.to_owned()), method, params, timeout)
}

/// A stream to either kind of server.
enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn connect(endpoint: &Endpoint, timeout: Duration) -> std::io::Result<Stream> {
        let stream = match endpoint {
            Endpoint::Unix(path) => Stream::Unix(UnixStream::connect(path)?),
            Endpoint::Tcp(addr) => {
                let mut last = None;
                let mut found = None;
                for a in std::net::ToSocketAddrs::to_socket_addrs(addr.as_str())? {
                    match TcpStream::connect_timeout(&a, timeout) {
                        Ok(s) => {
                            found = Some(s);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                let stream = found.ok_or_else(|| {
                    last.unwrap_or_else(|| std::io::Error::other("the host has no address"))
                })?;
                stream.set_nodelay(true)?;
                Stream::Tcp(stream)
            }
        };
        match &stream {
            Stream::Unix(s) => {
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
            }
            Stream::Tcp(s) => {
                s.set_read_timeout(Some(timeout))?;
                s.set_write_timeout(Some(timeout))?;
            }
        }
        Ok(stream)
    }

    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            Stream::Unix(s) => s,
            Stream::Tcp(s) => s,
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Request ids: the Go client sends random u64s; a counter is as good and
/// exercises ids above 2^53 like it does.
static NEXT_ID: AtomicU64 = AtomicU64::new(8_013_013_879_344_048_126);

/// Calls `method` with raw `params` on the server at `endpoint`; returns the raw result.
pub fn call_endpoint(
    endpoint: &Endpoint,
    method: &str,
    params: &str,
    timeout: Duration,
) -> Result<String, CallError> {
    let path = endpoint.to_string();
    let transport = |reason: String| CallError::Transport {
        path: path.clone(),
        reason,
    };
    let mut stream = Stream::connect(endpoint, timeout).map_err(|source| CallError::Connect {
        path: path.clone(),
        source,
    })?;
    let body = request(method, params, NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let head = format!(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let io = stream.io();
    io.write_all(head.as_bytes())
        .and_then(|()| io.write_all(body.as_bytes()))
        .map_err(|e| transport(timed_out(e)))?;
    let mut raw = Vec::new();
    io.take(MAX_RESPONSE as u64 + 64 * 1024)
        .read_to_end(&mut raw)
        .map_err(|e| transport(timed_out(e)))?;
    let (status, body) = parse_http(&raw).map_err(transport)?;
    let text = String::from_utf8_lossy(&body);
    if status != 200 {
        return Err(transport(format!("HTTP {status}: {}", text.trim())));
    }
    if text.trim().is_empty() {
        return Err(transport("empty response body".into()));
    }
    parse_response(text.trim()).map_err(|(code, message)| CallError::Remote { code, message })
}

fn timed_out(e: std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            "timed out waiting for the server".into()
        }
        _ => e.to_string(),
    }
}

/// Splits a whole HTTP/1.1 response into its status and decoded body
/// (`Content-Length`, `chunked`, or read until close).
fn parse_http(raw: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(raw) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Err("incomplete HTTP response".into()),
        Err(e) => return Err(format!("malformed HTTP response: {e}")),
    };
    let status = response.code.unwrap_or_default();
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
    };
    let rest = &raw[head_len..];
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        return dechunk(rest).map(|body| (status, body));
    }
    if let Some(len) = header("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| format!("bad Content-Length {len:?}"))?;
        if len > MAX_RESPONSE {
            return Err(format!("response body over {MAX_RESPONSE} bytes"));
        }
        let body = rest
            .get(..len)
            .ok_or("the response ended before its Content-Length")?;
        return Ok((status, body.to_vec()));
    }
    if rest.len() > MAX_RESPONSE {
        return Err(format!("response body over {MAX_RESPONSE} bytes"));
    }
    Ok((status, rest.to_vec()))
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        if body.len() + size > MAX_RESPONSE {
            return Err(format!("response body over {MAX_RESPONSE} bytes"));
        }
        let chunk = rest.get(..size).ok_or("truncated chunk")?;
        body.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("truncated chunk")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_as_infrakit_does() {
        assert_eq!(
            Endpoint::parse("/run/infrakit/file").unwrap(),
            Endpoint::Unix("/run/infrakit/file".into())
        );
        assert_eq!(
            Endpoint::parse("unix:///tmp/x").unwrap(),
            Endpoint::Unix("/tmp/x".into())
        );
        assert_eq!(
            Endpoint::parse("tcp://10.0.0.1:24864\n").unwrap(),
            Endpoint::Tcp("10.0.0.1:24864".into())
        );
        assert_eq!(
            Endpoint::parse("http://example.invalid/").unwrap(),
            Endpoint::Tcp("example.invalid:80".into())
        );
        assert!(
            Endpoint::parse("https://x:1")
                .unwrap_err()
                .contains("unsupported scheme")
        );
    }

    #[test]
    fn bodies_decode_by_length_chunks_or_close() {
        let (status, body) =
            parse_http(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef").unwrap();
        assert_eq!((status, body.as_slice()), (200, &b"abc"[..]));
        let (_, body) = parse_http(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(body, b"{\"a\":1}");
        let (status, body) = parse_http(b"HTTP/1.1 415 Unsupported\r\n\r\nno").unwrap();
        assert_eq!((status, body.as_slice()), (415, &b"no"[..]));
        assert!(
            parse_http(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
                .unwrap_err()
                .contains("Content-Length")
        );
        assert!(parse_http(b"garbage\r\n\r\n").is_err());
    }
}
