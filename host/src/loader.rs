//! Turns a `.wasm` file into a ready plugin: checks the format, finds its SPIs and WIT version, compiles, links.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::Engine;
use wasmtime::component::{Component, Linker};

use crate::bindings::{
    self, FlavorIndices, GroupIndices, InstanceIndices, MetadataIndices, Version,
};
use crate::cache::{CacheOutcome, ComponentCache};
use crate::limits::Limits;
use crate::manifest::{DirMode, Manifest};
use crate::quarantine::QuarantinePolicy;
use crate::sandbox::{Grants, PluginParts, SpiIndices, WasmPlugin};
use crate::spi::{Spi, SpiSet};
use crate::state::StoreData;

/// The WIT package every plugin interface belongs to.
const PACKAGE: &str = "deploykit:plugin";

/// The WIT versions this host can load.
pub(crate) use bindings::SUPPORTED as SUPPORTED_WIT;

/// A plugin that loaded, with facts for `plugins ls`.
#[derive(Clone)]
pub(crate) struct Loaded {
    pub plugin: Arc<WasmPlugin>,
    pub wit: String,
    pub size: u64,
    pub load_time: Duration,
    pub cache: CacheOutcome,
    pub vendor: Option<deploykit_sdk::VendorInfo>,
}

/// Why a file did not load.
#[derive(Debug, Clone)]
pub(crate) struct LoadFailure {
    pub name: String,
    pub reason: String,
}

/// What the loader needs from the host.
pub(crate) struct LoadContext<'a> {
    pub engine: &'a Engine,
    pub linker: &'a Linker<StoreData>,
    pub defaults: &'a Limits,
    pub quarantine: &'a QuarantinePolicy,
    pub cache: Option<&'a ComponentCache>,
    pub kv: &'a Option<Arc<dyn crate::KvStore>>,
    pub router: crate::host::WeakHost,
    pub slot_waiters: &'a Arc<crate::slot_waiters::SlotWaiters>,
}

/// The `*.wasm` files of `dir`, in name order.
pub(crate) fn wasm_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "wasm") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// The plugin name a file gets without a manifest: its stem.
pub(crate) fn default_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Loads one plugin file and its manifest.
pub(crate) fn load(cx: &LoadContext<'_>, path: &Path) -> Result<Loaded, LoadFailure> {
    let started = Instant::now();
    let mut name = default_name(path);
    let fail = |name: &str, reason: String| LoadFailure {
        name: name.to_owned(),
        reason,
    };
    let manifest = match Manifest::for_wasm(path) {
        Ok(m) => m,
        Err(e) => return Err(fail(&name, e.to_string())),
    };
    let manifest = manifest.map(|(_, m)| m).unwrap_or_default();
    if let Some(n) = &manifest.name {
        name = n.clone();
    }
    let bytes =
        std::fs::read(path).map_err(|e| fail(&name, format!("cannot read the file: {e}")))?;
    check_format(&bytes).map_err(|r| fail(&name, r))?;
    let compiled = match cx.cache {
        Some(cache) => cache.load(cx.engine, &bytes),
        None => Component::new(cx.engine, &bytes).map(|c| (c, CacheOutcome::Off)),
    };
    let (component, cache) =
        compiled.map_err(|e| fail(&name, format!("not a valid component: {}", first_line(&e))))?;
    let (spis, wit, version) = inspect(cx.engine, &component).map_err(|r| fail(&name, r))?;
    let pre = cx
        .linker
        .instantiate_pre(&component)
        .map_err(|e| fail(&name, format!("cannot link: {}", first_line(&e))))?;
    let indices = (|| -> wasmtime::Result<SpiIndices> {
        let lookup = |spi: Spi| spis.contains(spi);
        Ok(SpiIndices {
            instance: lookup(Spi::Instance)
                .then(|| InstanceIndices::new(version, &pre))
                .transpose()?,
            flavor: lookup(Spi::Flavor)
                .then(|| FlavorIndices::new(version, &pre))
                .transpose()?,
            group: lookup(Spi::Group)
                .then(|| GroupIndices::new(version, &pre))
                .transpose()?,
            metadata: MetadataIndices::new(version, &pre)?,
        })
    })()
    .map_err(|e| {
        fail(
            &name,
            format!("exports do not match the WIT: {}", first_line(&e)),
        )
    })?;
    let grants = prepare_grants(&manifest).map_err(|r| fail(&name, r))?;
    let plugin = WasmPlugin::new(PluginParts {
        name: name.as_str().into(),
        spis,
        limits: cx.defaults.with(&manifest.limits),
        pre,
        indices,
        grants,
        config: manifest.config_json().into(),
        kv: cx.kv.clone(),
        router: cx.router.clone(),
        slot_waiters: cx.slot_waiters.clone(),
        policy: cx.quarantine.clone(),
    });
    // Asked once at load, through the sandbox like any call; a plugin that
    // cannot answer loads anyway (its calls will report the fault).
    let vendor = plugin.vendor_info().unwrap_or_else(|e| {
        tracing::warn!(plugin = %name, "vendor-info failed: {e}");
        None
    });
    Ok(Loaded {
        vendor,
        plugin: Arc::new(plugin),
        wit,
        size: bytes.len() as u64,
        load_time: started.elapsed(),
        cache,
    })
}

