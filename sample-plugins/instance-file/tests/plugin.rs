//! The file instance plugin against a temporary directory, natively.

use std::fs;

use deploykit_sdk::{DestroyReason, Error, InstancePlugin, Json, Spec, Tags, testing};
use instance_file::FileInstances;
use tempfile::TempDir;

/// A temporary instance directory, configured as the plugin's `dir`.
fn setup() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = serde_json::json!({ "dir": dir.path().to_str().unwrap() });
    testing::set_config(config.to_string());
    dir
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sample_spec() -> Spec {
    serde_json::from_str(
        r#"{"Properties":{"note":"hello"},"Tags":{"infrakit.group":"demo","tier":"web"},"Init":"echo hi","LogicalID":"node-1","Attachments":[{"ID":"vol-1","Type":"disk"}]}"#,
    )
    .unwrap()
}

#[test]
fn provision_writes_an_infrakit_record() {
    let dir = setup();
    let id = FileInstances.provision(sample_spec()).unwrap();
    assert!(id.starts_with("instance-"), "{id}");
    let text = fs::read_to_string(dir.path().join(&id)).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        stored,
        serde_json::json!({
            "ID": id,
            "LogicalID": "node-1",
            "Tags": {"infrakit.group": "demo", "tier": "web"},
            "Spec": serde_json::from_str::<serde_json::Value>(&serde_json::to_string(&sample_spec()).unwrap()).unwrap(),
        })
    );
}

#[test]
fn describe_filters_by_tags_and_returns_the_spec_as_properties() {
    let _dir = setup();
    let web = FileInstances.provision(sample_spec()).unwrap();
    let mut db_spec = sample_spec();
    db_spec.tags = tags(&[("tier", "db")]);
    db_spec.logical_id = None;
    let db = FileInstances.provision(db_spec).unwrap();

    let all = FileInstances
        .describe_instances(&Tags::new(), false)
        .unwrap();
    let mut ids = vec![web.clone(), db.clone()];
    ids.sort();
    assert_eq!(all.iter().map(|d| d.id.clone()).collect::<Vec<_>>(), ids);
    assert!(all.iter().all(|d| d.properties.is_none()));

    let found = FileInstances
        .describe_instances(&tags(&[("tier", "web")]), true)
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, web);
    assert_eq!(found[0].logical_id.as_deref(), Some("node-1"));
    assert_eq!(
        serde_json::to_string(&found[0]).unwrap(),
        format!(
            r#"{{"ID":"{web}","LogicalID":"node-1","Tags":{{"infrakit.group":"demo","tier":"web"}},"Properties":{}}}"#,
            serde_json::to_string(&sample_spec()).unwrap()
        )
    );

    let none = FileInstances
        .describe_instances(&tags(&[("tier", "web"), ("x", "y")]), false)
        .unwrap();
    assert!(none.is_empty());
}

#[test]
fn logical_id_comes_from_the_tag_when_unset() {
    let _dir = setup();
    let spec = Spec {
        tags: tags(&[("infrakit.logical_id", "10.0.0.3")]),
        ..Spec::default()
    };
    FileInstances.provision(spec).unwrap();
    let found = FileInstances
        .describe_instances(&Tags::new(), false)
        .unwrap();
    assert_eq!(found[0].logical_id.as_deref(), Some("10.0.0.3"));
}

#[test]
fn label_merges_tags() {
    let _dir = setup();
    let id = FileInstances.provision(sample_spec()).unwrap();
    FileInstances
        .label(&id, tags(&[("owner", "me"), ("tier", "api")]))
        .unwrap();
    let found = FileInstances
        .describe_instances(&tags(&[("owner", "me")]), false)
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].tags,
        tags(&[("infrakit.group", "demo"), ("owner", "me"), ("tier", "api")])
    );
    let err = FileInstances.label("instance-1", Tags::new()).unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
}

#[test]
fn destroy_deletes_and_then_reports_not_found() {
    let dir = setup();
    let id = FileInstances.provision(sample_spec()).unwrap();
    FileInstances
        .destroy(&id, DestroyReason::Terminate)
        .unwrap();
    assert!(!dir.path().join(&id).exists());
    let err = FileInstances
        .destroy(&id, DestroyReason::Terminate)
        .unwrap_err();
    let expected = format!(
        "remove {}/{id}: no such file or directory",
        dir.path().display()
    );
    assert_eq!(err, Error::NotFound(expected));
}

#[test]
fn ids_that_escape_the_directory_are_refused() {
    let _dir = setup();
    for bad in ["../etc", "a/b", "..", ""] {
        assert!(matches!(
            FileInstances.destroy(bad, DestroyReason::Terminate),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            FileInstances.label(bad, Tags::new()),
            Err(Error::InvalidInput(_))
        ));
    }
}

#[test]
fn files_that_are_not_records_are_skipped() {
    let dir = setup();
    fs::write(dir.path().join("notes.txt"), "not json").unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    let id = FileInstances.provision(Spec::default()).unwrap();
    let found = FileInstances
        .describe_instances(&Tags::new(), false)
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, id);
}

#[test]
fn a_missing_directory_is_unavailable() {
    let dir = setup();
    let gone = dir.path().join("gone");
    testing::set_config(serde_json::json!({ "dir": gone }).to_string());
    assert!(matches!(
        FileInstances.describe_instances(&Tags::new(), false),
        Err(Error::Unavailable(_))
    ));
    assert!(matches!(
        FileInstances.provision(Spec::default()),
        Err(Error::Unavailable(_))
    ));
}

#[test]
fn validate_wants_an_object() {
    assert_eq!(
        FileInstances.validate(&Json::new("[1]").unwrap()),
        Err(Error::InvalidInput(
            "properties must be a JSON object, not an array".into()
        ))
    );
    FileInstances
        .validate(&Json::new(r#"{"note":"hello"}"#).unwrap())
        .unwrap();
    FileInstances.validate(&Json::null()).unwrap();
    for bad in ["[]", "3", r#""x""#] {
        let err = FileInstances
            .validate(&Json::new(bad).unwrap())
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)), "{bad}: {err:?}");
    }
}

#[test]
fn the_default_directory_is_instances() {
    testing::set_config("{}");
    let err = FileInstances
        .destroy("instance-1", DestroyReason::Terminate)
        .unwrap_err();
    assert!(
        err.message().starts_with("remove /instances/instance-1: "),
        "{err:?}"
    );
}
