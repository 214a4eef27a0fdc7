use anyhow::Result;
use deploykit_host::wire::{call_flavor, call_instance};
use deploykit_host::{DestroyReason, Error, Health, Json, PluginError, Spec, Tags};
use deploykit_tests::samples;
use serde_json::{Value, json};

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn instance_file_provisions_describes_labels_and_destroys() -> Result<()> {
    let (folder, host) = samples()?;
    let files = host.instance("instance-file")?;
    files.validate(&Json::new(r#"{"note":"x"}"#)?)?;
    let spec = Spec {
        properties: Some(Json::new(r#"{"note":"hello"}"#)?),
        tags: tags(&[("tier", "web"), ("infrakit.group", "demo")]),
        init: "echo hi".into(),
        logical_id: Some("node-1".into()),
        ..Spec::default()
    };
    let a = files.provision(&spec)?;
    let b = files.provision(&Spec {
        tags: tags(&[("tier", "db")]),
        ..Spec::default()
    })?;
    assert!(a.starts_with("instance-") && a != b);
    assert!(
        folder.path().join("instances").join(&a).is_file(),
        "one file per instance"
    );

    let web = files.describe_instances(&tags(&[("tier", "web")]), false)?;
    assert_eq!(web.len(), 1);
    assert_eq!(web[0].id, a);
    assert_eq!(web[0].logical_id.as_deref(), Some("node-1"));
    assert!(web[0].properties.is_none(), "properties only when asked");
    assert_eq!(
        files.describe_instances(&Tags::new(), false)?.len(),
        2,
        "no filter matches all"
    );
    assert!(
        files
            .describe_instances(
                &tags(&[("tier", "web"), ("infrakit.group", "other")]),
                false
            )?
            .is_empty(),
        "AND filter"
    );

    let with_props = files.describe_instances(&tags(&[("tier", "web")]), true)?;
    let stored: Value = serde_json::from_str(with_props[0].properties.as_ref().unwrap().as_str())?;
    assert_eq!(stored["Properties"], json!({"note": "hello"}));
    assert_eq!(stored["Init"], "echo hi");

    files.label(&a, &tags(&[("owner", "me"), ("tier", "edge")]))?;
    let labelled = files.describe_instances(&tags(&[("owner", "me")]), false)?;
    assert_eq!(
        labelled[0].tags,
        tags(&[
            ("infrakit.group", "demo"),
            ("owner", "me"),
            ("tier", "edge")
        ])
    );

    files.destroy(&a, DestroyReason::Terminate)?;
    assert_eq!(files.describe_instances(&Tags::new(), false)?.len(), 1);
    match files.destroy(&a, DestroyReason::Terminate) {
        Err(Error::Plugin {
            source: PluginError::NotFound(m),
            ..
        }) => assert!(m.contains("no such file"), "{m}"),
        other => panic!("expected not-found, got {other:?}"),
    }
    Ok(())
}

#[test]
fn instance_file_rejects_non_object_properties() -> Result<()> {
    let (_folder, host) = samples()?;
    let err = host
        .instance("instance-file")?
        .validate(&Json::new("[1,2]")?)
        .unwrap_err();
    assert!(
        matches!(err.plugin_error(), Some(PluginError::InvalidInput(_))),
        "{err}"
    );
    Ok(())
}

#[test]
fn flavor_vanilla_prepares_validates_and_judges_health() -> Result<()> {
    let (_folder, host) = samples()?;
    let vanilla = host.flavor("flavor-vanilla")?;
    let props = Json::new(
        r#"{"Init":["echo a"],"Tags":{"tier":"web"},"Attachments":[{"ID":"a1","Type":"ebs"}]}"#,
    )?;
    let spec = Spec {
        init: "echo base".into(),
        tags: tags(&[("tier", "db"), ("x", "1")]),
        ..Spec::default()
    };
    let prepared = vanilla.prepare(&props, &spec, &Default::default(), &Default::default())?;
    assert_eq!(prepared.init, "echo base\necho a");
    assert_eq!(
        prepared.tags,
        tags(&[("tier", "web"), ("x", "1")]),
        "flavor tags win"
    );
    assert_eq!(prepared.attachments.len(), 1);
    vanilla.validate(&props, &Default::default())?;
    let both = Json::new(r#"{"Init":["a"],"InitScriptTemplateURL":"http://x"}"#)?;
    let err = vanilla.validate(&both, &Default::default()).unwrap_err();
    assert!(
        matches!(err.plugin_error(), Some(PluginError::InvalidInput(_))),
        "{err}"
    );
    let d = deploykit_host::Description {
        id: "i-1".into(),
        ..Default::default()
    };
    assert_eq!(vanilla.healthy(&props, &d)?, Health::Healthy);
    vanilla.drain(&props, &d)?;
    Ok(())
}

/// The instance wire samples of InfraKit's `file` plugin (spec §4.1), replayed.
#[test]
fn instance_wire_samples_give_infrakit_results() -> Result<()> {
    let (_folder, host) = samples()?;
    let files = host.instance("instance-file")?;
    let f = files.as_ref();
    assert_eq!(
        call_instance(f, "Validate", r#"{"Properties":{"note":"hello"}}"#)?,
        r#"{"Type":"","OK":true}"#
    );
    assert_eq!(
        call_instance(f, "DescribeInstances", "{}")?,
        r#"{"Type":"","Descriptions":[]}"#
    );
    let provision = r#"{"Type":"","Spec":{"Properties":{"note":"hello"},"Tags":{"infrakit.group":"demo","tier":"web"},"Init":"echo hi","LogicalID":"node-1","Attachments":[{"ID":"vol-1","Type":"disk"}]}}"#;
    let result: Value = serde_json::from_str(&call_instance(f, "Provision", provision)?)?;
    let id = result["ID"].as_str().unwrap().to_owned();
    assert_eq!(result["Type"], "");
    assert!(
        id.strip_prefix("instance-")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            < 1 << 63
    );

    let described = call_instance(
        f,
        "DescribeInstances",
        r#"{"Tags":{"tier":"web"},"Properties":true}"#,
    )?;
    let expected = format!(
        r#"{{"Type":"","Descriptions":[{{"ID":"{id}","LogicalID":"node-1","Tags":{{"infrakit.group":"demo","tier":"web"}},"Properties":{{"Properties":{{"note":"hello"}},"Tags":{{"infrakit.group":"demo","tier":"web"}},"Init":"echo hi","LogicalID":"node-1","Attachments":[{{"ID":"vol-1","Type":"disk"}}]}}}}]}}"#
    );
    assert_eq!(
        serde_json::from_str::<Value>(&described)?,
        serde_json::from_str::<Value>(&expected)?
    );

    let label = format!(r#"{{"Instance":"{id}","Labels":{{"owner":"me"}}}}"#);
    assert_eq!(
        call_instance(f, "Label", &label)?,
        r#"{"Type":"","OK":true}"#
    );
    let destroy = format!(r#"{{"Instance":"{id}","Context":{{"Reason":"terminate"}}}}"#);
    assert_eq!(
        call_instance(f, "Destroy", &destroy)?,
        r#"{"Type":"","OK":true}"#
    );
    let again = call_instance(f, "Destroy", &destroy)
        .unwrap_err()
        .to_string();
    assert!(
        again.ends_with(&format!(
            "remove /instances/{id}: no such file or directory"
        )),
        "{again}"
    );
    // Reading a missing file through deploykit_sdk::fs is `not found` too.
    let gone = call_instance(f, "Label", &label).unwrap_err().to_string();
    assert!(
        gone.ends_with(&format!("open /instances/{id}: no such file or directory")),
        "{gone}"
    );
    Ok(())
}

/// The flavor wire samples of InfraKit's `vanilla` plugin (spec §4.1), replayed.
#[test]
fn flavor_wire_samples_give_infrakit_results() -> Result<()> {
    let (_folder, host) = samples()?;
    let vanilla = host.flavor("flavor-vanilla")?;
    let v = vanilla.as_ref();
    let prepare = r#"{"Properties":{"Init":["echo a","echo b"],"Tags":{"tier":"web"},"Attachments":[{"ID":"a1","Type":"ebs"}]},"Spec":{"Properties":{"x":1},"Tags":{"infrakit.group":"g"},"Init":"echo base"},"Allocation":{"Size":2},"Index":{"Group":"g","Sequence":0}}"#;
    assert_eq!(
        call_flavor(v, "Prepare", prepare)?,
        r#"{"Type":"","Spec":{"Properties":{"x":1},"Tags":{"infrakit.group":"g","tier":"web"},"Init":"echo base\necho a\necho b","LogicalID":null,"Attachments":[{"ID":"a1","Type":"ebs"}]}}"#
    );
    let healthy = r#"{"Properties":{},"Instance":{"ID":"i-1","LogicalID":null,"Tags":{}}}"#;
    assert_eq!(
        call_flavor(v, "Healthy", healthy)?,
        r#"{"Type":"","Health":1}"#
    );
    let validate =
        r#"{"Properties":{"Init":["echo a"],"Tags":{"tier":"web"}},"Allocation":{"Size":2}}"#;
    assert_eq!(
        call_flavor(v, "Validate", validate)?,
        r#"{"Type":"","OK":true}"#
    );
    assert_eq!(
        call_flavor(v, "Drain", healthy)?,
        r#"{"Type":"","OK":true}"#
    );
    Ok(())
}

#[test]
fn malformed_params_are_a_clear_error() -> Result<()> {
    let (_folder, host) = samples()?;
    let files = host.instance("instance-file")?;
    let err = call_instance(files.as_ref(), "Provision", r#"{"Spec":{"Tags":[1]}}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("invalid params for Instance.Provision: Spec.Tags"),
        "{err}"
    );
    let err = call_instance(files.as_ref(), "Nope", "{}")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "unknown method Instance.Nope");
    Ok(())
}
