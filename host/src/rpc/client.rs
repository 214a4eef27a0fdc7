//! Calls a JSON-RPC method on a plugin server (unix socket or TCP): one HTTP/1.1 request per connection, blocking.

use std::fmt;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
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

    /// Whether an idle connection is still usable: the server has neither
    /// closed it nor sent anything unasked (a non-blocking one-byte read).
    fn is_open(&mut self) -> bool {
        let set = |s: &mut Stream, on: bool| match s {
            Stream::Unix(s) => s.set_nonblocking(on),
            Stream::Tcp(s) => s.set_nonblocking(on),
        };
        if set(self, true).is_err() {
            return false;
        }
        let mut byte = [0u8; 1];
        let open = matches!(
            self.io().read(&mut byte),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        );
        set(self, false).is_ok() && open
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Request ids: the Go client sends random u64s; a counter is as good and
/// exercises ids above 2^53 like it does.
static NEXT_ID: AtomicU64 = AtomicU64::new(8_013_013_879_344_048_126);

/// At most this many idle connections are kept per server.
const MAX_IDLE: usize = 4;

/// A client of one plugin server that keeps connections open between calls
/// (HTTP/1.1 keep-alive), as Go's HTTP client does for InfraKit. Safe to
/// share: concurrent calls use separate connections.
pub struct Client {
    endpoint: Endpoint,
    timeout: Duration,
    idle: Mutex<Vec<Stream>>,
}

impl Client {
    /// A client of the server at `endpoint`, giving each call `timeout`.
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Client {
        Client {
            endpoint,
            timeout,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Where the server listens.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Calls `method` with raw `params`; returns the raw result. A kept
    /// connection is reused only if the server has not closed it meanwhile,
    /// so a request is never sent twice.
    pub fn call(&self, method: &str, params: &str) -> Result<String, CallError> {
        let kept = loop {
            let Some(mut stream) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() else {
                break None;
            };
            if stream.is_open() {
                break Some(stream);
            }
        };
        let stream = match kept {
            Some(stream) => stream,
            None => connect(&self.endpoint, self.timeout)?,
        };
        let (result, reusable) = exchange(&self.endpoint, stream, method, params, true);
        if let Some(stream) = reusable {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE {
                idle.push(stream);
            }
        }
        result
    }
}

fn connect(endpoint: &Endpoint, timeout: Duration) -> Result<Stream, CallError> {
    Stream::connect(endpoint, timeout).map_err(|source| CallError::Connect {
        path: endpoint.to_string(),
        source,
    })
}

/// Calls `method` with raw `params` on the server at `endpoint` over a new
/// connection, closed afterwards; returns the raw result.
pub fn call_endpoint(
    endpoint: &Endpoint,
    method: &str,
    params: &str,
    timeout: Duration,
) -> Result<String, CallError> {
    let stream = connect(endpoint, timeout)?;
    exchange(endpoint, stream, method, params, false).0
}

/// Sends one request on `stream` and reads the answer. Returns the result,
/// and the stream when it may carry another request.
fn exchange(
    endpoint: &Endpoint,
    mut stream: Stream,
    method: &str,
    params: &str,
    keep_alive: bool,
) -> (Result<String, CallError>, Option<Stream>) {
    let transport = |reason: String| CallError::Transport {
        path: endpoint.to_string(),
        reason,
    };
    let body = request(method, params, NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let head = format!(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n",
        body.len(),
        if keep_alive {
            ""
        } else {
            "Connection: close\r\n"
        }
    );
    let io = stream.io();
    if let Err(e) = io
        .write_all(head.as_bytes())
        .and_then(|()| io.write_all(body.as_bytes()))
    {
        return (Err(transport(timed_out(e))), None);
    }
    let reply = match read_response(io) {
        Ok(reply) => reply,
        Err(reason) => return (Err(transport(reason)), None),
    };
    let stream = (keep_alive && reply.reusable).then_some(stream);
    let text = String::from_utf8_lossy(&reply.body);
    let result = if reply.status != 200 {
        Err(transport(format!("HTTP {}: {}", reply.status, text.trim())))
    } else if text.trim().is_empty() {
        Err(transport("empty response body".into()))
    } else {
        parse_response(text.trim()).map_err(|(code, message)| CallError::Remote { code, message })
    };
    (result, stream)
}

fn timed_out(e: std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            "timed out waiting for the server".into()
        }
        _ => e.to_string(),
    }
}

/// One HTTP response: status, decoded body, and whether the connection may be reused.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: Vec<u8>,
    reusable: bool,
}

/// How a response body ends.
enum Framing {
    Length(usize),
    Chunked,
    Close,
}

/// Reads one whole HTTP/1.1 response from `io`: the head, then a body framed
/// by `Content-Length`, `chunked`, or the end of the connection.
fn read_response(io: &mut dyn Read) -> Result<Reply, String> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 8192];
    let mut fill = |buf: &mut Vec<u8>| -> Result<usize, String> {
        let n = io.read(&mut chunk).map_err(timed_out)?;
        buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    };
    let (status, head_len, framing, close) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let header = |name: &str| {
                    response
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).trim().to_ascii_lowercase())
                };
                let close = header("connection").is_some_and(|v| v.contains("close"));
                let framing = if header("transfer-encoding").is_some_and(|v| v.contains("chunked"))
                {
                    Framing::Chunked
                } else if let Some(len) = header("content-length") {
                    let len: usize = len
                        .parse()
                        .map_err(|_| format!("bad Content-Length {len:?}"))?;
                    if len > MAX_RESPONSE {
                        return Err(format!("response body over {MAX_RESPONSE} bytes"));
                    }
                    Framing::Length(len)
                } else {
                    Framing::Close
                };
                break (response.code.unwrap_or_default(), len, framing, close);
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() > 64 * 1024 {
                    return Err("HTTP response head over 64 KiB".into());
                }
                if fill(&mut buf)? == 0 {
                    return Err(if buf.is_empty() {
                        "the server closed the connection without answering".into()
                    } else {
                        "incomplete HTTP response".into()
                    });
                }
            }
            Err(e) => return Err(format!("malformed HTTP response: {e}")),
        }
    };
    let mut rest = buf.split_off(head_len);
    let body = match framing {
        Framing::Length(len) => {
            while rest.len() < len {
                if fill(&mut rest)? == 0 {
                    return Err("the response ended before its Content-Length".into());
                }
            }
            rest.truncate(len);
            rest
        }
        Framing::Chunked => loop {
            if let Some(body) = dechunk(&rest)? {
                break body;
            }
            if rest.len() > MAX_RESPONSE + 64 * 1024 {
                return Err(format!("response body over {MAX_RESPONSE} bytes"));
            }
            if fill(&mut rest)? == 0 {
                return Err("truncated chunked body".into());
            }
        },
        Framing::Close => {
            while fill(&mut rest)? > 0 {
                if rest.len() > MAX_RESPONSE {
                    return Err(format!("response body over {MAX_RESPONSE} bytes"));
                }
            }
            rest
        }
    };
    Ok(Reply {
        status,
        body,
        reusable: !close && !matches!(framing, Framing::Close),
    })
}

