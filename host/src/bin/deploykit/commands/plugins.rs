//! `deploykit plugins ls|check`: what is in the plugin folder and whether it loads.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::Subcommand;
use deploykit_host::{Host, PluginInfo, PluginState};

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List every plugin of the folder: name, SPIs, WIT version, state, limits.
    #[command(after_help = "Example:\n  deploykit --plugins ./plugins plugins ls --json")]
    Ls,
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
    pub fn execute(self, dir: &Path, out: &Output) -> Result<()> {
        match self {
            PluginsCommand::Ls => {
                let host = super::load(dir)?;
                let plugins = host.plugins();
                if out.json {
                    return out.line(&serde_json::to_string_pretty(&plugins)?);
                }
                if plugins.is_empty() {
                    return out.line(&format!("no plugins in {}", dir.display()));
                }
                let rows: Vec<Vec<String>> = plugins.iter().map(row).collect();
                out.table(
                    &[
                        "NAME", "SPIS", "WIT", "STATE", "FUEL", "DEADLINE", "MEMORY", "DETAIL",
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
        fuel,
        deadline,
        memory,
        detail,
    ]
}
