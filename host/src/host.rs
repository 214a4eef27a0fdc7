//! The embedding API: a `Host` loads a plugin folder and routes calls to plugins by name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use serde::Serialize;
use wasmtime::Engine;
use wasmtime::component::Linker;

use crate::cache::{CacheOutcome, ComponentCache};
use crate::engine::{EpochTicker, build_engine};
use crate::instance_pool::{Allocation, InstancePool};
use crate::limits::Limits;
use crate::loader::{self, LoadContext, Loaded};
use crate::quarantine::QuarantinePolicy;
#[cfg(unix)]
use crate::rpc::remote::RemotePlugin;
use crate::spi::{Flavor, Group, Instance, NativePlugin, Spi};
use crate::state::StoreData;
use crate::{Error, Result};

/// Hosts plugins: one wasmtime engine, a registry of plugins by name, and
/// the sandbox every call runs in. Cheap to clone and safe to share.
///
/// ```no_run
/// use deploykit_host::{Host, Spec};
///
/// let host = Host::builder().plugin_dir("plugins").build()?;
/// for plugin in host.plugins() {
///     println!("{} {:?} {}", plugin.name, plugin.spis, plugin.state);
/// }
/// let id = host.instance("instance-file")?.provision(&Spec::default())?;
/// println!("provisioned {id}");
/// # Ok::<(), deploykit_host::Error>(())
/// ```
#[derive(Clone)]
pub struct Host {
    inner: Arc<HostInner>,
}

/// A reference to a [`Host`] that does not keep it alive, for the built-in
/// controllers the host's own registry holds (a strong one would be a cycle).
#[derive(Clone)]
pub(crate) struct WeakHost(Weak<HostInner>);

impl WeakHost {
    /// The host, unless every [`Host`] handle has been dropped.
    pub(crate) fn upgrade(&self) -> Option<Host> {
        self.0.upgrade().map(|inner| Host { inner })
    }
}

struct HostInner {
    engine: Engine,
    /// The pool instances come from, if any (`None`: on-demand).
    instance_pool: Option<InstancePool>,
    /// Calls waiting for a slot of a full pool.
    slot_waiters: Arc<crate::slot_waiters::SlotWaiters>,
    linker: Linker<StoreData>,
    defaults: Limits,
    quarantine: QuarantinePolicy,
    cache: Option<ComponentCache>,
    kv: Option<Arc<dyn crate::KvStore>>,
    progress: Option<Progress>,
    plugins: RwLock<BTreeMap<String, Entry>>,
    /// Counts registry changes, so watchers (the socket bridge) notice cheaply.
    generation: std::sync::atomic::AtomicU64,
    /// Where plugins served by other processes are found, if anywhere.
    #[cfg(unix)]
    remote: Option<RemoteDir>,
    _ticker: EpochTicker,
}

/// How long `plugins ls` waits for a remote plugin's handshake at most.
#[cfg(unix)]
const LIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The InfraKit plugin directory the router falls back to for names it does
/// not host, with the clients made so far (each keeps its handshake).
#[cfg(unix)]
struct RemoteDir {
    dir: PathBuf,
    timeout: std::time::Duration,
    clients: std::sync::Mutex<
        std::collections::HashMap<(String, crate::rpc::client::Endpoint), Arc<RemotePlugin>>,
    >,
}

/// A registry entry.
#[derive(Clone)]
enum Entry {
    Wasm { loaded: Loaded, path: PathBuf },
    Native(NativePlugin),
    Failed { path: PathBuf, reason: String },
}

impl Entry {
    /// The file a wasm (or failed) entry came from.
    fn path(&self) -> Option<&Path> {
        match self {
            Entry::Wasm { path, .. } | Entry::Failed { path, .. } => Some(path),
            Entry::Native(_) => None,
        }
    }
}

/// Configures and builds a [`Host`].
#[derive(Clone, Default)]
pub struct HostBuilder {
    plugin_dir: Option<PathBuf>,
    limits: Limits,
    quarantine: QuarantinePolicy,
    cache_dir: Option<PathBuf>,
    kv: Option<Arc<dyn crate::KvStore>>,
    progress: Option<Progress>,
    remote_dir: Option<PathBuf>,
    client_timeout: Option<std::time::Duration>,
    allocation: Allocation,
}