/// Decodes a `Transfer-Encoding: chunked` body; `None` while it is incomplete.
fn dechunk(mut rest: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = String::from_utf8_lossy(&rest[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            // The last chunk; trailers (none expected) end with an empty line.
            return Ok(rest.windows(2).any(|w| w == b"\r\n").then_some(body));
        }
        if body.len() + size > MAX_RESPONSE {
            return Err(format!("response body over {MAX_RESPONSE} bytes"));
        }
        let Some(data) = rest.get(..size + 2) else {
            return Ok(None);
        };
        body.extend_from_slice(&data[..size]);
        rest = &rest[size + 2..];
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

    fn read(raw: &[u8]) -> Result<Reply, String> {
        read_response(&mut std::io::Cursor::new(raw.to_vec()))
    }

    #[test]
    fn bodies_decode_by_length_chunks_or_close() {
        let reply = read(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef").unwrap();
        assert_eq!((reply.status, reply.body.as_slice()), (200, &b"abc"[..]));
        assert!(reply.reusable);
        let reply = read(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=y\r\n:1}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(reply.body, b"{\"a\":1}");
        assert!(reply.reusable);
        let reply = read(b"HTTP/1.1 415 Unsupported\r\n\r\nno").unwrap();
        assert_eq!((reply.status, reply.body.as_slice()), (415, &b"no"[..]));
        assert!(
            !reply.reusable,
            "a body ended by closing ends the connection"
        );
        let reply =
            read(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert!(!reply.reusable);
        assert!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc")
                .unwrap_err()
                .contains("Content-Length")
        );
        assert!(read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nab").is_err());
        assert!(read(b"garbage\r\n\r\n").is_err());
        assert_eq!(
            read(b"").unwrap_err(),
            "the server closed the connection without answering"
        );
    }

    #[test]
    fn a_client_reuses_its_connection_and_notices_a_closed_one() {
        use std::os::unix::net::UnixListener;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server");
        let listener = UnixListener::bind(&path).unwrap();
        // A server that answers two requests on its first connection, then
        // closes it, then answers one request per connection.
        let server = std::thread::spawn(move || {
            let mut connections = 0;
            for stream in listener.incoming().take(2) {
                let mut stream = stream.unwrap();
                connections += 1;
                let answers = if connections == 1 { 2 } else { 1 };
                for _ in 0..answers {
                    let mut reader = std::io::BufReader::new(&mut stream);
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let answer = r#"{"jsonrpc":"2.0","result":{"n":1},"id":1}"#;
                    write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{answer}",
                        answer.len()
                    )
                    .unwrap();
                }
            }
            connections
        });
        let client = Client::new(Endpoint::Unix(path), Duration::from_secs(5));
        for _ in 0..2 {
            assert_eq!(client.call("M.N", "{}").unwrap(), r#"{"n":1}"#);
        }
        // The server closed the kept connection: the next call opens another.
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(client.call("M.N", "{}").unwrap(), r#"{"n":1}"#);
        assert_eq!(server.join().unwrap(), 2);
    }
}
