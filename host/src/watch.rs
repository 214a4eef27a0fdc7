//! Hot reload: watches the plugin folder and loads, swaps and unloads plugins as their files change.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer, notify};

use crate::{Error, Host, Result};

/// How long a file must stay unchanged before it is loaded: a file still
/// being written is not loaded half-written (and if it were, the load would
/// fail and the old version would keep serving).
pub const SETTLE: Duration = Duration::from_millis(300);

/// Watches a plugin folder while it is alive; dropping it stops watching.
pub struct PluginWatcher {
    _debouncer: Debouncer<notify::RecommendedWatcher>,
}

impl std::fmt::Debug for PluginWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PluginWatcher")
    }
}

impl Host {
    /// Watches `dir`: a new `.wasm` loads, a changed one is loaded beside the
    /// old version and swapped in (calls in flight finish on the old one), a
    /// deleted one unloads, and a changed manifest reloads its plugin. A
    /// version that fails to load leaves the old one serving. The host is held
    /// weakly: the watcher stops acting once the host is dropped.
    pub fn watch(&self, dir: &Path) -> Result<PluginWatcher> {
        let host = self.downgrade();
        let watched = dir.to_owned();
        let mut debouncer = new_debouncer(SETTLE, move |events: DebounceEventResult| {
            let Some(host) = host.upgrade() else { return };
            match events {
                Ok(events) => {
                    let mut paths: Vec<PathBuf> = events.into_iter().map(|e| e.path).collect();
                    paths.sort();
                    paths.dedup();
                    for path in paths {
                        host.apply_change(&watched, &path);
                    }
                }
                Err(e) => tracing::error!(dir = %watched.display(), "watching the plugin folder failed: {e}"),
            }
        })
        .map_err(|e| Error::PluginDir { path: dir.to_owned(), source: std::io::Error::other(e) })?;
        debouncer
            .watcher()
            .watch(dir, notify::RecursiveMode::NonRecursive)
            .map_err(|e| Error::PluginDir {
                path: dir.to_owned(),
                source: std::io::Error::other(e),
            })?;
        tracing::info!(dir = %dir.display(), "watching the plugin folder");
        Ok(PluginWatcher {
            _debouncer: debouncer,
        })
    }

    /// Acts on one changed path of the plugin folder.
    fn apply_change(&self, dir: &Path, path: &Path) {
        let wasm = match path.extension().and_then(|e| e.to_str()) {
            Some("wasm") => path.to_owned(),
            Some("toml") => path.with_extension("wasm"),
            _ => return,
        };
        if !wasm.starts_with(dir) {
            return;
        }
        if wasm.is_file() {
            // Errors are logged by load_file; the old version keeps serving.
            let _ = self.load_file(&wasm);
        } else {
            self.unload_path(&wasm);
        }
    }
}
