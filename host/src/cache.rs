//! On-disk cache of compiled components, keyed by the `.wasm`'s BLAKE3 hash and the engine's compatibility hash.
//!
//! Deserialising a compiled artifact is `unsafe` in wasmtime: the bytes are
//! trusted to be machine code wasmtime produced. So artifacts are only read
//! from a directory the host created and that no one else can write to, are
//! written atomically and owner-only, and carry a BLAKE3 sidecar that is
//! checked before every load: a tampered or truncated artifact is
//! recompiled, never loaded. BLAKE3 rather than SHA-256 because both hashes
//! sit on every cache-hit load (the `.wasm` for the key, the artifact for
//! the check): BLAKE3 hashes those megabytes about four times faster here.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Whether a load came from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheOutcome {
    /// Loaded from a cached artifact.
    Hit,
    /// Compiled (and the artifact stored).
    Miss,
    /// No cache configured.
    Off,
}

/// A directory of compiled components for one engine configuration.
#[derive(Debug)]
pub(crate) struct ComponentCache {
    dir: PathBuf,
    engine_key: String,
}

impl ComponentCache {
    /// Opens (creating, owner-only) the cache directory; refuses a directory
    /// that someone else owns or can write to.
    pub(crate) fn open(dir: &Path, engine: &Engine) -> Result<ComponentCache, String> {
        create_private_dir(dir)
            .map_err(|e| format!("cannot create cache directory {}: {e}", dir.display()))?;
        check_private(dir)?;
        let mut hasher = StableHasher(blake3::Hasher::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = hasher.0.finalize().to_hex()[..16].to_owned();
        Ok(ComponentCache {
            dir: dir.to_owned(),
            engine_key,
        })
    }

    /// The component for `wasm`: from the cache when a verified artifact is
    /// there, otherwise compiled and stored.
    pub(crate) fn load(
        &self,
        engine: &Engine,
        wasm: &[u8],
    ) -> wasmtime::Result<(Component, CacheOutcome)> {
        let key = blake3::hash(wasm).to_hex();
        let artifact = self.dir.join(format!("{key}-{}.cwasm", self.engine_key));
        let sum = artifact.with_extension("cwasm.b3");
        if let Some(component) = self.try_hit(engine, &artifact, &sum) {
            return Ok((component, CacheOutcome::Hit));
        }
        let component = Component::new(engine, wasm)?;
        if let Err(e) = self.store(&component, &artifact, &sum) {
            tracing::warn!(artifact = %artifact.display(), "cannot write the compiled plugin to the cache: {e}");
        }
        Ok((component, CacheOutcome::Miss))
    }

    fn try_hit(&self, engine: &Engine, artifact: &Path, sum: &Path) -> Option<Component> {
        let expected = std::fs::read_to_string(sum).ok()?;
        let bytes = match std::fs::read(artifact) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(artifact = %artifact.display(), "cached artifact unreadable ({e}); recompiling");
                return None;
            }
        };
        if blake3::hash(&bytes).to_hex().as_str() != expected.trim() {
            tracing::warn!(artifact = %artifact.display(), "cached artifact failed its integrity check; recompiling");
            return None;
        }
        // SAFETY: the artifact was written by this host into a directory only
        // its owner can write (checked at open), and its hash matches the
        // sum written with it, so it is the bytes wasmtime serialised.
        match unsafe { Component::deserialize_file(engine, artifact) } {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(artifact = %artifact.display(), "cached artifact rejected ({e}); recompiling");
                None
            }
        }
    }

    fn store(&self, component: &Component, artifact: &Path, sum: &Path) -> std::io::Result<()> {
        let bytes = component.serialize().map_err(std::io::Error::other)?;
        write_private_atomically(artifact, &bytes)?;
        write_private_atomically(sum, blake3::hash(&bytes).to_hex().as_bytes())
    }
}

/// Feeds `Hash` output into BLAKE3, for a hash that is stable across runs.
struct StableHasher(blake3::Hasher);

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        unreachable!("only the digest is read")
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// Writes `bytes` to a temporary owner-only file beside `path`, then renames it over `path`.
fn write_private_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Refuses a cache directory another user owns or may write to.
#[cfg(unix)]
fn check_private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(dir)
        .map_err(|e| format!("cannot inspect cache directory {}: {e}", dir.display()))?;
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        return Err(format!(
            "cache directory {} is owned by uid {}, not by this user ({me}); refusing to load artifacts from it",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "cache directory {} is writable by group or others (mode {:o}); refusing to load artifacts from it",
            dir.display(),
            meta.mode() & 0o777
        ));
    }
    Ok(())
}

/// Windows: the directory is created under the user's own state directory.
#[cfg(not(unix))]
fn check_private(_dir: &Path) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_shared_directory_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("deploykit-cache-test-{}", std::process::id()));
        create_private_dir(&dir).unwrap();
        assert!(check_private(&dir).is_ok());
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_private(&dir).unwrap_err();
        assert!(err.contains("writable by group or others"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writes_are_atomic_and_private() {
        let dir =
            std::env::temp_dir().join(format!("deploykit-cache-write-{}", std::process::id()));
        create_private_dir(&dir).unwrap();
        let path = dir.join("a.cwasm");
        write_private_atomically(&path, b"one").unwrap();
        write_private_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file left"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
