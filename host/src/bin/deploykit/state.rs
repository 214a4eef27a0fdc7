//! The state folder, opened on first use (group specs and the plugins' kv keys share its database), and where InfraKit's sockets live.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Result, anyhow};
use deploykit_host::{KvStore, StateStore};

/// The `--state` folder. Commands that never touch state never open (and so
/// never lock) its database.
pub struct State {
    dir: PathBuf,
    store: OnceLock<Result<Arc<StateStore>, String>>,
    sockets: PathBuf,
    client_timeout: Duration,
    instance_pool: Option<PoolSetting>,
}

/// `--instance-pool`: a pool of N slots, or `off` for on-demand instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolSetting {
    /// A pool of this many instance slots.
    Slots(u32),
    /// Every instance maps its own memory.
    Off,
}

impl std::str::FromStr for PoolSetting {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(PoolSetting::Off),
            n => match n.parse::<u32>() {
                Ok(0) | Err(_) => Err(format!(
                    "'{n}' is neither a number of slots (1 or more) nor 'off'"
                )),
                Ok(n) => Ok(PoolSetting::Slots(n)),
            },
        }
    }
}

impl State {
    /// The state folder at `dir`, not opened yet.
    pub fn new(dir: &Path) -> State {
        State {
            dir: dir.to_owned(),
            store: OnceLock::new(),
            sockets: deploykit_host::rpc::default_plugins_dir(),
            client_timeout: deploykit_host::rpc::DEFAULT_CLIENT_TIMEOUT,
            instance_pool: None,
        }
    }

    /// Uses `sockets` as InfraKit's plugin directory, with `timeout` for calls to remote plugins.
    pub fn with_sockets(mut self, sockets: PathBuf, timeout: Duration) -> State {
        self.sockets = sockets;
        self.client_timeout = timeout;
        self
    }

    /// Allocates plugin instances as `setting` says (`None`: the host's default pool).
    pub fn with_instance_pool(mut self, setting: Option<PoolSetting>) -> State {
        self.instance_pool = setting;
        self
    }

    /// How plugin instances are allocated, if the command line said.
    pub fn instance_pool(&self) -> Option<PoolSetting> {
        self.instance_pool
    }

    /// InfraKit's plugin directory: `serve` puts a socket per plugin there,
    /// and names the host does not hold are looked up there.
    pub fn sockets_dir(&self) -> &Path {
        &self.sockets
    }

    /// How long a call to a remote plugin may take.
    pub fn client_timeout(&self) -> Duration {
        self.client_timeout
    }

    /// Where compiled plugins are cached.
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.join("cache")
    }

    /// The control socket a running `deploykit serve` answers on.
    #[cfg(unix)]
    pub fn control_socket(&self) -> PathBuf {
        self.dir.join("deploykit.sock")
    }

    /// The database, opened now if it was not.
    pub fn store(&self) -> Result<Arc<StateStore>> {
        self.store
            .get_or_init(|| {
                StateStore::open(&self.dir).map(Arc::new).map_err(|e| {
                    format!("cannot open the state folder {}: {e}", self.dir.display())
                })
            })
            .clone()
            .map_err(|e| anyhow!(e))
    }
}

impl KvStore for State {
    fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.store().map_err(|e| e.to_string())?.get(namespace, key)
    }

    fn set(&self, namespace: &str, key: &str, value: &[u8]) -> Result<(), String> {
        KvStore::set(
            &*self.store().map_err(|e| e.to_string())?,
            namespace,
            key,
            value,
        )
    }

    fn delete(&self, namespace: &str, key: &str) -> Result<bool, String> {
        KvStore::delete(&*self.store().map_err(|e| e.to_string())?, namespace, key)
    }

    fn list_keys(&self, namespace: &str, prefix: &str) -> Result<Vec<String>, String> {
        KvStore::list_keys(
            &*self.store().map_err(|e| e.to_string())?,
            namespace,
            prefix,
        )
    }
}
