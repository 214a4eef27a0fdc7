use std::sync::Arc;

use anyhow::Result;
use deploykit_host::{Error, Host, Json, MemoryKv, PluginError, PluginState, Spec, Tags};
use deploykit_tests::{PluginFolder, host};
use serde_json::json;

#[test]
fn plugins_of_wit_0_1_and_0_2_work_side_by_side() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    folder.add("legacy-v0_1", "legacy", None)?;
    let host = host(&folder)?;
    let wit = |name: &str| {
        host.plugins()
            .into_iter()
            .find(|p| p.name == name)
            .and_then(|p| p.wit)
    };
    assert_eq!(wit("legacy").as_deref(), Some("0.1.0"));
    assert_eq!(wit("instance-file").as_deref(), Some("0.2.0"));

    // The 0.1.0 plugin works unchanged through the same traits…
    let legacy = host.instance("legacy")?;
    let tags: Tags = [("a".to_owned(), "1".to_owned())].into();
    assert_eq!(
        legacy.provision(&Spec {
            tags,
            ..Spec::default()
        })?,
        "legacy-1"
    );
    assert_eq!(
        legacy.describe_instances(&Tags::new(), false)?[0].tags["wit"],
        "0.1.0"
    );
    assert!(matches!(
        legacy.destroy("x", Default::default()),
        Err(Error::Plugin {
            source: PluginError::NotFound(_),
            ..
        })
    ));
    // …and the calls it predates get their defaults.
    assert_eq!(legacy.example_properties()?, None);
    let info = host
        .plugins()
        .into_iter()
        .find(|p| p.name == "legacy")
        .unwrap();
    assert_eq!(info.vendor, None);

    // The 0.2.0 plugins answer the new calls.
    let files = host.instance("instance-file")?;
    let example = files
        .example_properties()?
        .expect("instance-file has example properties");
    assert!(example.as_str().contains("note"));
    let info = host
        .plugins()
        .into_iter()
        .find(|p| p.name == "instance-file")
        .unwrap();
    assert_eq!(
        info.vendor.expect("vendor info").name,
        "deploykit-instance-file"
    );
    let vanilla = host.flavor("flavor-vanilla")?;
    assert!(
        vanilla
            .example_properties()?
            .unwrap()
            .as_str()
            .contains("Init")
    );
    Ok(())
}

#[test]
fn an_unsupported_wit_version_is_refused_naming_the_supported_ones() -> Result<()> {
    let folder = PluginFolder::new()?;
    folder.add("future-v0_3", "future", None)?;
    let host = host(&folder)?;
    let info = &host.plugins()[0];
    assert_eq!(info.state, PluginState::Failed);
    let error = info.error.as_deref().unwrap();
    assert!(
        error.starts_with("built against WIT deploykit:plugin@0.3.0"),
        "{error}"
    );
    assert!(
        error.ends_with("this host supports 0.1.x, 0.2.x"),
        "{error}"
    );
    Ok(())
}

fn kv_act(host: &Host, plugin: &str, props: serde_json::Value) -> deploykit_host::Result<String> {
    let spec = Spec {
        properties: Some(Json::new(props.to_string()).unwrap()),
        ..Spec::default()
    };
    host.instance(plugin)?.provision(&spec)
}

#[test]
fn each_plugin_has_its_own_kv_namespace() -> Result<()> {
    let folder = PluginFolder::new()?;
    folder.add("misbehave", "one", None)?;
    folder.add("misbehave", "two", None)?;
    let host = Host::builder()
        .plugin_dir(folder.path())
        .kv_store(Arc::new(MemoryKv::default()))
        .build()?;
    assert_eq!(
        kv_act(
            &host,
            "one",
            json!({"act": "kv-set", "key": "k", "value": "from one"})
        )?,
        "stored"
    );
    assert_eq!(
        kv_act(&host, "one", json!({"act": "kv-get", "key": "k"}))?,
        "from one"
    );
    let other = kv_act(&host, "two", json!({"act": "kv-get", "key": "k"}));
    assert!(
        matches!(
            other,
            Err(Error::Plugin {
                source: PluginError::NotFound(_),
                ..
            })
        ),
        "{other:?}"
    );

    let no_store = Host::builder().plugin_dir(folder.path()).build()?;
    let err = kv_act(&no_store, "one", json!({"act": "kv-get", "key": "k"})).unwrap_err();
    assert!(
        matches!(&err, Error::Plugin { source: PluginError::Unavailable(m), .. } if m.contains("no state store")),
        "{err}"
    );
    Ok(())
}
