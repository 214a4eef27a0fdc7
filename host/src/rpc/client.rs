//! Calls a JSON-RPC method on a unix socket: one HTTP/1.1 request per connection, blocking.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use super::jsonrpc::{parse_response, request};

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Nothing answers on the socket.
    #[error("cannot connect to {path}: {source}")]
    Connect {
        /// The socket.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The exchange failed or timed out.
    #[error("call to {path} failed: {reason}")]
    Transport {
        /// The socket.
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
    let path = socket.display().to_string();
    let transport = |reason: String| CallError::Transport {
        path: path.clone(),
        reason,
    };
    let mut stream = UnixStream::connect(socket).map_err(|source| CallError::Connect {
        path: path.clone(),
        source,
    })?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| transport(e.to_string()))?;
    stream
        .set_write_timeout(Some(timeout))
        .map_err(|e| transport(e.to_string()))?;
    let body = request(method, params, 1);
    let head = format!(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body.as_bytes()))
        .map_err(|e| transport(e.to_string()))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| transport(e.to_string()))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| transport("no HTTP response".into()))?;
    let status = head.split_whitespace().nth(1).unwrap_or_default();
    if status != "200" {
        return Err(transport(format!("HTTP {status}: {}", body.trim())));
    }
    parse_response(body.trim()).map_err(|(code, message)| CallError::Remote { code, message })
}
