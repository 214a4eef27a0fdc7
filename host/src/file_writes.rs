//! `descriptor.write-via-stream` (and, on Linux, `append-via-stream`) that writes on the calling thread, so a plugin's file write is one `pwrite`, not a hand-off to another thread.
//!
//! wasmtime-wasi's file output stream sends every `write` to a tokio
//! blocking thread, even with `allow_blocking_current_thread`, and the guest
//! then waits for it in `blocking-flush`. A thread hand-off and its wake-up
//! cost tens of microseconds on a small machine: measured on this project's
//! 2-core VM, instance-file's `provision` (open, write, link, unlink) took
//! about 110 µs, most of it in that round trip. Calls already run
//! synchronously on the caller's thread, and every other filesystem
//! operation of a plugin (open, read, stat, readdir) already blocks it, so
//! writes do the same. Elsewhere than on Linux, appending streams keep
//! wasmtime-wasi's implementation (an atomic append there needs a reopened
//! handle on Windows, which wasmtime-wasi does).

use bytes::Bytes;
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::filesystem::Descriptor;
use wasmtime_wasi::p2::bindings::filesystem::types::ErrorCode;
use wasmtime_wasi::p2::{DynOutputStream, OutputStream, Pollable, StreamError};

use crate::state::StoreData;

/// The `wasi:filesystem/types` instance that wasmtime-wasi 48 defines.
const TYPES: &str = "wasi:filesystem/types@0.2.12";

/// How much one `write` may take (wasmtime-wasi's own file streams allow the same).
const WRITE_CAPACITY: usize = 64 * 1024;

/// Replaces `[method]descriptor.write-via-stream` (and on Linux
/// `append-via-stream`) in `linker`, after `add_to_linker_sync`, with
/// versions whose streams write synchronously.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let result = add_functions(linker);
    linker.allow_shadowing(false);
    result
}

fn add_functions(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    let mut types = linker.instance(TYPES)?;
    types.func_wrap(
        "[method]descriptor.write-via-stream",
        |mut store, (fd, offset): (Resource<Descriptor>, u64)| {
            Ok((open_stream(&mut store.data_mut().table, fd, Some(offset))?,))
        },
    )?;
    #[cfg(target_os = "linux")]
    types.func_wrap(
        "[method]descriptor.append-via-stream",
        |mut store, (fd,): (Resource<Descriptor>,)| {
            Ok((open_stream(&mut store.data_mut().table, fd, None)?,))
        },
    )?;
    Ok(())
}

/// A [`FileWriter`] on the file `fd`, at `position` or (`None`) at its end,
/// as wasmtime-wasi checks it: a directory or a read-only grant is refused.
fn open_stream(
    table: &mut ResourceTable,
    fd: Resource<Descriptor>,
    position: Option<u64>,
) -> wasmtime::Result<Result<Resource<DynOutputStream>, ErrorCode>> {
    let file = match table.get(&fd)? {
        Descriptor::File(f) if f.perms.write_not_permitted() => {
            return Ok(Err(ErrorCode::NotPermitted));
        }
        Descriptor::File(f) => f.file.clone(),
        Descriptor::Dir(_) => return Ok(Err(ErrorCode::BadDescriptor)),
    };
    let stream: DynOutputStream = Box::new(FileWriter {
        file,
        position,
        closed: false,
    });
    Ok(Ok(table.push(stream)?))
}

/// A file output stream, written on the calling thread: at a position
/// that each write advances, or at the end of the file.
struct FileWriter {
    file: std::sync::Arc<std::fs::File>,
    /// Where the next write goes; `None`: at the end (an appending stream).
    position: Option<u64>,
    /// Set by a failed write: the stream is then closed, as in wasmtime-wasi.
    closed: bool,
}

impl FileWriter {
    /// Writes all of `buf`, or fails.
    fn write_all(&mut self, mut buf: &[u8]) -> std::io::Result<()> {
        while !buf.is_empty() {
            let n = match self.position {
                Some(position) => write_at(&self.file, buf, position)?,
                None => append(&self.file, buf)?,
            };
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            buf = &buf[n..];
            if let Some(position) = &mut self.position {
                *position += n as u64;
            }
        }
        Ok(())
    }
}

#[cfg(unix)]
fn write_at(file: &std::fs::File, buf: &[u8], position: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::write_at(file, buf, position)
}

#[cfg(windows)]
fn write_at(file: &std::fs::File, buf: &[u8], position: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_write(file, buf, position)
}

