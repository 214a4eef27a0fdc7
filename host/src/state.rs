//! What one plugin instance's `Store` holds: its WASI context, limits, output capture and config.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capture::Capture;

/// The data of one instance's `Store`.
pub(crate) struct StoreData {
    /// The plugin's name, for logs.
    pub plugin: Arc<str>,
    /// The WASI context built from the plugin's grants only.
    pub wasi: WasiCtx,
    /// WASI's resource table.
    pub table: ResourceTable,
    /// Memory and table caps.
    pub limiter: Limiter,
    /// The manifest's config as JSON.
    pub config: Arc<str>,
    /// Captured stdout.
    pub stdout: Capture,
    /// Captured stderr.
    pub stderr: Capture,
    /// When the running call must end; host waits stop here.
    pub deadline: Option<Instant>,
    /// The host's key-value store for the `kv` import, if it has one.
    pub kv: Option<Arc<dyn crate::KvStore>>,
    /// The host's router, for the `plugins` import (weak: the host owns its plugins).
    pub router: crate::host::WeakHost,
    /// `wasi:http` state and the plugin's outbound HTTP grants.
    pub http: crate::outbound_http::OutboundHttp,
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Caps linear memory and tables, and remembers whether it refused a growth,
/// so that the abort a refused allocation causes is reported as a memory fault.
pub(crate) struct Limiter {
    pub memory: usize,
    pub table_elements: usize,
    pub refused: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = desired <= self.memory;
        self.refused |= !ok;
        Ok(ok)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let ok = desired <= self.table_elements;
        self.refused |= !ok;
        Ok(ok)
    }
}
