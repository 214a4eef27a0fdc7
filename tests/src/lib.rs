//! Fixtures for the integration tests: a plugin folder of built plugins and a host over it, group fixtures over a simulator, and a fake InfraKit plugin.

pub mod groups;
#[cfg(unix)]
pub mod infrakit;
pub mod sim;

use anyhow::Result;
use deploykit_host::{Host, QuarantinePolicy};
pub use xtask::PluginFolder;

/// A manifest for `misbehave` with tight limits, so faults trip fast.
pub const TIGHT_LIMITS: &str = r#"
[limits]
fuel = 50_000_000
deadline = "200ms"
memory-mib = 16
max-result-kib = 256
pool-size = 2
"#;

/// A host over `folder` with quarantine effectively off.
pub fn host(folder: &PluginFolder) -> Result<Host> {
    Ok(Host::builder()
        .plugin_dir(folder.path())
        .quarantine(no_quarantine())
        .build()?)
}

/// A policy that never quarantines.
pub fn no_quarantine() -> QuarantinePolicy {
    QuarantinePolicy {
        faults: usize::MAX,
        ..QuarantinePolicy::default()
    }
}

/// A folder with both samples.
pub fn samples() -> Result<(PluginFolder, Host)> {
    let folder = PluginFolder::new()?.with_samples()?;
    let host = host(&folder)?;
    Ok((folder, host))
}