/// Writes at the end of `file`, atomically with other appenders: `pwritev2`
/// with `RWF_APPEND` (Linux 4.16), else the file description is switched to
/// `O_APPEND` for the one write, as wasmtime-wasi does.
#[cfg(target_os = "linux")]
fn append(file: &std::fs::File, buf: &[u8]) -> std::io::Result<usize> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    use rustix::io::{Errno, ReadWriteFlags, pwritev2};

    match pwritev2(
        file,
        &[std::io::IoSlice::new(buf)],
        0,
        ReadWriteFlags::APPEND,
    ) {
        Err(Errno::NOSYS) | Err(Errno::NOTSUP) => {}
        written => return Ok(written?),
    }
    let flags = fcntl_getfl(file)?;
    fcntl_setfl(file, flags | OFlags::APPEND)?;
    let written = std::io::Write::write(&mut &*file, buf);
    fcntl_setfl(file, flags)?;
    written
}

/// Appending streams are only made on Linux (see the module docs).
#[cfg(not(target_os = "linux"))]
fn append(_: &std::fs::File, _: &[u8]) -> std::io::Result<usize> {
    Err(std::io::ErrorKind::Unsupported.into())
}

impl OutputStream for FileWriter {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        if self.closed {
            return Err(StreamError::Closed);
        }
        self.write_all(&bytes).map_err(|e| {
            self.closed = true;
            StreamError::LastOperationFailed(e.into())
        })
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        // Nothing is buffered: each write reached the file when it returned.
        if self.closed {
            return Err(StreamError::Closed);
        }
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        if self.closed {
            return Err(StreamError::Closed);
        }
        Ok(WRITE_CAPACITY)
    }
}

#[async_trait::async_trait]
impl Pollable for FileWriter {
    /// Always ready: no write is ever outstanding.
    async fn ready(&mut self) {}
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// A file holding `text`, in a folder that lives as long as the guard.
    fn file_holding(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn writer(file: std::fs::File, position: Option<u64>) -> FileWriter {
        FileWriter {
            file: Arc::new(file),
            position,
            closed: false,
        }
    }

    #[test]
    fn writes_land_at_the_stream_position_and_advance_it() {
        let (_dir, path) = file_holding("abcdef");
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let mut w = writer(file, Some(2));
        assert_eq!(w.check_write().unwrap(), WRITE_CAPACITY);
        w.write(Bytes::from_static(b"XY")).unwrap();
        w.write(Bytes::from_static(b"Z")).unwrap();
        w.flush().unwrap();
        // Each write reached the file before it returned.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "abXYZf");
        w.write(Bytes::from_static(b"1234")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "abXYZ1234");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_appending_stream_writes_at_the_end_even_after_another_writer() {
        let (_dir, path) = file_holding("one\n");
        let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        let mut w = writer(file, None);
        w.write(Bytes::from_static(b"two\n")).unwrap();
        // Someone else appends: the stream's next write still goes after it.
        let mut other = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut other, b"three\n").unwrap();
        w.write(Bytes::from_static(b"four\n")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "one\ntwo\nthree\nfour\n"
        );
    }

    /// The replacements land in the instance wasmtime-wasi defines: were
    /// its WASI version to move on, `TYPES` would name a new, empty
    /// instance and plugins would silently keep the thread hand-off.
    #[test]
    fn wasmtime_wasi_defines_the_functions_replaced_under_this_name() {
        let engine = wasmtime::Engine::default();
        let mut linker = Linker::<StoreData>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
        {
            let mut types = linker.instance(TYPES).unwrap();
            // Without shadowing, a second definition fails only if the first exists.
            for name in [
                "[method]descriptor.write-via-stream",
                "[method]descriptor.append-via-stream",
            ] {
                let again = types.func_wrap(name, |_, (): ()| Ok(()));
                let err = again.expect_err("wasmtime-wasi defines it");
                assert!(err.to_string().contains("defined twice"), "{name}: {err}");
            }
        }
        add_to_linker(&mut linker).unwrap();
    }

    #[test]
    fn a_failed_write_is_reported_and_closes_the_stream() {
        let (_dir, path) = file_holding("abc");
        // Opened for reading only: the OS refuses the write.
        let mut w = writer(std::fs::File::open(&path).unwrap(), Some(0));
        assert!(matches!(
            w.write(Bytes::from_static(b"x")),
            Err(StreamError::LastOperationFailed(_))
        ));
        assert!(matches!(w.check_write(), Err(StreamError::Closed)));
        assert!(matches!(w.flush(), Err(StreamError::Closed)));
        assert!(matches!(
            w.write(Bytes::from_static(b"x")),
            Err(StreamError::Closed)
        ));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "abc");
    }
}
