use anyhow::Result;
use deploykit_host::{CacheOutcome, Host, Spec};
use deploykit_tests::PluginFolder;

fn load(folder: &PluginFolder, cache: &std::path::Path) -> Result<Host> {
    Ok(Host::builder()
        .plugin_dir(folder.path())
        .cache_dir(cache)
        .build()?)
}

fn outcome(host: &Host, name: &str) -> Option<CacheOutcome> {
    host.plugins()
        .into_iter()
        .find(|p| p.name == name)
        .and_then(|p| p.cache)
}

fn artifacts(cache: &std::path::Path) -> Result<Vec<std::path::PathBuf>> {
    let mut found: Vec<_> = std::fs::read_dir(cache)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    found.retain(|p| p.extension().is_some_and(|e| e == "cwasm"));
    found.sort();
    Ok(found)
}

#[test]
fn the_second_load_hits_the_cache_and_a_changed_file_misses() -> Result<()> {
    let folder = PluginFolder::new()?;
    let cache = folder.path().join("cache");
    folder.add("misbehave", "p", None)?;
    let first = load(&folder, &cache)?;
    assert_eq!(outcome(&first, "p"), Some(CacheOutcome::Miss));
    assert_eq!(artifacts(&cache)?.len(), 1);
    drop(first);

    let second = load(&folder, &cache)?;
    assert_eq!(outcome(&second, "p"), Some(CacheOutcome::Hit));
    let props = deploykit_host::Json::new(r#"{"act":"ok"}"#)?;
    assert_eq!(
        second.instance("p")?.provision(&Spec {
            properties: Some(props),
            ..Spec::default()
        })?,
        "i-ok"
    );
    drop(second);

    // Another component under the same name is a different key.
    folder.add("instance-file", "p", None)?;
    let third = load(&folder, &cache)?;
    assert_eq!(outcome(&third, "p"), Some(CacheOutcome::Miss));
    assert_eq!(artifacts(&cache)?.len(), 2);
    assert!(
        third
            .instance("p")?
            .validate(&deploykit_host::Json::new("{}")?)
            .is_ok()
    );
    Ok(())
}

#[test]
fn a_tampered_or_truncated_artifact_is_recompiled_not_loaded() -> Result<()> {
    let folder = PluginFolder::new()?;
    let cache = folder.path().join("cache");
    folder.add("misbehave", "p", None)?;
    load(&folder, &cache)?;
    let artifact = artifacts(&cache)?.remove(0);

    let mut bytes = std::fs::read(&artifact)?;
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&artifact, &bytes)?;
    let host = load(&folder, &cache)?;
    assert_eq!(
        outcome(&host, "p"),
        Some(CacheOutcome::Miss),
        "a flipped byte is detected"
    );
    drop(host);
    assert_eq!(
        outcome(&load(&folder, &cache)?, "p"),
        Some(CacheOutcome::Hit),
        "the artifact was rewritten"
    );

    let full = std::fs::read(&artifact)?;
    std::fs::write(&artifact, &full[..full.len() / 3])?;
    let host = load(&folder, &cache)?;
    assert_eq!(
        outcome(&host, "p"),
        Some(CacheOutcome::Miss),
        "a truncated artifact is detected"
    );
    let props = deploykit_host::Json::new(r#"{"act":"ok"}"#)?;
    assert_eq!(
        host.instance("p")?.provision(&Spec {
            properties: Some(props),
            ..Spec::default()
        })?,
        "i-ok"
    );
    Ok(())
}

#[cfg(unix)]
#[test]
fn a_cache_directory_others_can_write_is_refused() -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let folder = PluginFolder::new()?;
    let cache = folder.path().join("shared-cache");
    std::fs::create_dir(&cache)?;
    std::fs::set_permissions(&cache, std::fs::Permissions::from_mode(0o777))?;
    let err = load(&folder, &cache).err().expect("refused").to_string();
    assert!(err.contains("writable by group or others"), "{err}");
    Ok(())
}
