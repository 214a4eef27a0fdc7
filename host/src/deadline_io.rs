//! `wasi:io/poll` with the call's deadline: a plugin blocked in a host wait is cut off on time.
//!
//! Epoch interruption only stops code running in wasm. A plugin that sleeps,
//! or waits on a stream or (later) an HTTP response, waits inside the host's
//! `poll`/`pollable.block`, where no epoch check happens. These replacements
//! of WASI's synchronous poll functions wait at most until the running call's
//! deadline, then trap with [`HostDeadline`].

use std::future::Future;
use std::time::Instant;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::p2::bindings::sync::io::poll;
use wasmtime_wasi::runtime::in_tokio;
use wasmtime_wasi_io::bindings::wasi::io::poll as async_poll;

use crate::state::StoreData;

/// The trap raised when a call's deadline passes while the plugin waits in the host.
#[derive(Debug, thiserror::Error)]
#[error("deadline reached while waiting in a host call")]
pub(crate) struct HostDeadline;

/// The resource table plus the running call's deadline.
pub(crate) struct DeadlineIo<'a> {
    table: &'a mut ResourceTable,
    deadline: Option<Instant>,
}

struct DeadlineIoData;

impl HasData for DeadlineIoData {
    type Data<'a> = DeadlineIo<'a>;
}

/// Replaces WASI's `wasi:io/poll` in `linker` (added by `add_to_linker_sync`) with the deadline-aware version.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let result = poll::add_to_linker::<StoreData, DeadlineIoData>(linker, |s| DeadlineIo {
        table: &mut s.table,
        deadline: s.deadline,
    });
    linker.allow_shadowing(false);
    result
}

/// Runs a host wait to completion or until `deadline`, whichever is first.
fn wait<T>(
    deadline: Option<Instant>,
    f: impl Future<Output = wasmtime::Result<T>>,
) -> wasmtime::Result<T> {
    in_tokio(async move {
        match deadline {
            Some(d) => tokio::time::timeout_at(d.into(), f)
                .await
                .unwrap_or_else(|_| Err(HostDeadline.into())),
            None => f.await,
        }
    })
}

impl poll::Host for DeadlineIo<'_> {
    fn poll(&mut self, pollables: Vec<Resource<DynPollable>>) -> wasmtime::Result<Vec<u32>> {
        let deadline = self.deadline;
        wait(deadline, async_poll::Host::poll(self.table, pollables))
    }
}

impl poll::HostPollable for DeadlineIo<'_> {
    fn ready(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<bool> {
        let deadline = self.deadline;
        wait(
            deadline,
            async_poll::HostPollable::ready(self.table, pollable),
        )
    }

    fn block(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        let deadline = self.deadline;
        wait(
            deadline,
            async_poll::HostPollable::block(self.table, pollable),
        )
    }

    fn drop(&mut self, pollable: Resource<DynPollable>) -> wasmtime::Result<()> {
        async_poll::HostPollable::drop(self.table, pollable)
    }
}
