use anyhow::Result;
use deploykit_host::{Error, PluginState, Spi};
use deploykit_tests::{PluginFolder, host};

#[test]
fn bad_files_are_reported_by_name_and_the_rest_load() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    folder.add_bytes(
        "corrupt",
        b"\0asm\x0d\0\x01\0garbage that is not a component",
    )?;
    folder.add_bytes("empty", b"")?;
    folder.add_bytes("core", b"\0asm\x01\0\0\0")?;
    folder.add_bytes("text", b"hello, I am not wasm")?;
    let host = host(&folder)?;
    let plugins = host.plugins();
    let by = |n: &str| {
        plugins
            .iter()
            .find(|p| p.name == n)
            .unwrap_or_else(|| panic!("{n} listed"))
    };
    assert_eq!(by("instance-file").state, PluginState::Loaded);
    assert_eq!(by("flavor-vanilla").state, PluginState::Loaded);
    for (name, reason) in [
        ("corrupt", "not a valid component"),
        ("empty", "the file is empty"),
        ("core", "a core WebAssembly module, not a component"),
        ("text", "not a WebAssembly file"),
    ] {
        let p = by(name);
        assert_eq!(p.state, PluginState::Failed, "{name}");
        assert!(p.path.as_ref().unwrap().ends_with(format!("{name}.wasm")));
        let error = p.error.as_deref().unwrap();
        assert!(error.starts_with(reason), "{name}: {error}");
        let call = host.instance(name).err().unwrap().to_string();
        assert!(
            call.contains(&format!("{name}.wasm")) && call.contains(reason),
            "{call}"
        );
    }
    Ok(())
}

#[test]
fn spis_come_from_the_component_type() -> Result<()> {
    let folder = PluginFolder::new()?;
    // A flavor plugin under a name that suggests an instance plugin.
    folder.add("flavor-vanilla", "instance-lookalike", None)?;
    let host = host(&folder)?;
    assert_eq!(host.plugins()[0].spis, vec![Spi::Flavor]);
    assert_eq!(host.plugins()[0].wit.as_deref(), Some("0.2.0"));
    let err = host.instance("instance-lookalike").err().unwrap();
    assert!(matches!(
        err,
        Error::MissingSpi {
            spi: Spi::Instance,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "plugin 'instance-lookalike' does not implement the instance SPI"
    );
    assert!(host.flavor("instance-lookalike").is_ok());
    Ok(())
}

#[test]
fn unknown_plugin_is_a_clear_error() -> Result<()> {
    let folder = PluginFolder::new()?;
    let host = host(&folder)?;
    assert_eq!(
        host.instance("nope").err().unwrap().to_string(),
        "unknown plugin 'nope'"
    );
    Ok(())
}

#[test]
fn manifest_names_the_plugin_and_bad_manifests_fail_that_plugin_only() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    folder.add("misbehave", "x", Some("name = \"renamed\"\n"))?;
    folder.add("misbehave", "y", Some("[limits]\nfule = 1\n"))?;
    let host = host(&folder)?;
    assert!(host.instance("renamed").is_ok());
    let y = host.plugins().into_iter().find(|p| p.name == "y").unwrap();
    assert!(y.error.unwrap().contains("unknown field `fule`"));
    assert!(host.instance("instance-file").is_ok());
    Ok(())
}

#[test]
fn check_file_loads_without_registering() -> Result<()> {
    let folder = PluginFolder::new()?;
    let path = folder.add("instance-file", "instance-file", None)?;
    let host = deploykit_host::Host::builder().build()?;
    let info = host.check_file(&path)?;
    assert_eq!(info.spis, vec![Spi::Instance]);
    assert!(host.plugins().is_empty());
    Ok(())
}
