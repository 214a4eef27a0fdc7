//! Serves every hosted plugin on its own InfraKit socket in the plugin directory, following loads and unloads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::bridge::plugin_service;
use super::server::{ServeError, bind_with_mode, serve};
use crate::Host;

/// How often the registry is checked for plugins that came or went.
const RECONCILE: Duration = Duration::from_millis(50);

/// One socket per hosted plugin, named after the plugin, in an InfraKit
/// plugin directory. Sockets appear and disappear as plugins load and unload;
/// dropping the bridge closes them and removes their files.
///
/// ```no_run
/// use deploykit_host::Host;
/// use deploykit_host::rpc::sockets::{Bridge, BridgeOptions};
///
/// let host = Host::builder().plugin_dir("plugins").build()?;
/// let bridge = Bridge::start(&host, "/run/infrakit/plugins".as_ref(), BridgeOptions::default())?;
/// for (name, socket) in bridge.sockets() {
///     println!("{name} on {}", socket.display());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Bridge {
    state: Arc<Mutex<BridgeState>>,
    stop: Option<oneshot::Sender<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// How the bridge creates its sockets.
#[derive(Debug, Clone, Copy)]
pub struct BridgeOptions {
    /// Permission bits of each socket (default `0o600`, owner only).
    pub mode: u32,
}

impl Default for BridgeOptions {
    fn default() -> Self {
        BridgeOptions { mode: 0o600 }
    }
}

#[derive(Default)]
struct BridgeState {
    /// Plugins served now: their socket and the sender that stops the server.
    served: BTreeMap<String, (PathBuf, oneshot::Sender<()>)>,
    /// Plugins whose socket could not be made, with the reason.
    refused: BTreeMap<String, String>,
}

impl Bridge {
    /// Creates `dir` if needed (owner-only) and starts serving every plugin
    /// of `host`. Fails only if the directory cannot be made or the async
    /// runtime cannot start; a socket that cannot be made is reported by
    /// [`Bridge::refused`] and logged.
    pub fn start(host: &Host, dir: &Path, options: BridgeOptions) -> Result<Bridge, ServeError> {
        let io = |source| ServeError::Bind {
            path: dir.to_owned(),
            source,
        };
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(io)?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("deploykit-bridge")
            .enable_all()
            .build()
            .map_err(io)?;
        let state = Arc::new(Mutex::new(BridgeState::default()));
        let (stop, mut stopped) = oneshot::channel();
        // The first round runs before `start` returns, so callers find the sockets ready.
        let first = runtime.block_on(async {
            reconcile(host, dir, options, &state);
            host.generation()
        });
        {
            let (host, dir, state) = (host.clone(), dir.to_owned(), state.clone());
            runtime.spawn(async move {
                let mut seen = first;
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        _ = tokio::time::sleep(RECONCILE) => {}
                    }
                    let now = host.generation();
                    if now != seen {
                        seen = now;
                        reconcile(&host, &dir, options, &state);
                    }
                }
            });
        }
        Ok(Bridge {
            state,
            stop: Some(stop),
            runtime: Some(runtime),
        })
    }

    /// The plugins served now and their sockets.
    pub fn sockets(&self) -> Vec<(String, PathBuf)> {
        lock(&self.state)
            .served
            .iter()
            .map(|(name, (path, _))| (name.clone(), path.clone()))
            .collect()
    }

    /// Plugins whose socket could not be made, with the reason (for example
    /// another live process serving that name).
    pub fn refused(&self) -> Vec<(String, String)> {
        lock(&self.state)
            .refused
            .iter()
            .map(|(n, r)| (n.clone(), r.clone()))
            .collect()
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let served = std::mem::take(&mut lock(&self.state).served);
        for (name, (path, stop)) in served {
            let _ = stop.send(());
            let _ = std::fs::remove_file(&path);
            tracing::debug!(plugin = %name, socket = %path.display(), "socket closed");
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

fn lock(state: &Mutex<BridgeState>) -> std::sync::MutexGuard<'_, BridgeState> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens a socket for every hosted plugin without one and closes the
/// sockets of plugins that are gone. Runs inside the bridge's runtime.
fn reconcile(host: &Host, dir: &Path, options: BridgeOptions, state: &Mutex<BridgeState>) {
    let wanted: Vec<String> = host
        .plugins()
        .into_iter()
        .filter(|p| {
            matches!(
                p.state,
                crate::PluginState::Loaded | crate::PluginState::Native
            )
        })
        .map(|p| p.name)
        .collect();
    let mut state = lock(state);
    let gone: Vec<String> = state
        .served
        .keys()
        .filter(|n| !wanted.contains(n))
        .cloned()
        .collect();
    for name in gone {
        if let Some((path, stop)) = state.served.remove(&name) {
            let _ = stop.send(());
            let _ = std::fs::remove_file(&path);
            tracing::info!(plugin = %name, socket = %path.display(), "plugin unloaded: socket removed");
        }
    }
    state.refused.retain(|n, _| wanted.contains(n));
    for name in wanted {
        if state.served.contains_key(&name) {
            continue;
        }
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            let reason = format!("'{name}' cannot name a socket");
            tracing::warn!(plugin = %name, "{reason}");
            state.refused.insert(name, reason);
            continue;
        }
        let path = dir.join(&name);
        match bind_with_mode(&path, options.mode) {
            Ok(listener) => {
                let (stop, stopped) = oneshot::channel::<()>();
                let service = plugin_service(host, &name);
                tokio::spawn(serve(listener, service, async {
                    let _ = stopped.await;
                }));
                tracing::info!(plugin = %name, socket = %path.display(), "serving InfraKit JSON-RPC");
                state.refused.remove(&name);
                state.served.insert(name, (path, stop));
            }
            Err(e) => {
                if !state.refused.contains_key(&name) {
                    tracing::error!(plugin = %name, socket = %path.display(), "not served: {e}");
                }
                state.refused.insert(name, e.to_string());
            }
        }
    }
}
