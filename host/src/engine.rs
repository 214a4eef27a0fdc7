//! The host's one wasmtime `Engine` and the epoch ticker that drives every call's deadline.

use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy};

use crate::instance_pool::{Allocation, InstancePool};
use crate::{Error, Result};

/// How often the epoch advances; deadlines are rounded up to whole ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Builds the engine for `allocation`, and says which pool it got: the
/// default pool falls back to on-demand instances (with a warning) when its
/// address space cannot be reserved; a pool asked for explicitly does not.
pub(crate) fn build_engine(
    allocation: Allocation,
    table_elements: usize,
) -> Result<(Engine, Option<InstancePool>)> {
    match allocation {
        Allocation::OnDemand => Ok((new_engine(None)?, None)),
        Allocation::Pool(pool) => {
            Ok((new_engine(Some(pool.strategy(table_elements)))?, Some(pool)))
        }
        Allocation::Default => {
            let pool = InstancePool::default();
            match new_engine(Some(pool.strategy(table_elements))) {
                Ok(engine) => Ok((engine, Some(pool))),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reserve the instance pool; plugin instances map their own memory instead");
                    Ok((new_engine(None)?, None))
                }
            }
        }
    }
}

/// Builds an engine: component model, fuel, epoch interruption, and the
/// given allocation strategy (wasmtime's on-demand allocator without one).
///
/// `concurrency_support(false)` drops the component-model-async bookkeeping
/// that costs about 250 ns on every call (measured: 349 ns against 103 ns for
/// a no-op call). Calls are synchronous and run on the caller's thread: a
/// call's overhead is then about 100 ns, where wasmtime's async support would
/// add a fiber switch to every call. Async callers (the group controller, the
/// JSON-RPC bridge) hand calls to blocking threads instead.
fn new_engine(strategy: Option<InstanceAllocationStrategy>) -> Result<Engine> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .concurrency_support(false)
        // No native-to-wasm address map in compiled plugins: with one, every
        // trap symbolised each backtrace frame by scanning the map
        // (`lookup_file_pos`), about 140k instructions for a guest panic's
        // 20 frames, a third of a trapping call. Backtraces keep their
        // function names and indices; only the wasm byte offsets go, and
        // release plugins are stripped of names anyway.
        .generate_address_map(false)
        .wasm_backtrace_max_frames(NonZeroUsize::new(20));
    if let Some(strategy) = strategy {
        config.allocation_strategy(strategy);
    }
    Engine::new(&config).map_err(|e| Error::Engine(e.to_string()))
}

/// One thread that advances the engine's epoch every [`EPOCH_TICK`], for
/// every plugin of the host; it stops when dropped.
pub(crate) struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    pub(crate) fn start(engine: &Engine) -> Result<EpochTicker> {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.clone();
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("deploykit-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| Error::Engine(format!("cannot start the epoch ticker: {e}")))?;
        Ok(EpochTicker {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The epoch deadline, in ticks, for a wall-clock `deadline`: rounded up,
/// plus one tick because the current tick may be about to end.
pub(crate) fn deadline_ticks(deadline: Duration) -> u64 {
    let tick = EPOCH_TICK.as_nanos();
    (deadline.as_nanos().div_ceil(tick) as u64).saturating_add(1)
}
