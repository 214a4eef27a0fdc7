//! `deploykit plugins ls|check`: what is in the plugin folder and whether it loads.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Result, bail};
use clap::Subcommand;
use deploykit_host::{CacheOutcome, Host, PluginInfo, PluginState};

use crate::output::Output;
use crate::state::State;

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List every plugin of the folder (name, SPIs, WIT version, state, limits), then the remote plugins of the sockets folder.
    #[command(after_help = "Example:\n  deploykit --plugins ./plugins plugins ls --json")]
    Ls,
    /// Compile every plugin of the folder into the cache (in the state folder), so later loads are fast.
    #[command(
        after_help = "Example:\n  deploykit --plugins ./plugins --state ./.deploykit plugins precompile"
    )]
    Precompile,
    /// Ask the running `deploykit serve` to reload plugin NAME, or rescan the whole folder.
    #[command(after_help = "Example:\n  deploykit plugins reload instance-file")]
    Reload {
        /// The plugin; without it, new files load, changed ones swap, vanished ones unload.
        name: Option<String>,
    },
    /// Check that one .wasm file loads; exits non-zero with the reason if not.
    #[command(
        after_help = "Example:\n  deploykit plugins check target/wasm32-wasip2/release/instance_file.wasm"
    )]
    Check {
        /// The .wasm file.
        file: PathBuf,
    },
}

impl PluginsCommand {
    pub fn execute(self, dir: &Path, state: &Arc<State>, out: &Output) -> Result<()> {
        match self {
            PluginsCommand::Reload { name } => reload(state, name.as_deref(), out),
            PluginsCommand::Precompile => {
                let host = super::load(dir, state)?;
                let plugins = host.plugins();
                if out.json {
                    return out.line(&serde_json::to_string_pretty(&plugins)?);
                }
                for p in &plugins {
                    match (&p.error, p.cache, p.load_ms) {
                        (Some(e), _, _) => out.line(&format!("{}: failed: {e}", p.name))?,
                        (None, Some(c), Some(ms)) => {
                            out.line(&format!("{}: {} ({ms:.1} ms)", p.name, cache_word(c)))?
                        }
                        _ => {}
                    }
                }
                let failed = plugins.iter().filter(|p| p.error.is_some()).count();
                if failed > 0 {
                    bail!("{failed} of {} plugins failed to load", plugins.len());
                }
                out.line(&format!("cache: {}", state.cache_dir().display()))
            }
            PluginsCommand::Ls => {
                let host = super::load(dir, state)?;
                let mut plugins = host.plugins();
                plugins.extend(host.remote_plugins());
                if out.json {
                    return out.line(&serde_json::to_string_pretty(&plugins)?);
                }
                if plugins.is_empty() {
                    return out.line(&format!(
                        "no plugins in {} and no plugin sockets in {}",
                        dir.display(),
                        state.sockets_dir().display()
                    ));
                }
                let rows: Vec<Vec<String>> = plugins.iter().map(row).collect();
                out.table(
                    &[
                        "NAME", "SPIS", "WIT", "STATE", "LOAD", "FUEL", "DEADLINE", "MEMORY",
                        "DETAIL",
                    ],
                    &rows,
                )
            }
            PluginsCommand::Check { file } => {
                let host = Host::builder().build()?;
                match host.check_file(&file) {
                    Ok(info) if out.json => out.line(&serde_json::to_string_pretty(&info)?),
                    Ok(info) => out.line(&format!(
                        "ok: {} implements {} (WIT {}), {} bytes, loaded in {:.1} ms",
                        info.name,
                        spis(&info),
                        info.wit.unwrap_or_default(),
                        info.size.unwrap_or_default(),
                        info.load_ms.unwrap_or_default()
                    )),
                    Err(e) => bail!(e),
                }
            }
        }
    }
}

fn spis(info: &PluginInfo) -> String {
    info.spis
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn row(p: &PluginInfo) -> Vec<String> {
    let (fuel, deadline, memory) = match &p.limits {
        Some(l) => (
            l.fuel.to_string(),
            format!("{}ms", l.deadline_ms),
            format!("{}MiB", l.memory_bytes >> 20),
        ),
        None => ("-".into(), "-".into(), "-".into()),
    };
    let detail = match p.state {
        PluginState::Failed => p.error.clone().unwrap_or_default(),
        PluginState::Remote => match &p.error {
            Some(e) => e.clone(),
            None => p.address.clone().unwrap_or_default(),
        },
        _ => p
            .path
            .as_ref()
            .map(|x| x.display().to_string())
            .unwrap_or_default(),
    };
    vec![
        p.name.clone(),
        spis(p),
        p.wit.clone().unwrap_or_else(|| "-".into()),
        p.state.to_string(),
        match (p.load_ms, p.cache) {
            (Some(ms), Some(c)) => format!("{ms:.1}ms {}", cache_word(c)),
            _ => "-".into(),
        },
        fuel,
        deadline,
        memory,
        detail,
    ]
}

fn cache_word(c: CacheOutcome) -> &'static str {
    match c {
        CacheOutcome::Hit => "cached",
        CacheOutcome::Miss => "compiled",
        CacheOutcome::Off => "compiled",
    }
}

/// Sends `Deploykit.Reload` to the `serve` of this state folder.
#[cfg(unix)]
fn reload(state: &State, name: Option<&str>, out: &Output) -> Result<()> {
    use deploykit_host::rpc::client::{CallError, call};
    let socket = state.control_socket();
    let params = serde_json::json!({ "Name": name }).to_string();
    let result = match call(
        &socket,
        "Deploykit.Reload",
        &params,
        std::time::Duration::from_secs(300),
    ) {
        Ok(r) => r,
        Err(CallError::Connect { .. }) => {
            bail!(
                "no `deploykit serve` is running on this state folder ({} does not answer)",
                socket.display()
            )
        }
        Err(e) => bail!(e),
    };
    if out.json {
        return out.line(&result);
    }
    let value: serde_json::Value = serde_json::from_str(&result)?;
    let failures: Vec<&str> = value["Failures"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str())
        .collect();
    for f in &failures {
        out.line(&format!(
            "reload failed, the old version keeps serving: {f}"
        ))?;
    }
    for p in value["Plugins"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default();
        match p["error"].as_str() {
            Some(e) => out.line(&format!("{name}: failed: {e}"))?,
            None => out.line(&format!(
                "{name}: {}",
                p["state"].as_str().unwrap_or_default()
            ))?,
        }
    }
    if !failures.is_empty() {
        bail!("{} plugin(s) failed to reload", failures.len());
    }
    Ok(())
}

#[cfg(not(unix))]
fn reload(_state: &State, _name: Option<&str>, _out: &Output) -> Result<()> {
    bail!("plugins reload talks to `deploykit serve` over a unix socket, which this platform lacks")
}
