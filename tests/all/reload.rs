use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::Result;
use deploykit_host::{Host, Json, PluginState, Spec};
use deploykit_tests::groups::wait_for;
use deploykit_tests::{PluginFolder, host};

fn ok_spec() -> Spec {
    Spec {
        properties: Some(Json::new(r#"{"act":"ok"}"#).unwrap()),
        ..Spec::default()
    }
}

/// `misbehave` answers `i-ok`; `legacy-v0_1` answers `legacy-0`: two versions of plugin `p`.
fn version(host: &Host) -> deploykit_host::Result<String> {
    host.instance("p")?.provision(&ok_spec())
}

#[test]
fn swapping_a_plugin_20_times_under_load_fails_no_call() -> Result<()> {
    let folder = PluginFolder::new()?;
    let path = folder.add("misbehave", "p", None)?;
    let host = host(&folder)?;
    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let caller = {
        let (host, stop, calls) = (host.clone(), stop.clone(), calls.clone());
        std::thread::spawn(move || -> Result<(), String> {
            while !stop.load(Ordering::Relaxed) {
                let v = version(&host).map_err(|e| e.to_string())?;
                if v != "i-ok" && v != "legacy-0" {
                    return Err(format!("unexpected answer {v}"));
                }
                calls.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
    };
    for swap in 0..20 {
        let (package, expected) = if swap % 2 == 0 {
            ("legacy-v0_1", "legacy-0")
        } else {
            ("misbehave", "i-ok")
        };
        std::fs::copy(xtask::wasm_path(package), &path)?;
        host.load_file(&path)?;
        assert_eq!(
            version(&host)?,
            expected,
            "swap {swap}: calls after the swap see the new version"
        );
    }
    stop.store(true, Ordering::Relaxed);
    caller
        .join()
        .expect("caller thread")
        .map_err(anyhow::Error::msg)?;
    assert!(
        calls.load(Ordering::Relaxed) > 20,
        "the caller kept calling"
    );
    Ok(())
}

#[test]
fn the_watcher_loads_swaps_and_unloads_and_keeps_the_old_version_on_a_broken_upgrade() -> Result<()>
{
    let folder = PluginFolder::new()?;
    let host = host(&folder)?;
    let _watcher = host.watch(folder.path())?;
    let state = |name: &str| {
        host.plugins()
            .into_iter()
            .find(|p| p.name == name)
            .map(|p| p.state)
    };

    // A new file loads.
    let path = folder.add("misbehave", "p", None)?;
    wait_for("p to load", || version(&host).is_ok_and(|v| v == "i-ok"))?;

    // A changed file is swapped in.
    std::fs::copy(xtask::wasm_path("legacy-v0_1"), &path)?;
    wait_for("the new version", || {
        version(&host).is_ok_and(|v| v == "legacy-0")
    })?;

    // A broken upgrade leaves the old version serving.
    std::fs::write(&path, b"\0asm\x0d\0\x01\0 broken")?;
    std::thread::sleep(deploykit_host::SETTLE * 3);
    assert_eq!(version(&host)?, "legacy-0");
    assert_eq!(state("p"), Some(PluginState::Loaded));

    // A file written in pieces is loaded once complete, not half-written.
    let bytes = std::fs::read(xtask::wasm_path("misbehave"))?;
    std::fs::write(&path, &bytes[..bytes.len() / 2])?;
    std::thread::sleep(deploykit_host::SETTLE / 3);
    std::fs::write(&path, &bytes)?;
    wait_for("the complete file", || {
        version(&host).is_ok_and(|v| v == "i-ok")
    })?;

    // A manifest change reloads the plugin (here it renames it).
    std::fs::write(path.with_extension("toml"), "name = \"renamed\"\n")?;
    wait_for("the rename", || {
        state("renamed") == Some(PluginState::Loaded) && state("p").is_none()
    })?;

    // A deleted file unloads.
    std::fs::remove_file(&path)?;
    wait_for("the unload", || state("renamed").is_none())?;
    Ok(())
}
