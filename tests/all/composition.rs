use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use deploykit_host::{
    Allocation, Error, GroupOptions, Host, Index, Json, MemoryKv, PluginError, Spec, Tags,
};
use deploykit_tests::groups::{POLL, spec, start_controller, wait_for};
use deploykit_tests::{PluginFolder, no_quarantine};

fn host(folder: &PluginFolder, kv: Arc<MemoryKv>) -> Result<Host> {
    Ok(Host::builder()
        .plugin_dir(folder.path())
        .quarantine(no_quarantine())
        .kv_store(kv)
        .build()?)
}

#[test]
fn combo_runs_the_flavors_it_lists_through_the_host() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    let host = host(&folder, Arc::default())?;
    let combo = host.flavor("flavor-combo")?;
    let props = Json::new(
        r#"[{"Plugin":"flavor-vanilla","Properties":{"Init":["echo a"],"Tags":{"tier":"web","x":"1"}}},
            {"Plugin":"flavor-vanilla","Properties":{"Init":["echo b"],"Tags":{"tier":"db"},"Attachments":[{"ID":"v","Type":"ebs"}]}}]"#,
    )?;
    combo.validate(&props, &Allocation::default())?;
    let spec = Spec {
        init: "echo base".into(),
        ..Spec::default()
    };
    let out = combo.prepare(&props, &spec, &Allocation::default(), &Index::default())?;
    assert_eq!(out.init, "echo base\necho a\necho b");
    assert_eq!(out.tags["tier"], "db", "later flavors win");
    assert_eq!(out.tags["x"], "1");
    assert_eq!(out.attachments.len(), 1);
    let missing = Json::new(r#"[{"Plugin":"nope"}]"#)?;
    let err = combo
        .validate(&missing, &Allocation::default())
        .unwrap_err();
    assert!(
        matches!(&err, Error::Plugin { source: PluginError::NotFound(m), .. } if m.contains("unknown plugin 'nope'")),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_plugin_calling_itself_forever_is_stopped_by_the_depth_limit() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    let host = host(&folder, Arc::default())?;
    // combo lists itself with the same properties: an endless chain.
    let props = r#"[{"Plugin":"flavor-combo","Properties":"SELF"}]"#;
    let mut nested = String::from(r#"[{"Plugin":"flavor-vanilla"}]"#);
    for _ in 0..12 {
        nested = props.replace("\"SELF\"", &nested);
    }
    let started = Instant::now();
    let err = host
        .flavor("flavor-combo")?
        .validate(&Json::new(nested)?, &Allocation::default())
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("nested deeper than 8"), "{text}");
    assert!(text.contains("flavor-combo -> flavor-combo"), "{text}");
    assert!(started.elapsed().as_secs() < 5);
    // The host is fine afterwards.
    host.flavor("flavor-combo")?.validate(
        &Json::new(r#"[{"Plugin":"flavor-vanilla"}]"#)?,
        &Allocation::default(),
    )?;
    Ok(())
}

#[test]
fn simulator_instances_live_in_the_hosts_kv_store() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    let kv = Arc::new(MemoryKv::default());
    let first = host(&folder, kv.clone())?;
    let spec = Spec {
        properties: Some(Json::new(r#"{"Type":"disk"}"#)?),
        tags: [("app".to_owned(), "x".to_owned())].into(),
        ..Spec::default()
    };
    let id = first.instance("instance-simulator")?.provision(&spec)?;
    assert!(id.starts_with("disk-"));
    drop(first);
    // A new host over the same store still sees it.
    let second = host(&folder, kv)?;
    let sim = second.instance("instance-simulator")?;
    let found = sim.describe_instances(&[("app".to_owned(), "x".to_owned())].into(), false)?;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].tags["simulator"], "disk");
    sim.destroy(&id, Default::default())?;
    assert!(sim.describe_instances(&Tags::new(), false)?.is_empty());
    let bad = sim.validate(&Json::new(r#"{"Type":"gpu"}"#)?).unwrap_err();
    assert!(matches!(
        bad,
        Error::Plugin {
            source: PluginError::InvalidInput(_),
            ..
        }
    ));
    Ok(())
}

#[test]
fn a_group_of_50_converges_on_the_wasm_simulator() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    let host = host(&folder, Arc::default())?;
    let state = folder.path().join("state");
    let controller = start_controller(&host, &state, GroupOptions::default().poll_interval(POLL))?;
    let group = host.group("group")?;
    let started = Instant::now();
    group.commit_group(
        &spec(
            "sims",
            r#"{"Allocation":{"Size":50},"Instance":{"Plugin":"instance-simulator","Properties":{"Type":"compute"}},"Flavor":{"Plugin":"flavor-vanilla","Properties":{"Init":["echo sim"]}}}"#,
        ),
        false,
    )?;
    wait_for("50 simulated instances", || {
        group
            .describe_group("sims")
            .map(|d| d.converged)
            .unwrap_or(false)
    })?;
    let took = started.elapsed();
    let members = group.describe_group("sims")?.instances;
    assert_eq!(members.len(), 50);
    assert!(
        members
            .iter()
            .all(|m| m.tags["simulator"] == "compute" && m.tags["infrakit.group"] == "sims")
    );
    eprintln!("a group of 50 on instance-simulator converged in {took:?}");
    group.destroy_group("sims")?;
    assert!(
        host.instance("instance-simulator")?
            .describe_instances(&Tags::new(), false)?
            .is_empty()
    );
    controller.shutdown();
    Ok(())
}

#[test]
fn a_nested_call_ends_at_its_callers_deadline() -> Result<()> {
    let folder = PluginFolder::new()?;
    folder.add(
        "misbehave",
        "caller",
        Some("[limits]\ndeadline = \"200ms\"\n"),
    )?;
    folder.add("misbehave", "callee", None)?;
    let host = host(&folder, Arc::default())?;
    let props = serde_json::json!({"act": "call-instance", "plugin": "callee", "props": {"act": "sleep", "ms": 10_000}});
    let spec = Spec {
        properties: Some(Json::new(props.to_string())?),
        ..Spec::default()
    };
    let started = Instant::now();
    let err = host.instance("caller")?.provision(&spec).unwrap_err();
    let took = started.elapsed();
    // The callee has a 10 s deadline of its own, but runs inside the caller's 200 ms.
    assert!(
        took < std::time::Duration::from_secs(2),
        "took {took:?}: {err}"
    );
    assert!(err.to_string().contains("deadline"), "{err}");
    let ok =
        serde_json::json!({"act": "call-instance", "plugin": "callee", "props": {"act": "ok"}});
    let spec = Spec {
        properties: Some(Json::new(ok.to_string())?),
        ..Spec::default()
    };
    assert_eq!(host.instance("caller")?.provision(&spec)?, "i-ok");
    Ok(())
}