/// Checks the file is a WebAssembly component, with a precise reason when not.
fn check_format(bytes: &[u8]) -> Result<(), String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err("not a WebAssembly file (no \\0asm header)".into());
    }
    match &bytes[4..8] {
        [1, 0, 0, 0] => Err(
            "a core WebAssembly module, not a component: build it for wasm32-wasip2 \
             (or wrap it with `wasm-tools component new`)"
                .into(),
        ),
        [_, _, 1, 0] => Ok(()),
        v => Err(format!("unknown WebAssembly version/layer {v:?}")),
    }
}

/// Finds the SPIs a component exports and the one WIT version they come from.
fn inspect(engine: &Engine, component: &Component) -> Result<(SpiSet, String, Version), String> {
    let ty = component.component_type();
    let mut spis = SpiSet::default();
    let mut found: Option<(String, Version)> = None;
    for (export, _) in ty.exports(engine) {
        let Some((iface, version)) = parse_interface(export) else {
            continue;
        };
        let Some(v) = Version::of(version) else {
            return Err(unsupported(export, version));
        };
        match &found {
            Some((first, fv)) if *fv != v => {
                return Err(format!(
                    "mixes WIT versions {first} and {version}; a plugin targets one"
                ));
            }
            _ => found = Some((version.to_owned(), v)),
        }
        spis = match iface {
            "instance" => spis.with(Spi::Instance),
            "flavor" => spis.with(Spi::Flavor),
            "group" => spis.with(Spi::Group),
            _ => spis,
        };
    }
    for (import, _) in ty.imports(engine) {
        if let Some((_, version)) = parse_interface(import)
            && Version::of(version).is_none()
        {
            return Err(unsupported(import, version));
        }
    }
    match found {
        Some((wit, version)) if !spis.is_empty() => Ok((spis, wit, version)),
        _ => Err(format!(
            "exports no deploykit SPI (expected {PACKAGE}/instance, /flavor or /group in WIT {})",
            SUPPORTED_WIT.join(", ")
        )),
    }
}

/// `deploykit:plugin/instance@0.1.0` -> `("instance", "0.1.0")`.
fn parse_interface(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    rest.split_once('@')
}

fn unsupported(item: &str, version: &str) -> String {
    format!(
        "built against WIT {PACKAGE}@{version} ({item}); this host supports {}",
        SUPPORTED_WIT.join(", ")
    )
}

/// Checks and prepares the manifest's grants: read-write directories are
/// created when missing, read-only ones must exist.
fn prepare_grants(manifest: &Manifest) -> Result<Grants, String> {
    for grant in &manifest.dirs {
        let host: &PathBuf = &grant.host;
        if !host.is_dir() {
            if grant.mode == DirMode::ReadWrite {
                std::fs::create_dir_all(host).map_err(|e| {
                    format!("cannot create granted directory {}: {e}", host.display())
                })?;
            } else {
                return Err(format!(
                    "granted directory {} does not exist",
                    host.display()
                ));
            }
        }
    }
    Ok(Grants {
        dirs: manifest.dirs.clone(),
        env: manifest
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        http: Arc::new(manifest.http.clone()),
    })
}

/// The first line of an error chain's top message.
fn first_line(e: &wasmtime::Error) -> String {
    let text = format!("{e:#}");
    text.lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_errors_are_specific() {
        assert_eq!(check_format(b"").unwrap_err(), "the file is empty");
        assert!(
            check_format(b"hello world")
                .unwrap_err()
                .starts_with("not a WebAssembly file")
        );
        assert!(
            check_format(b"\0asm\x01\0\0\0")
                .unwrap_err()
                .starts_with("a core WebAssembly module")
        );
        assert!(check_format(b"\0asm\x0d\0\x01\0").is_ok());
    }

    #[test]
    fn interface_names_parse() {
        assert_eq!(
            parse_interface("deploykit:plugin/instance@0.1.0"),
            Some(("instance", "0.1.0"))
        );
        assert_eq!(parse_interface("wasi:cli/stdout@0.2.6"), None);
        assert_eq!(Version::of("0.1.3"), Some(Version::V0_1));
        assert_eq!(Version::of("0.2.0"), Some(Version::V0_2));
        assert_eq!(Version::of("0.3.0"), None);
        assert_eq!(Version::of("1.0.0"), None);
    }
}