/// Called as each file of a folder finishes loading: `(done, total, file)`.
pub type Progress = Arc<dyn Fn(usize, usize, &Path) + Send + Sync>;

impl std::fmt::Debug for HostBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostBuilder")
            .field("plugin_dir", &self.plugin_dir)
            .field("limits", &self.limits)
            .field("cache_dir", &self.cache_dir)
            .field("kv", &self.kv.is_some())
            .finish_non_exhaustive()
    }
}

impl HostBuilder {
    /// Reports folder loading as each file finishes (compiling many new
    /// plugins takes seconds: a front end can show progress).
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Where the `kv` import keeps plugins' keys (one namespace per plugin).
    /// Without one, `kv` calls fail with `unavailable`.
    pub fn kv_store(mut self, kv: Arc<dyn crate::KvStore>) -> Self {
        self.kv = Some(kv);
        self
    }

    /// Caches compiled plugins in `dir` (created owner-only), so later loads
    /// of an unchanged `.wasm` skip compilation.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Loads every `*.wasm` in `dir` (with its `<name>.toml` manifest) at build time.
    pub fn plugin_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.plugin_dir = Some(dir.into());
        self
    }

    /// Routes names this host does not hold to plugin servers of other
    /// processes in `dir` (an InfraKit plugin directory: unix sockets and
    /// `<name>.listen` files). The name `file` reaches the socket `dir/file`;
    /// `simulator/compute` reaches object `compute` of the socket `dir/simulator`.
    pub fn remote_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.remote_dir = Some(dir.into());
        self
    }

    /// How long a call to a remote plugin may take (default 15 s, InfraKit's
    /// `INFRAKIT_CLIENT_TIMEOUT`).
    pub fn client_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.client_timeout = Some(timeout);
        self
    }

    /// Allocates plugin instances from this pool of pre-reserved slots (see
    /// [`InstancePool`] for the gain and the price). Without this call the
    /// host uses [`InstancePool::default`], falling back to on-demand
    /// instances if it cannot reserve it; with it, a pool that cannot be
    /// reserved fails [`HostBuilder::build`].
    pub fn instance_pool(mut self, pool: InstancePool) -> Self {
        self.allocation = Allocation::Pool(pool);
        self
    }

    /// Maps each plugin instance's memory when it is created, instead of
    /// taking a slot of an [`InstancePool`]: no cap on live instances and no
    /// address space reserved up front, but a fresh instance costs about
    /// three times as much.
    pub fn on_demand_instances(mut self) -> Self {
        self.allocation = Allocation::OnDemand;
        self
    }

    /// The limits of plugins whose manifest does not override them.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// When repeatedly faulting plugins are quarantined.
    pub fn quarantine(mut self, policy: QuarantinePolicy) -> Self {
        self.quarantine = policy;
        self
    }

    /// Creates the engine and loads the plugin folder. A plugin that fails to
    /// load is recorded with its reason (see [`Host::plugins`]); only an
    /// unreadable folder or an engine failure is an error.
    pub fn build(self) -> Result<Host> {
        let (engine, instance_pool) = build_engine(self.allocation, self.limits.table_elements)?;
        match &instance_pool {
            Some(pool) => tracing::debug!(
                instances = pool.instances,
                "plugin instances come from a pool of pre-reserved slots"
            ),
            None => tracing::debug!("plugin instances map their own memory"),
        }
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| Error::Engine(e.to_string()))?;
        crate::bindings::add_to_linker(&mut linker).map_err(|e| Error::Engine(e.to_string()))?;
        crate::deadline_io::add_to_linker(&mut linker).map_err(|e| Error::Engine(e.to_string()))?;
        crate::file_writes::add_to_linker(&mut linker).map_err(|e| Error::Engine(e.to_string()))?;
        crate::outbound_http::add_to_linker(&mut linker)
            .map_err(|e| Error::Engine(e.to_string()))?;
        let cache = self
            .cache_dir
            .as_deref()
            .map(|dir| ComponentCache::open(dir, &engine))
            .transpose()
            .map_err(Error::Engine)?;
        let ticker = EpochTicker::start(&engine)?;
        // Remote plugins speak over unix sockets: elsewhere there are none.
        #[cfg(not(unix))]
        let _ = (self.remote_dir, self.client_timeout);
        let host = Host {
            inner: Arc::new(HostInner {
                engine,
                instance_pool,
                slot_waiters: Default::default(),
                linker,
                defaults: self.limits,
                quarantine: self.quarantine,
                cache,
                kv: self.kv,
                progress: self.progress,
                plugins: RwLock::new(BTreeMap::new()),
                generation: std::sync::atomic::AtomicU64::new(0),
                #[cfg(unix)]
                remote: self.remote_dir.map(|dir| RemoteDir {
                    dir,
                    timeout: self
                        .client_timeout
                        .unwrap_or(crate::rpc::DEFAULT_CLIENT_TIMEOUT),
                    clients: Default::default(),
                }),
                _ticker: ticker,
            }),
        };
        if let Some(dir) = &self.plugin_dir {
            host.load_dir(dir)?;
        }
        Ok(host)
    }
}

