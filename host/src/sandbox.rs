//! Runs one plugin's calls: a pool of warm instances, each call under fuel, deadline and memory caps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use smallvec::SmallVec;
use wasmtime::component::InstancePre;
use wasmtime::{PoolConcurrencyLimitError, Store};
use wasmtime_wasi::{FsPerms, WasiCtx};

use crate::bindings::{
    FlavorExport, FlavorIndices, GroupExport, GroupIndices, InstanceExport, InstanceIndices,
    MetadataExport, MetadataIndices, wit,
};
use crate::call_chain::Entered;
use crate::capture::Capture;
use crate::engine::deadline_ticks;
use crate::fault::{Fault, FaultEvidence, classify};
use crate::limits::Limits;
use crate::manifest::{DirGrant, DirMode};
use crate::quarantine::{Quarantine, QuarantinePolicy};
use crate::slot_waiters::SlotWaiters;
use crate::spi::{Spi, SpiSet};
use crate::state::{Limiter, StoreData};
use crate::{Error, Result};

/// The export lookups of each SPI a component implements, resolved once at load.
pub(crate) struct SpiIndices {
    pub instance: Option<InstanceIndices>,
    pub flavor: Option<FlavorIndices>,
    pub group: Option<GroupIndices>,
    pub metadata: MetadataIndices,
}

/// A live instance's typed exports.
pub(crate) struct Exports {
    pub instance: Option<InstanceExport>,
    pub flavor: Option<FlavorExport>,
    pub group: Option<GroupExport>,
    pub metadata: MetadataExport,
}

/// A warm instance: its store and exports.
struct Warm {
    store: Store<StoreData>,
    exports: Exports,
}

/// An idle warm instance and the [`thread_token`] of the thread that last
/// called it (kept here, so finding a thread's own instance reads only the
/// pool's memory).
struct Idle {
    thread: u64,
    warm: Box<Warm>,
}

/// A number for the calling thread, unique in the process.
fn thread_token() -> u64 {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(1);
    thread_local! {
        static TOKEN: u64 = NEXT.fetch_add(1, Ordering::Relaxed);
    }
    TOKEN.with(|t| *t)
}

/// What the manifest grants the plugin.
#[derive(Debug, Clone, Default)]
pub(crate) struct Grants {
    pub dirs: Vec<DirGrant>,
    pub env: Vec<(String, String)>,
    pub http: Arc<crate::HttpGrants>,
}

/// Counters shown by `plugins ls`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CallStats {
    pub calls: u64,
    pub errors: u64,
    pub faults: u64,
}

/// A loaded plugin, ready to be called from any thread.
pub(crate) struct WasmPlugin {
    pub name: Arc<str>,
    pub spis: SpiSet,
    pub limits: Limits,
    pre: InstancePre<StoreData>,
    indices: SpiIndices,
    grants: Grants,
    config: Arc<str>,
    kv: Option<Arc<dyn crate::KvStore>>,
    router: crate::host::WeakHost,
    slot_waiters: Arc<SlotWaiters>,
    /// On a cache line of its own: every call writes it, from any thread,
    /// and the fields beside it are read by every call.
    pool: CacheLine<Mutex<Pool>>,
    slot_free: Condvar,
    quarantine: Mutex<Quarantine>,
    /// True while the quarantine has anything to look at (a fault was
    /// recorded and its effects have not worn off): a clean plugin's calls
    /// then skip the quarantine's lock and clock reads.
    troubled: AtomicBool,
}

/// How a call that reached an instance ended, counted in [`CallStats`].
#[derive(Clone, Copy)]
enum Ended {
    Ok,
    PluginError,
    Fault,
}

/// What a [`WasmPlugin`] is made of, gathered by the loader.
pub(crate) struct PluginParts {
    pub name: Arc<str>,
    pub spis: SpiSet,
    pub limits: Limits,
    pub pre: InstancePre<StoreData>,
    pub indices: SpiIndices,
    pub grants: Grants,
    pub config: Arc<str>,
    pub kv: Option<Arc<dyn crate::KvStore>>,
    pub router: crate::host::WeakHost,
    pub slot_waiters: Arc<SlotWaiters>,
    pub policy: QuarantinePolicy,
}

