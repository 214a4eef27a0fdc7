//! Bounded capture of a plugin's stdout and stderr, routed line by line into the host's log.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// How many bytes of stderr are kept to read a panic message from.
const TAIL_BYTES: usize = 4096;
/// The longest line logged; longer lines are cut.
const MAX_LINE: usize = 4096;

/// One of a plugin instance's output streams. Writes never fail (a plugin
/// that prints too much is not punished with a broken pipe): each call logs
/// at most its `max_output` bytes, and the rest is counted and dropped.
///
/// Most calls print nothing: `begin_call` and `end_call` then only read a
/// flag, and the tail buffer is allocated on the first write (it would
/// otherwise cost every warm instance 4 KiB per stream).
#[derive(Clone)]
pub(crate) struct Capture {
    inner: Arc<Shared>,
}

struct Shared {
    /// Set by a write, cleared by `begin_call`: whether the state has anything to reset or flush.
    written: AtomicBool,
    state: Mutex<CaptureState>,
}

struct CaptureState {
    plugin: Arc<str>,
    stream: &'static str,
    max_output: usize,
    line: Vec<u8>,
    tail: VecDeque<u8>,
    logged: usize,
    dropped: usize,
}

impl Capture {
    /// A capture for `stream` (`stdout` or `stderr`) of `plugin`.
    pub(crate) fn new(plugin: Arc<str>, stream: &'static str, max_output: usize) -> Capture {
        Capture {
            inner: Arc::new(Shared {
                written: AtomicBool::new(false),
                state: Mutex::new(CaptureState {
                    plugin,
                    stream,
                    max_output,
                    line: Vec::new(),
                    tail: VecDeque::new(),
                    logged: 0,
                    dropped: 0,
                }),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, CaptureState> {
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a new call: clears the tail and the per-call budget.
    pub(crate) fn begin_call(&self) {
        // A plain load first: most calls write nothing, and a swap is a
        // locked instruction on every call.
        if !self.inner.written.load(Ordering::Relaxed)
            || !self.inner.written.swap(false, Ordering::Acquire)
        {
            return;
        }
        let mut s = self.lock();
        s.tail.clear();
        s.logged = 0;
        s.dropped = 0;
    }

    /// Ends a call: logs a partial last line and what was dropped.
    pub(crate) fn end_call(&self) {
        if !self.inner.written.load(Ordering::Acquire) {
            return;
        }
        let mut s = self.lock();
        s.flush_line();
        if s.dropped > 0 {
            tracing::warn!(plugin = %s.plugin, stream = s.stream, dropped = s.dropped, "plugin output over the per-call limit was dropped");
            s.dropped = 0;
        }
    }

    /// The last bytes written during this call, as text.
    pub(crate) fn tail(&self) -> String {
        let s = self.lock();
        let bytes: Vec<u8> = s.tail.iter().copied().collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn write_bytes(&self, bytes: &[u8]) {
        let mut s = self.lock();
        self.inner.written.store(true, Ordering::Release);
        // Keep the last TAIL_BYTES bytes: drop what the new bytes push out,
        // then append the part of them that fits.
        let keep = &bytes[bytes.len().saturating_sub(TAIL_BYTES)..];
        let overflow = (s.tail.len() + keep.len()).saturating_sub(TAIL_BYTES);
        s.tail.drain(..overflow);
        s.tail.extend(keep);
        let room = s.max_output.saturating_sub(s.logged);
        let (kept, dropped) = bytes.split_at(bytes.len().min(room));
        s.logged += kept.len();
        s.dropped += dropped.len();
        for &b in kept {
            if b == b'\n' {
                s.flush_line();
            } else if s.line.len() < MAX_LINE {
                s.line.push(b);
            }
        }
    }
}

impl CaptureState {
    fn flush_line(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&self.line);
        tracing::info!(plugin = %self.plugin, stream = self.stream, "{text}");
        self.line.clear();
    }
}

impl IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Capture {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl OutputStream for Capture {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.write_bytes(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 << 10)
    }
}

#[async_trait::async_trait]
impl Pollable for Capture {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for Capture {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_bytes_and_budget_bounds_logging() {
        let c = Capture::new("p".into(), "stderr", 10);
        c.begin_call();
        c.write_bytes(b"0123456789abcdef\n");
        {
            let s = c.lock();
            assert_eq!(s.logged, 10);
            assert_eq!(s.dropped, 7);
        }
        let big = vec![b'x'; TAIL_BYTES + 100];
        c.write_bytes(&big);
        assert_eq!(c.tail().len(), TAIL_BYTES);
        c.end_call();
        c.begin_call();
        assert_eq!(c.tail(), "");
    }
}