/// A plugin's state in the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PluginState {
    /// Loaded and callable.
    Loaded,
    /// Compiled into the host.
    Native,
    /// Found but not loadable; see the error.
    Failed,
    /// Served by another process on InfraKit's JSON-RPC.
    Remote,
}

impl std::fmt::Display for PluginState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PluginState::Loaded => "loaded",
            PluginState::Native => "native",
            PluginState::Failed => "failed",
            PluginState::Remote => "remote",
        })
    }
}

/// What `plugins ls` shows about a plugin.
#[derive(Debug, Clone, Serialize)]
pub struct PluginInfo {
    /// The name calls are routed by.
    pub name: String,
    /// The SPIs it implements.
    pub spis: Vec<Spi>,
    /// The WIT version it was built against.
    pub wit: Option<String>,
    /// Its file, for wasm plugins.
    pub path: Option<PathBuf>,
    /// Where it listens, for remote plugins (`unix:///…` or `tcp://…`).
    pub address: Option<String>,
    /// Loaded, native or failed.
    pub state: PluginState,
    /// Why it failed to load.
    pub error: Option<String>,
    /// The `.wasm` file's size in bytes.
    pub size: Option<u64>,
    /// How long loading took, in milliseconds.
    pub load_ms: Option<f64>,
    /// Whether the compiled plugin came from the cache (`hit`), was compiled (`miss`), or no cache is set (`off`).
    pub cache: Option<CacheOutcome>,
    /// Who made it, if the plugin says (WIT 0.2.0 and later).
    pub vendor: Option<crate::VendorInfo>,
    /// The limits its calls run under.
    pub limits: Option<LimitsInfo>,
    /// Calls so far.
    pub calls: u64,
    /// Calls that returned the plugin's own error.
    pub errors: u64,
    /// Calls ended by a trap or a limit.
    pub faults: u64,
}

/// Limits in units an operator reads.
#[derive(Debug, Clone, Serialize)]
pub struct LimitsInfo {
    /// Fuel per call.
    pub fuel: u64,
    /// Deadline per call, in milliseconds.
    pub deadline_ms: u64,
    /// Linear-memory cap in bytes.
    pub memory_bytes: usize,
    /// Result cap in bytes.
    pub max_result_bytes: usize,
    /// Warm instances and concurrent calls.
    pub pool_size: usize,
}

impl From<&Limits> for LimitsInfo {
    fn from(l: &Limits) -> Self {
        LimitsInfo {
            fuel: l.fuel,
            deadline_ms: l.deadline.as_millis() as u64,
            memory_bytes: l.memory,
            max_result_bytes: l.max_result,
            pool_size: l.pool_size,
        }
    }
}