/// Warm instances and the number of calls running.
///
/// Instances are boxed: a `Warm` is large (a store and every typed export),
/// and moving it in and out of the pool by value cost a memcpy on each
/// call's take and give-back.
struct Pool {
    /// Least recently used first. Inline for up to the default pool size,
    /// so taking and giving back an instance touches only the lock's cache
    /// lines; instances are boxed (see above), so an entry is 16 bytes.
    idle: SmallVec<[Idle; crate::limits::DEFAULT_POOL_SIZE]>,
    busy: usize,
    /// Callers blocked in `acquire`, so `release` wakes someone only when
    /// someone waits (a condvar notify is a futex syscall even with no waiter).
    waiting: usize,
    /// Counted under this lock, which each call takes anyway: separate
    /// atomics would be one more cache line bouncing between cores.
    stats: CallStats,
}

/// `T` alone on a 128-byte line (two 64-byte lines, as adjacent-line
/// prefetchers pair them), so writes to it do not slow readers of its
/// neighbours on other cores.
#[repr(align(128))]
struct CacheLine<T>(T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl WasmPlugin {
    pub(crate) fn new(parts: PluginParts) -> WasmPlugin {
        WasmPlugin {
            name: parts.name,
            spis: parts.spis,
            limits: parts.limits,
            pre: parts.pre,
            indices: parts.indices,
            grants: parts.grants,
            config: parts.config,
            kv: parts.kv,
            router: parts.router,
            slot_waiters: parts.slot_waiters,
            pool: CacheLine(Mutex::new(Pool {
                idle: SmallVec::new(),
                busy: 0,
                waiting: 0,
                stats: CallStats::default(),
            })),
            slot_free: Condvar::new(),
            quarantine: Mutex::new(Quarantine::new(parts.policy)),
            troubled: AtomicBool::new(false),
        }
    }

    /// Who made the plugin (0.2.0 plugins may say); asked through the sandbox.
    pub(crate) fn vendor_info(&self) -> Result<Option<deploykit_sdk::VendorInfo>> {
        if !self.indices.metadata.exists() {
            return Ok(None);
        }
        let spi = self.spis.to_vec()[0];
        let vendor = self.call(spi, "vendor-info", |e, s| {
            e.metadata.call_vendor_info(s).map(Ok)
        })?;
        Ok(vendor.map(|v| deploykit_sdk::VendorInfo {
            name: v.name,
            version: v.version,
            url: v.url,
        }))
    }

    pub(crate) fn stats(&self) -> CallStats {
        lock(&self.pool).stats
    }

    /// Creates a fresh instance with the plugin's grants, fuel and deadline armed
    /// (instantiation runs guest code too), for a call that started at `now`.
    fn instantiate(&self, now: Instant, deadline: Instant) -> Result<Box<Warm>> {
        let stdout = Capture::new(self.name.clone(), "stdout", self.limits.max_output);
        let stderr = Capture::new(self.name.clone(), "stderr", self.limits.max_output);
        let mut wasi = WasiCtx::builder();
        wasi.stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_blocking_current_thread(true)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        for (k, v) in &self.grants.env {
            wasi.env(k, v);
        }
        for grant in &self.grants.dirs {
            let perms = match grant.mode {
                DirMode::ReadOnly => FsPerms::ReadOnly,
                DirMode::ReadWrite => FsPerms::ReadWrite,
            };
            wasi.preopened_dir(&grant.host, &grant.guest, perms)
                .map_err(|e| Error::Instantiate {
                    plugin: self.name.to_string(),
                    fault: Fault::Trap {
                        message: format!(
                            "cannot open granted directory {}: {e}",
                            grant.host.display()
                        ),
                    },
                })?;
        }
        let state = StoreData {
            plugin: self.name.clone(),
            wasi: wasi.build(),
            table: Default::default(),
            limiter: Limiter {
                memory: self.limits.memory,
                table_elements: self.limits.table_elements,
                refused: false,
            },
            config: self.config.clone(),
            stdout,
            stderr,
            deadline: None,
            kv: self.kv.clone(),
            router: self.router.clone(),
            http: crate::outbound_http::OutboundHttp::new(
                self.name.clone(),
                self.grants.http.clone(),
            ),
        };
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|s| &mut s.limiter);
        // Caps what wasmtime copies out of the guest in one transfer (a
        // result, or an import's arguments), counted as it lifts: a hostile
        // list of strings that all point at one large buffer is refused
        // before the host allocates it, not after.
        store.set_hostcall_fuel(self.limits.max_result);
        self.arm(&mut store, deadline, now);
        let fail = |store: &Store<StoreData>, e: wasmtime::Error| Error::Instantiate {
            plugin: self.name.to_string(),
            fault: self.classify(store, &e),
        };
        let instance = match self.pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(e) if e.downcast_ref::<PoolConcurrencyLimitError>().is_some() => {
                self.end_output(&store);
                return Err(Error::PoolFull {
                    plugin: self.name.to_string(),
                    reason: e.to_string(),
                });
            }
            Err(e) => {
                let err = fail(&store, e);
                self.end_output(&store);
                return Err(err);
            }
        };
        let loaded = (|| -> wasmtime::Result<Exports> {
            Ok(Exports {
                instance: self
                    .indices
                    .instance
                    .as_ref()
                    .map(|i| i.load(&mut store, &instance))
                    .transpose()?,
                flavor: self
                    .indices
                    .flavor
                    .as_ref()
                    .map(|i| i.load(&mut store, &instance))
                    .transpose()?,
                group: self
                    .indices
                    .group
                    .as_ref()
                    .map(|i| i.load(&mut store, &instance))
                    .transpose()?,
                metadata: self.indices.metadata.load(&mut store, &instance)?,
            })
        })();
        let exports = loaded.map_err(|e| fail(&store, e))?;
        self.end_output(&store);
        Ok(Box::new(Warm { store, exports }))
    }

    /// [`WasmPlugin::instantiate`], making room when the host's instance pool
    /// is full: idle warm instances (of any plugin) are dropped one at a time
    /// until this one fits; when every slot holds a running call, it waits
    /// for one to end until the call's `deadline`.
    fn instantiate_making_room(&self, now: Instant, deadline: Instant) -> Result<Box<Warm>> {
        let first = self.instantiate(now, deadline);
        if !matches!(first, Err(Error::PoolFull { .. })) {
            return first;
        }
        let registered = self.slot_waiters.register();
        loop {
            let seen = self.slot_waiters.releases();
            match self.instantiate(now, deadline) {
                Err(full @ Error::PoolFull { .. }) => {
                    let evicted = self
                        .router
                        .upgrade()
                        .is_some_and(|host| host.evict_idle_instance());
                    if !evicted && !self.slot_waiters.wait(&registered, seen, deadline) {
                        return Err(full);
                    }
                }
                done => return done,
            }
        }
    }

    /// How many warm instances wait idle in this plugin's pool.
    pub(crate) fn idle_instances(&self) -> usize {
        lock(&self.pool).idle.len()
    }

    /// Drops this plugin's least recently used idle instance, freeing its
    /// slot of the host's instance pool; false when none is idle.
    pub(crate) fn evict_idle_instance(&self) -> bool {
        let evicted = {
            let mut pool = lock(&self.pool);
            (!pool.idle.is_empty()).then(|| pool.idle.remove(0).warm)
        };
        // Dropped outside the lock: freeing a slot resets its memory.
        let dropped = evicted.is_some();
        drop(evicted);
        if dropped {
            tracing::debug!(plugin = %self.name, "idle instance dropped to make room in the instance pool");
        }
        dropped
    }

    /// Refuels the store and sets its deadline for one call (`now` is the call's start).
    fn arm(&self, store: &mut Store<StoreData>, deadline: Instant, now: Instant) {
        // Both only fail on an engine without fuel or epochs, which ours has.
        let _ = store.set_fuel(self.limits.fuel);
        store.set_epoch_deadline(deadline_ticks(deadline.saturating_duration_since(now)));
        let data = store.data_mut();
        data.deadline = Some(deadline);
        data.limiter.refused = false;
        data.stdout.begin_call();
        data.stderr.begin_call();
    }

    fn end_output(&self, store: &Store<StoreData>) {
        store.data().stdout.end_call();
        store.data().stderr.end_call();
    }

    fn classify(&self, store: &Store<StoreData>, error: &wasmtime::Error) -> Fault {
        let tail = store.data().stderr.tail();
        classify(
            error,
            &FaultEvidence {
                fuel_budget: self.limits.fuel,
                deadline: self.limits.deadline,
                memory_limit: self.limits.memory,
                memory_refused: store.data().limiter.refused,
                max_result: self.limits.max_result,
                stderr_tail: &tail,
            },
        )
    }

    /// Waits for a call slot (at most `pool_size` calls run at once) and takes
    /// a warm instance if one is idle: the one this thread used last if it is
    /// idle (its memory is likely still in this core's cache; handing each
    /// thread the other's instance cost two threads about 10% of their
    /// throughput), else the most recently used.
    ///
    /// A nested call (a plugin calling a plugin) waits only until its
    /// deadline: its caller may hold the slot it waits for.
    ///
    /// A plugin reached again through its own call chain takes a slot
    /// without waiting: the chain runs on this one thread, so it adds no
    /// parallelism, and waiting would deadlock on the slot its caller holds.
    fn acquire(&self, call: &Entered) -> std::result::Result<Option<Box<Warm>>, ()> {
        let Entered {
            deadline,
            nested,
            reentrant,
        } = *call;
        let mut pool = lock(&self.pool);
        while pool.busy >= self.limits.pool_size && !reentrant {
            if nested {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(());
                }
                pool.waiting += 1;
                pool = self
                    .slot_free
                    .wait_timeout(pool, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
                pool.waiting -= 1;
            } else {
                pool.waiting += 1;
                pool = self.slot_free.wait(pool).unwrap_or_else(|p| p.into_inner());
                pool.waiting -= 1;
            }
        }
        pool.busy += 1;
        // Idle instances are in the order they went idle, least recent first
        // (eviction takes the front), so take this thread's without reordering.
        let me = thread_token();
        let idle = match pool.idle.iter().rposition(|i| i.thread == me) {
            Some(i) => Some(pool.idle.remove(i)),
            None => pool.idle.pop(),
        };
        Ok(idle.map(|i| i.warm))
    }

    /// Frees the call slot, keeping `warm` for reuse when given, and counts
    /// the call when it reached an instance (`ended`).
    fn release(&self, warm: Option<Box<Warm>>, ended: Option<Ended>) {
        let mut pool = lock(&self.pool);
        pool.busy -= 1;
        if let Some(ended) = ended {
            pool.stats.calls += 1;
            match ended {
                Ended::Ok => {}
                Ended::PluginError => pool.stats.errors += 1,
                Ended::Fault => pool.stats.faults += 1,
            }
        }
        if let Some(w) = warm {
            pool.idle.push(Idle {
                thread: thread_token(),
                warm: w,
            });
        }
        let waiting = pool.waiting > 0;
        drop(pool);
        if waiting {
            self.slot_free.notify_one();
        }
        // The instance is idle (others may drop it for its pool slot) or gone.
        self.slot_waiters.released();
    }

    /// Runs one operation. `f` gets the instance's exports and store; the
    /// plugin's own error comes back as [`Error::Plugin`], a trap or a limit
    /// as [`Error::Fault`] (the instance is then dropped and the next call
    /// gets a fresh one).
    pub(crate) fn call<R>(
        &self,
        spi: Spi,
        op: &'static str,
        f: impl FnOnce(
            &Exports,
            &mut Store<StoreData>,
        ) -> wasmtime::Result<std::result::Result<R, wit::Error>>,
    ) -> Result<R> {
        if !self.spis.contains(spi) {
            return Err(Error::MissingSpi {
                name: self.name.to_string(),
                spi,
            });
        }
        let started = Instant::now();
        let troubled = self.troubled.load(Ordering::Relaxed);
        if troubled && let Err((until, last_fault)) = lock(&self.quarantine).check(started) {
            return Err(Error::Quarantined {
                plugin: self.name.to_string(),
                until,
                last_fault,
            });
        }
        let _span =
            tracing::debug_span!("plugin_call", plugin = %self.name, spi = %spi, op).entered();
        // Joins the thread's chain until the call returns: the deadline is
        // this call's own, or its caller's if sooner.
        crate::call_chain::within(&self.name, started + self.limits.deadline, |entered| {
            self.call_entered(spi, op, started, troubled, entered, f)
        })
        .unwrap_or_else(|chain| {
            Err(Error::CallDepth {
                plugin: self.name.to_string(),
                chain,
                limit: crate::call_chain::MAX_DEPTH,
            })
        })
    }

    /// The rest of [`WasmPlugin::call`], once the call is on its thread's chain.
    fn call_entered<R>(
        &self,
        spi: Spi,
        op: &'static str,
        started: Instant,
        troubled: bool,
        entered: &Entered,
        f: impl FnOnce(
            &Exports,
            &mut Store<StoreData>,
        ) -> wasmtime::Result<std::result::Result<R, wit::Error>>,
    ) -> Result<R> {
        let deadline = entered.deadline;
        let acquired = self.acquire(entered).map_err(|()| Error::Busy {
            plugin: self.name.to_string(),
        })?;
        let mut warm = match acquired {
            Some(w) => w,
            None => match self.instantiate_making_room(started, deadline) {
                Ok(w) => w,
                Err(e) => {
                    self.release(None, None);
                    if let Some(fault) = e.fault() {
                        self.record_fault(fault);
                    }
                    return Err(e);
                }
            },
        };
        self.arm(&mut warm.store, deadline, started);
        let outcome = f(&warm.exports, &mut warm.store);
        self.end_output(&warm.store);
        let result = outcome.map_err(|e| self.classify(&warm.store, &e));
        if tracing::enabled!(tracing::Level::DEBUG) {
            let fuel_used = self
                .limits
                .fuel
                .saturating_sub(warm.store.get_fuel().unwrap_or(0));
            tracing::debug!(
                fuel_used,
                elapsed_us = started.elapsed().as_micros() as u64,
                "call finished"
            );
        }
        match result {
            Ok(Ok(value)) => {
                self.release(Some(warm), Some(Ended::Ok));
                if troubled {
                    self.record_success();
                }
                Ok(value)
            }
            Ok(Err(e)) => {
                self.release(Some(warm), Some(Ended::PluginError));
                Err(Error::Plugin {
                    plugin: self.name.to_string(),
                    spi,
                    op,
                    source: crate::bindings::error_from_wit(e),
                })
            }
            Err(fault) => {
                drop(warm);
                self.release(None, Some(Ended::Fault));
                tracing::warn!(plugin = %self.name, spi = %spi, op, fault = %fault, "plugin call faulted; its instance was discarded");
                self.record_fault(&fault);
                Err(Error::Fault {
                    plugin: self.name.to_string(),
                    spi,
                    op,
                    fault,
                })
            }
        }
    }

    fn record_success(&self) {
        let mut q = lock(&self.quarantine);
        q.record_success(Instant::now());
        if q.is_clear() {
            self.troubled.store(false, Ordering::Relaxed);
        }
    }

    fn record_fault(&self, fault: &Fault) {
        let mut q = lock(&self.quarantine);
        self.troubled.store(true, Ordering::Relaxed);
        if let Some(backoff) = q.record_fault(fault, Instant::now()) {
            tracing::error!(plugin = %self.name, backoff = %humantime::format_duration(backoff), last_fault = %fault, "plugin quarantined after repeated faults");
        }
    }
}
