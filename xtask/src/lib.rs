//! Set-up shared by `cargo xtask` and the integration tests: the wasm target and the plugin builds.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

pub mod moto;
pub mod polyglot;
pub mod venv;

/// The target plugins are built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// A plugin crate of the workspace: its package, its `.wasm` stem, and the
/// manifest that ships beside it.
pub struct PluginCrate {
    /// The cargo package name.
    pub package: &'static str,
    /// The plugin's name in a plugin folder.
    pub name: &'static str,
    /// The manifest next to the crate, if any, relative to the workspace.
    pub manifest: Option<&'static str>,
}

/// The sample plugins the demo installs.
pub const SAMPLES: &[PluginCrate] = &[
    PluginCrate {
        package: "instance-file",
        name: "instance-file",
        manifest: Some("sample-plugins/instance-file/instance-file.toml"),
    },
    PluginCrate {
        package: "flavor-vanilla",
        name: "flavor-vanilla",
        manifest: None,
    },
    PluginCrate {
        package: "instance-simulator",
        name: "instance-simulator",
        manifest: None,
    },
    PluginCrate {
        package: "flavor-combo",
        name: "flavor-combo",
        manifest: None,
    },
];

/// Sample plugins for real providers: built and tested (against an
/// emulator), but not installed by the demo, which would need a cloud account.
pub const PROVIDERS: &[PluginCrate] = &[PluginCrate {
    package: "instance-aws",
    name: "instance-aws",
    manifest: None,
}];

/// Plugins that exist only for the tests.
pub const TEST_PLUGINS: &[PluginCrate] = &[
    PluginCrate {
        package: "misbehave",
        name: "misbehave",
        manifest: None,
    },
    PluginCrate {
        package: "start-trap",
        name: "start-trap",
        manifest: None,
    },
    PluginCrate {
        package: "legacy-v0_1",
        name: "legacy-v0_1",
        manifest: None,
    },
    PluginCrate {
        package: "future-v0_3",
        name: "future-v0_3",
        manifest: None,
    },
];

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_owned()
}

/// Cargo's target folder for this workspace: where `CARGO_TARGET_DIR` or a
/// `build.target-dir` setting puts it, as `cargo metadata` reports it, else
/// `<workspace>/target`. Asked once per process.
pub fn target_dir() -> PathBuf {
    static TARGET_DIR: OnceLock<PathBuf> = OnceLock::new();
    TARGET_DIR
        .get_or_init(|| metadata_target_dir().unwrap_or_else(|| workspace_root().join("target")))
        .clone()
}

/// The `target_directory` of `cargo metadata`, if cargo can say.
fn metadata_target_dir() -> Option<PathBuf> {
    let out = Command::new(cargo())
        .current_dir(workspace_root())
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    meta["target_directory"].as_str().map(PathBuf::from)
}

/// Where plugin builds go: a target folder of their own, so that building
/// them from inside `cargo test` never waits on the outer cargo's lock.
pub fn plugin_target_dir() -> PathBuf {
    target_dir().join("wasm-plugins")
}

/// The built `.wasm` of a package.
pub fn wasm_path(package: &str) -> PathBuf {
    plugin_target_dir()
        .join(WASM_TARGET)
        .join("release")
        .join(format!("{}.wasm", package.replace('-', "_")))
}

/// Adds the wasm target with rustup when it is missing.
pub fn ensure_wasm_target() -> Result<()> {
    ensure_target(WASM_TARGET)
}

/// Adds a compilation target with rustup when it is missing.
pub fn ensure_target(target: &str) -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("cannot run rustup: install Rust with rustup (https://rustup.rs)")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == target)
    {
        return Ok(());
    }
    eprintln!("xtask: adding the {target} target with rustup");
    run(Command::new("rustup").args(["target", "add", target]))
}

/// Builds plugin crates for the wasm target (release = the size-optimised guest profile).
pub fn build_plugins(plugins: &[&PluginCrate]) -> Result<()> {
    ensure_wasm_target()?;
    let mut cmd = Command::new(cargo());
    cmd.current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "--release",
            "--target",
            WASM_TARGET,
            "--target-dir",
        ])
        .arg(plugin_target_dir());
    for p in plugins {
        cmd.args(["-p", p.package]);
    }
    run(&mut cmd)
}

/// Builds the plugins and copies them, with their manifests, into `dir`.
pub fn install_plugins(plugins: &[&PluginCrate], dir: &Path) -> Result<()> {
    build_plugins(plugins)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for p in plugins {
        let to = dir.join(format!("{}.wasm", p.name));
        std::fs::copy(wasm_path(p.package), &to)
            .with_context(|| format!("cannot copy to {}", to.display()))?;
        if let Some(m) = p.manifest {
            let to = dir.join(format!("{}.toml", p.name));
            std::fs::copy(workspace_root().join(m), &to)
                .with_context(|| format!("cannot copy to {}", to.display()))?;
        }
    }
    Ok(())
}

/// The cargo that runs us.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Runs a command, failing with its command line when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// A temporary plugin folder for tests, filled with built plugins.
pub struct PluginFolder {
    dir: tempfile::TempDir,
}

impl PluginFolder {
    /// Builds every plugin once per process and returns an empty folder.
    pub fn new() -> Result<PluginFolder> {
        static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
        BUILT
            .get_or_init(|| {
                let all: Vec<&PluginCrate> = SAMPLES
                    .iter()
                    .chain(TEST_PLUGINS)
                    .chain(PROVIDERS)
                    .collect();
                build_plugins(&all).map_err(|e| format!("{e:#}"))
            })
            .clone()
            .map_err(anyhow::Error::msg)?;
        Ok(PluginFolder {
            dir: tempfile::Builder::new()
                .prefix("deploykit-test-")
                .tempdir()?,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Copies the built `package` in as `<name>.wasm`, with `manifest` as `<name>.toml`.
    pub fn add(&self, package: &str, name: &str, manifest: Option<&str>) -> Result<PathBuf> {
        let to = self.path().join(format!("{name}.wasm"));
        std::fs::copy(wasm_path(package), &to).with_context(|| format!("cannot copy {package}"))?;
        if let Some(m) = manifest {
            std::fs::write(self.path().join(format!("{name}.toml")), m)?;
        }
        Ok(to)
    }

    /// Writes arbitrary bytes as `<name>.wasm` (for bad-input tests).
    pub fn add_bytes(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let to = self.path().join(format!("{name}.wasm"));
        std::fs::write(&to, bytes)?;
        Ok(to)
    }

    /// Adds both samples with their shipped manifests.
    pub fn with_samples(self) -> Result<PluginFolder> {
        for p in SAMPLES {
            let manifest = p
                .manifest
                .map(|m| std::fs::read_to_string(workspace_root().join(m)))
                .transpose()?;
            self.add(p.package, p.name, manifest.as_deref())?;
        }
        Ok(self)
    }
}