impl Host {
    /// Starts configuring a host.
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    /// A reference that does not keep the host alive.
    pub(crate) fn downgrade(&self) -> WeakHost {
        WeakHost(Arc::downgrade(&self.inner))
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Entry>> {
        self.inner.plugins.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Entry>> {
        self.inner
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner
            .plugins
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn context(&self) -> LoadContext<'_> {
        LoadContext {
            engine: &self.inner.engine,
            linker: &self.inner.linker,
            defaults: &self.inner.defaults,
            quarantine: &self.inner.quarantine,
            cache: self.inner.cache.as_ref(),
            kv: &self.inner.kv,
            router: self.downgrade(),
            slot_waiters: &self.inner.slot_waiters,
        }
    }

    /// Loads every `*.wasm` file of `dir`. Files compile in parallel (one
    /// worker per core), then register in name order, so which of two files
    /// claiming one name wins does not depend on timing. Returns how many loaded.
    pub fn load_dir(&self, dir: &Path) -> Result<usize> {
        let files = crate::loader::wasm_files(dir).map_err(|source| Error::PluginDir {
            path: dir.to_owned(),
            source,
        })?;
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(files.len())
            .max(1);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done = std::sync::atomic::AtomicUsize::new(0);
        let outcomes: Vec<std::sync::Mutex<Option<_>>> =
            files.iter().map(|_| std::sync::Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    let cx = self.context();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = files.get(i) else { break };
                        let outcome = loader::load(&cx, path);
                        *outcomes[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(outcome);
                        let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        if let Some(progress) = &self.inner.progress {
                            progress(finished, files.len(), path);
                        }
                    }
                });
            }
        });
        let mut loaded = 0;
        for (path, outcome) in files.iter().zip(outcomes) {
            let outcome = outcome
                .into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .expect("every file was loaded");
            if self.register(path, outcome).is_ok() {
                loaded += 1;
            }
        }
        Ok(loaded)
    }

    /// Loads (or replaces) one plugin from a `.wasm` file. A failure is also
    /// recorded in the registry under the plugin's name, so `plugins ls` shows it.
    pub fn load_file(&self, path: &Path) -> Result<PluginInfo> {
        // Compiling takes long: do it before taking the registry lock, so calls
        // keep running on the current version meanwhile.
        let outcome = loader::load(&self.context(), path);
        self.register(path, outcome)
    }

    /// Puts a loaded (or failed) file into the registry.
    fn register(
        &self,
        path: &Path,
        outcome: std::result::Result<Loaded, loader::LoadFailure>,
    ) -> Result<PluginInfo> {
        let mut plugins = self.write();
        let previous = plugins
            .iter()
            .find(|(_, e)| e.path() == Some(path))
            .map(|(n, e)| (n.clone(), matches!(e, Entry::Wasm { .. })));
        match outcome {
            Ok(loaded) => {
                let name = loaded.plugin.name.to_string();
                if let Some(Entry::Wasm { path: other, .. }) = plugins.get(&name)
                    && other != path
                {
                    let reason =
                        format!("the name '{name}' is already used by {}", other.display());
                    tracing::error!(plugin = %name, path = %path.display(), "{reason}");
                    return Err(Error::Load {
                        name,
                        path: path.to_owned(),
                        reason,
                    });
                }
                // A manifest may have renamed the plugin: drop the old name.
                if let Some((old, _)) = &previous
                    && *old != name
                {
                    plugins.remove(old);
                }
                tracing::info!(plugin = %name, path = %path.display(), spis = ?loaded.plugin.spis.to_vec(), wit = %loaded.wit, cache = ?loaded.cache, replaced = previous.is_some(), "plugin loaded");
                let entry = Entry::Wasm {
                    loaded,
                    path: path.to_owned(),
                };
                // The swap: calls already running finish on the old version,
                // which they hold; new calls get this one.
                plugins.insert(name.clone(), entry.clone());
                Ok(info(&name, &entry))
            }
            Err(f) => {
                match &previous {
                    Some((old, true)) => {
                        tracing::error!(plugin = %old, path = %path.display(), reason = %f.reason, "the new version failed to load; the old version keeps serving")
                    }
                    _ => {
                        tracing::error!(plugin = %f.name, path = %path.display(), reason = %f.reason, "plugin failed to load");
                        if let Some((old, false)) = &previous {
                            plugins.remove(old);
                        }
                        plugins.insert(
                            f.name.clone(),
                            Entry::Failed {
                                path: path.to_owned(),
                                reason: f.reason.clone(),
                            },
                        );
                    }
                }
                Err(Error::Load {
                    name: f.name,
                    path: path.to_owned(),
                    reason: f.reason,
                })
            }
        }
    }

    /// Unloads the plugin loaded from `path`, if any; returns its name.
    /// Calls already running finish on it.
    pub fn unload_path(&self, path: &Path) -> Option<String> {
        let mut plugins = self.write();
        let name = plugins
            .iter()
            .find(|(_, e)| e.path() == Some(path))
            .map(|(n, _)| n.clone())?;
        plugins.remove(&name);
        tracing::info!(plugin = %name, path = %path.display(), "plugin unloaded");
        Some(name)
    }

    /// Reloads plugin `name` from its file, or, with no name, rescans `dir`:
    /// new and changed files load, vanished files unload. Returns every
    /// plugin, and the loads that failed (a failed new version leaves the old
    /// one serving).
    pub fn reload(&self, dir: &Path, name: Option<&str>) -> Result<(Vec<PluginInfo>, Vec<Error>)> {
        if let Some(name) = name {
            let path = self
                .read()
                .get(name)
                .and_then(|e| e.path().map(Path::to_owned))
                .ok_or_else(|| Error::UnknownPlugin {
                    name: name.to_owned(),
                })?;
            let failures = self.load_file(&path).err().into_iter().collect();
            return Ok((self.plugins(), failures));
        }
        let files = crate::loader::wasm_files(dir).map_err(|source| Error::PluginDir {
            path: dir.to_owned(),
            source,
        })?;
        let known: Vec<PathBuf> = self
            .read()
            .values()
            .filter_map(|e| e.path().map(Path::to_owned))
            .collect();
        for gone in known
            .iter()
            .filter(|p| p.starts_with(dir) && !files.contains(p))
        {
            self.unload_path(gone);
        }
        let failures = files
            .iter()
            .filter_map(|f| self.load_file(f).err())
            .collect();
        Ok((self.plugins(), failures))
    }

    /// Loads a file without registering it: what `plugins check` does.
    pub fn check_file(&self, path: &Path) -> Result<PluginInfo> {
        match loader::load(&self.context(), path) {
            Ok(loaded) => {
                let name = loaded.plugin.name.to_string();
                Ok(info(
                    &name,
                    &Entry::Wasm {
                        loaded,
                        path: path.to_owned(),
                    },
                ))
            }
            Err(f) => Err(Error::Load {
                name: f.name,
                path: path.to_owned(),
                reason: f.reason,
            }),
        }
    }

    /// Registers a plugin compiled into the host under `name`, replacing any other.
    pub fn register_native(&self, name: &str, plugin: NativePlugin) {
        self.write().insert(name.to_owned(), Entry::Native(plugin));
    }

    /// Removes a plugin; calls already running finish on it. Returns whether it was there.
    pub fn unload(&self, name: &str) -> bool {
        self.write().remove(name).is_some()
    }

    /// Every hosted plugin, loaded or failed, sorted by name.
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.read()
            .iter()
            .map(|(name, entry)| info(name, entry))
            .collect()
    }

    /// The plugins other processes serve in the remote directory (see
    /// [`HostBuilder::remote_dir`]) that no hosted plugin shadows, sorted by
    /// name. Each is asked for its interfaces (`Handshake.Hello`); one that
    /// does not answer is listed with the reason.
    pub fn remote_plugins(&self) -> Vec<PluginInfo> {
        #[cfg(unix)]
        if let Some(remote) = &self.inner.remote {
            let discovered = crate::rpc::discovery::list(&remote.dir);
            let hosted = self.read();
            let remote_only: Vec<_> = discovered
                .into_iter()
                .filter(|(name, _)| !hosted.contains_key(name))
                .collect();
            drop(hosted);
            // Every server is asked at once, each for at most a few seconds,
            // so one hung server does not hold up the listing for a full
            // call timeout per plugin.
            let timeout = remote.timeout.min(LIST_TIMEOUT);
            return std::thread::scope(|scope| {
                let asked: Vec<_> = remote_only
                    .into_iter()
                    .map(|(name, endpoint)| {
                        scope.spawn(move || {
                            remote_info(&name, &RemotePlugin::new(&name, endpoint, timeout))
                        })
                    })
                    .collect();
                asked
                    .into_iter()
                    .map(|t| t.join().expect("a listing thread does not panic"))
                    .collect()
            });
        }
        Vec::new()
    }

    /// What [`Host::plugins`] says about plugin `name` (hosted plugins only).
    pub fn plugin(&self, name: &str) -> Option<PluginInfo> {
        self.read().get(name).map(|entry| info(name, entry))
    }

    /// The SPIs of hosted plugin `name`; `None` if it is not loaded.
    pub fn spis_of(&self, name: &str) -> Option<crate::SpiSet> {
        match self.read().get(name)? {
            Entry::Wasm { loaded, .. } => Some(loaded.plugin.spis),
            Entry::Native(n) => Some(n.spis()),
            Entry::Failed { .. } => None,
        }
    }

    /// A number that changes whenever a plugin is loaded, replaced or
    /// unloaded: compare two readings to learn whether the registry changed.
    pub fn generation(&self) -> u64 {
        self.inner
            .generation
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The pool plugin instances come from, or `None` when each instance maps
    /// its own memory (asked for, or the default pool could not be reserved).
    pub fn instance_pool(&self) -> Option<InstancePool> {
        self.inner.instance_pool
    }

    /// Drops one idle warm instance, the least recently used of the plugin
    /// holding the most, to free its pool slot; false when no plugin has one.
    pub(crate) fn evict_idle_instance(&self) -> bool {
        let plugins: Vec<Arc<crate::sandbox::WasmPlugin>> = self
            .read()
            .values()
            .filter_map(|e| match e {
                Entry::Wasm { loaded, .. } => Some(loaded.plugin.clone()),
                _ => None,
            })
            .collect();
        plugins
            .iter()
            .max_by_key(|p| p.idle_instances())
            .is_some_and(|p| p.evict_idle_instance())
    }

    /// The client of remote plugin `name` at `endpoint`, made once and kept.
    #[cfg(unix)]
    fn remote_client(
        &self,
        remote: &RemoteDir,
        name: &str,
        endpoint: crate::rpc::client::Endpoint,
    ) -> Arc<RemotePlugin> {
        let mut clients = remote.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients
            .entry((name.to_owned(), endpoint.clone()))
            .or_insert_with(|| Arc::new(RemotePlugin::new(name, endpoint, remote.timeout)))
            .clone()
    }

    /// Resolves a name the registry does not hold to a remote plugin serving `spi`.
    #[cfg(unix)]
    fn remote(&self, name: &str, spi: Spi, not_found: Error) -> Result<Arc<RemotePlugin>> {
        let Some(remote) = &self.inner.remote else {
            return Err(not_found);
        };
        let lookup = name.split_once('/').map_or(name, |(l, _)| l);
        let Some(endpoint) = crate::rpc::discovery::find(&remote.dir, lookup) else {
            return Err(not_found);
        };
        let client = self.remote_client(remote, name, endpoint);
        client.require(spi)?;
        Ok(client)
    }

    fn lookup(&self, name: &str, spi: Spi) -> Result<Entry> {
        let entry = self
            .read()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::UnknownPlugin {
                name: name.to_owned(),
            })?;
        match &entry {
            Entry::Failed { path, reason } => Err(Error::Load {
                name: name.to_owned(),
                path: path.clone(),
                reason: reason.clone(),
            }),
            Entry::Wasm { loaded, .. } if !loaded.plugin.spis.contains(spi) => {
                Err(Error::MissingSpi {
                    name: name.to_owned(),
                    spi,
                })
            }
            Entry::Native(n) if !n.spis().contains(spi) => Err(Error::MissingSpi {
                name: name.to_owned(),
                spi,
            }),
            _ => Ok(entry),
        }
    }

    /// The instance SPI of plugin `name`.
    pub fn instance(&self, name: &str) -> Result<Arc<dyn Instance>> {
        let entry = match self.lookup(name, Spi::Instance) {
            #[cfg(unix)]
            Err(e @ Error::UnknownPlugin { .. }) => {
                return Ok(self.remote(name, Spi::Instance, e)?);
            }
            other => other?,
        };
        Ok(match entry {
            Entry::Wasm { loaded, .. } => loaded.plugin,
            Entry::Native(n) => n.instance.expect("checked by lookup"),
            Entry::Failed { .. } => unreachable!("lookup refuses failed entries"),
        })
    }

    /// The flavor SPI of plugin `name`.
    pub fn flavor(&self, name: &str) -> Result<Arc<dyn Flavor>> {
        let entry = match self.lookup(name, Spi::Flavor) {
            #[cfg(unix)]
            Err(e @ Error::UnknownPlugin { .. }) => {
                return Ok(self.remote(name, Spi::Flavor, e)?);
            }
            other => other?,
        };
        Ok(match entry {
            Entry::Wasm { loaded, .. } => loaded.plugin,
            Entry::Native(n) => n.flavor.expect("checked by lookup"),
            Entry::Failed { .. } => unreachable!("lookup refuses failed entries"),
        })
    }

    /// The group SPI of plugin `name`.
    pub fn group(&self, name: &str) -> Result<Arc<dyn Group>> {
        let entry = match self.lookup(name, Spi::Group) {
            #[cfg(unix)]
            Err(e @ Error::UnknownPlugin { .. }) => return Ok(self.remote(name, Spi::Group, e)?),
            other => other?,
        };
        Ok(match entry {
            Entry::Wasm { loaded, .. } => loaded.plugin,
            Entry::Native(n) => n.group.expect("checked by lookup"),
            Entry::Failed { .. } => unreachable!("lookup refuses failed entries"),
        })
    }
}

