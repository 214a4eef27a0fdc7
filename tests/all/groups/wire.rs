//! InfraKit's Group params and results through `wire::call_group`, and a group on the real wasm samples.

use anyhow::Result;
use deploykit_host::{CONFIG_HASH_TAG, GROUP_TAG, GroupOptions, Tags, wire::call_group};
use deploykit_tests::groups::{GroupFixture, spec, start_controller, wait_for};
use serde_json::{Value, json};

#[test]
fn group_wire_calls_match_infrakit() -> Result<()> {
    let f = GroupFixture::new()?;
    f.sim.register(&f.host, "file", "vanilla");
    let group = f.group()?;
    let call = |method: &str, params: Value| -> String {
        match call_group(group.as_ref(), method, &params.to_string()) {
            Ok(result) => result,
            Err(e) => e.to_string(),
        }
    };
    assert_eq!(
        call("InspectGroups", json!({})),
        r#"{"Name":"","ID":"","Groups":null}"#
    );
    assert_eq!(call("CommitGroup", json!({})), "Group ID must not be blank");
    let workers = json!({"ID": "workers", "Properties": {
        "Instance": {"Plugin": "file", "Properties": {"note": "v1"}},
        "Flavor": {"Plugin": "vanilla", "Properties": {"Init": ["echo hello"], "Tags": {"tier": "web"}}},
        "Allocation": {"Size": 2}}});
    assert_eq!(
        call(
            "CommitGroup",
            json!({"Name": "group-stateless", "Spec": workers, "Pretend": false})
        ),
        r#"{"Name":"group-stateless","ID":"workers","Details":"Managing 2 instances"}"#
    );
    f.converged("workers")?;
    assert_eq!(
        call("InspectGroups", json!({})),
        r#"{"Name":"","ID":"","Groups":[{"ID":"workers","Properties":{"Instance":{"Plugin":"file","Properties":{"note":"v1"}},"Flavor":{"Plugin":"vanilla","Properties":{"Init":["echo hello"],"Tags":{"tier":"web"}}},"Allocation":{"Size":2,"LogicalIDs":null},"Updating":{"Duration":"0s","Count":0,"SkipBeforeInstanceDestroy":null}}}]}"#
    );
    assert_eq!(
        call("Size", json!({"ID": "workers"})),
        r#"{"Name":"","ID":"workers","Size":2}"#
    );
    let described: Value = serde_json::from_str(&call("DescribeGroup", json!({"ID": "workers"})))?;
    assert_eq!(described["ID"], "workers");
    assert_eq!(described["Description"]["Converged"], true);
    let members = described["Description"]["Instances"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    assert_eq!(
        members[0]["Tags"][CONFIG_HASH_TAG],
        "xnhzyp5zgt5xgyeu47ajojm6ezgxnxv5"
    );
    assert!(members[0]["Properties"].is_object(), "the spec as stored");
    assert_eq!(
        call("SetSize", json!({"ID": "workers", "Size": 3})),
        r#"{"Name":"","ID":"workers"}"#
    );
    assert_eq!(
        call("SetSize", json!({"ID": "workers", "Size": -1})),
        "size cannot be negative"
    );
    assert_eq!(
        call(
            "DestroyInstances",
            json!({"ID": "workers", "Instances": ["nope"]})
        ),
        r#"{"Name":"","ID":"workers"}"#
    );
    assert_eq!(
        call("DescribeGroup", json!({"ID": "nope"})),
        "Group 'nope' is not being watched"
    );
    assert_eq!(
        call("FreeGroup", json!({"ID": "workers"})),
        r#"{"Name":"","ID":"workers"}"#
    );
    assert_eq!(
        call("DestroyGroup", json!({"ID": "workers"})),
        "Group 'workers' is not being watched"
    );
    Ok(())
}

#[test]
fn a_group_of_three_converges_on_the_wasm_samples() -> Result<()> {
    let (folder, host) = deploykit_tests::samples()?;
    let state = tempfile::tempdir()?;
    let controller = start_controller(
        &host,
        state.path(),
        GroupOptions::default().poll_interval(deploykit_tests::groups::POLL),
    )?;
    let group = host.group("group")?;
    let properties = r#"{"Allocation":{"Size":3},
        "Instance":{"Plugin":"instance-file","Properties":{"note":"wasm"}},
        "Flavor":{"Plugin":"flavor-vanilla","Properties":{"Init":["echo hello"],"Tags":{"tier":"web"}}}}"#;
    assert_eq!(
        group.commit_group(&spec("web", properties), false)?,
        "Managing 3 instances"
    );
    wait_for("the wasm group to converge", || {
        group
            .describe_group("web")
            .map(|d| d.converged)
            .unwrap_or(false)
    })?;
    let files = host
        .instance("instance-file")?
        .describe_instances(&Tags::new(), false)?;
    assert_eq!(files.len(), 3);
    for d in &files {
        assert_eq!(d.tags["tier"], "web", "flavor-vanilla's tags");
        assert_eq!(d.tags[GROUP_TAG], "web");
    }
    assert_eq!(
        std::fs::read_dir(folder.path().join("instances"))?.count(),
        3
    );
    group.destroy_group("web")?;
    assert!(
        host.instance("instance-file")?
            .describe_instances(&Tags::new(), false)?
            .is_empty()
    );
    controller.shutdown();
    Ok(())
}