/// What `plugins ls` shows about a remote plugin: its SPIs come from its
/// handshake; an unreachable server is listed with the reason.
#[cfg(unix)]
fn remote_info(name: &str, client: &RemotePlugin) -> PluginInfo {
    let (spis, error) = match client.spis() {
        Ok(spis) => (spis.to_vec(), None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let mut info = info(
        name,
        &Entry::Failed {
            path: PathBuf::new(),
            reason: String::new(),
        },
    );
    info.spis = spis;
    info.error = error;
    info.path = match client.endpoint() {
        crate::rpc::client::Endpoint::Unix(path) => Some(path.clone()),
        crate::rpc::client::Endpoint::Tcp(_) => None,
    };
    info.address = Some(client.endpoint().to_string());
    info.state = PluginState::Remote;
    info
}

fn info(name: &str, entry: &Entry) -> PluginInfo {
    let mut info = PluginInfo {
        name: name.to_owned(),
        spis: Vec::new(),
        wit: None,
        path: None,
        address: None,
        state: PluginState::Failed,
        error: None,
        size: None,
        load_ms: None,
        cache: None,
        vendor: None,
        limits: None,
        calls: 0,
        errors: 0,
        faults: 0,
    };
    match entry {
        Entry::Wasm { loaded, path } => {
            let plugin = &loaded.plugin;
            let stats = plugin.stats();
            info.spis = plugin.spis.to_vec();
            info.wit = Some(loaded.wit.clone());
            info.path = Some(path.clone());
            info.state = PluginState::Loaded;
            info.size = Some(loaded.size);
            info.load_ms = Some(loaded.load_time.as_secs_f64() * 1000.0);
            info.cache = Some(loaded.cache);
            info.vendor = loaded.vendor.clone();
            info.limits = Some((&plugin.limits).into());
            info.calls = stats.calls;
            info.errors = stats.errors;
            info.faults = stats.faults;
        }
        Entry::Native(n) => {
            info.spis = n.spis().to_vec();
            info.state = PluginState::Native;
        }
        Entry::Failed { path, reason } => {
            info.path = Some(path.clone());
            info.error = Some(reason.clone());
        }
    }
    info
}
