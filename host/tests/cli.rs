//! The `deploykit` binary driven as a user would: plugin listing, every SPI command, errors and exit codes.

use std::process::Output;

use anyhow::Result;
use serde_json::Value;
use xtask::PluginFolder;

mod support;

use support::{failed, ok};

fn deploykit(folder: &PluginFolder, args: &[&str], stdin: Option<&str>) -> Output {
    support::deploykit(folder.path(), &folder.path().join("state"), args, stdin)
}

#[test]
fn plugins_ls_json_lists_loaded_and_failed_plugins() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    folder.add_bytes("broken", b"not wasm")?;
    let list: Value =
        serde_json::from_str(&ok(&deploykit(&folder, &["--json", "plugins", "ls"], None)))?;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1 + xtask::SAMPLES.len());
    let broken = &list[0];
    assert_eq!(broken["name"], "broken");
    assert_eq!(broken["state"], "failed");
    assert!(
        broken["error"]
            .as_str()
            .unwrap()
            .starts_with("not a WebAssembly file")
    );
    let files = list.iter().find(|p| p["name"] == "instance-file").unwrap();
    assert_eq!(files["spis"], serde_json::json!(["instance"]));
    assert_eq!(files["wit"], "0.2.0");
    assert_eq!(files["vendor"]["Name"], "deploykit-instance-file");
    assert_eq!(files["state"], "loaded");
    assert!(
        files["path"]
            .as_str()
            .unwrap()
            .ends_with("instance-file.wasm")
    );
    assert!(files["error"].is_null());
    let table = ok(&deploykit(&folder, &["plugins", "ls"], None));
    assert!(table.lines().next().unwrap().starts_with("NAME"));
    assert!(
        table.lines().any(|l| l
            .split_whitespace()
            .take(2)
            .eq(["flavor-vanilla", "flavor"])),
        "{table}"
    );
    Ok(())
}

#[test]
fn plugins_check_reports_success_and_the_reason_for_failure() -> Result<()> {
    let folder = PluginFolder::new()?;
    let good = folder.add("instance-file", "instance-file", None)?;
    let bad = folder.add_bytes("core", b"\0asm\x01\0\0\0")?;
    let out = ok(&deploykit(
        &folder,
        &["plugins", "check", good.to_str().unwrap()],
        None,
    ));
    assert!(
        out.starts_with("ok: instance-file implements instance (WIT 0.2.0)"),
        "{out}"
    );
    let err = failed(&deploykit(
        &folder,
        &["plugins", "check", bad.to_str().unwrap()],
        None,
    ));
    assert!(
        err.contains("core.wasm") && err.contains("a core WebAssembly module, not a component"),
        "{err}"
    );
    Ok(())
}

#[test]
fn instance_commands_round_trip_with_infrakit_json() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    let run = |args: &[&str], stdin: Option<&str>| deploykit(&folder, args, stdin);
    assert_eq!(
        ok(&run(
            &["--json", "instance", "validate", "instance-file", "-"],
            Some(r#"{"Properties":{"a":1}}"#)
        )),
        "{\"Type\":\"\",\"OK\":true}\n"
    );
    // A bare Spec is accepted, like InfraKit's `provision`.
    let bare = r#"{"Tags":{"tier":"web"},"Init":"echo hi","LogicalID":"n1"}"#;
    let provisioned: Value = serde_json::from_str(&ok(&run(
        &["--json", "instance", "provision", "instance-file", "-"],
        Some(bare),
    )))?;
    let id = provisioned["ID"].as_str().unwrap().to_owned();
    let params = r#"{"Type":"","Spec":{"Tags":{"tier":"db"}}}"#;
    let plain = ok(&run(
        &["instance", "provision", "instance-file", "-"],
        Some(params),
    ));
    assert!(
        plain.trim().starts_with("instance-"),
        "plain output is the ID: {plain}"
    );

    ok(&run(
        &["instance", "label", "instance-file", &id, "owner=me"],
        None,
    ));
    let described: Value = serde_json::from_str(&ok(&run(
        &[
            "--json",
            "instance",
            "describe",
            "instance-file",
            "--tags",
            "tier=web",
            "--properties",
        ],
        None,
    )))?;
    let d = &described["Descriptions"][0];
    assert_eq!(d["ID"], id.as_str());
    assert_eq!(d["LogicalID"], "n1");
    assert_eq!(d["Tags"]["owner"], "me");
    assert_eq!(d["Properties"]["Init"], "echo hi");
    let table = ok(&run(&["instance", "describe", "instance-file"], None));
    assert_eq!(
        table.lines().count(),
        3,
        "header and two instances: {table}"
    );

    ok(&run(
        &[
            "instance",
            "destroy",
            "instance-file",
            &id,
            "--reason",
            "rolling_update",
        ],
        None,
    ));
    let err = failed(&run(&["instance", "destroy", "instance-file", &id], None));
    assert!(err.contains("no such file or directory"), "{err}");
    let err = failed(&run(
        &[
            "instance",
            "destroy",
            "instance-file",
            &id,
            "--reason",
            "termination",
        ],
        None,
    ));
    assert!(
        err.contains("unknown destroy reason 'termination'"),
        "{err}"
    );
    Ok(())
}

#[test]
fn flavor_commands_print_infrakit_results() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    let prepare = r#"{"Properties":{"Init":["echo a"],"Tags":{"tier":"web"}},"Spec":{"Init":"echo base"},"Allocation":{"Size":1},"Index":{"Group":"g","Sequence":0}}"#;
    let out = ok(&deploykit(
        &folder,
        &["--json", "flavor", "prepare", "flavor-vanilla", "-"],
        Some(prepare),
    ));
    let result: Value = serde_json::from_str(&out)?;
    assert_eq!(result["Spec"]["Init"], "echo base\necho a");
    let healthy = r#"{"Properties":{},"Instance":{"ID":"i-1","LogicalID":null,"Tags":{}}}"#;
    assert_eq!(
        ok(&deploykit(
            &folder,
            &["--json", "flavor", "healthy", "flavor-vanilla", "-"],
            Some(healthy)
        )),
        "{\"Type\":\"\",\"Health\":1}\n"
    );
    assert_eq!(
        ok(&deploykit(
            &folder,
            &["flavor", "healthy", "flavor-vanilla", "-"],
            Some(healthy)
        )),
        "healthy\n"
    );
    assert_eq!(
        ok(&deploykit(
            &folder,
            &["flavor", "drain", "flavor-vanilla", "-"],
            Some(healthy)
        )),
        "ok\n"
    );
    Ok(())
}

#[test]
fn errors_are_one_line_and_exit_non_zero() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    let err = failed(&deploykit(&folder, &["instance", "describe", "nope"], None));
    assert_eq!(err, "error: unknown plugin 'nope'\n");
    let err = failed(&deploykit(
        &folder,
        &["instance", "describe", "flavor-vanilla"],
        None,
    ));
    assert_eq!(
        err,
        "error: plugin 'flavor-vanilla' does not implement the instance SPI\n"
    );
    let err = failed(&deploykit(
        &folder,
        &["instance", "provision", "instance-file", "-"],
        Some("{not json"),
    ));
    assert!(err.starts_with("error: stdin is not valid JSON"), "{err}");
    Ok(())
}

#[test]
fn wit_versions_side_by_side_and_an_unsupported_one_refused() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    folder.add("legacy-v0_1", "legacy", None)?;
    folder.add("future-v0_3", "future", None)?;
    let list: Value =
        serde_json::from_str(&ok(&deploykit(&folder, &["--json", "plugins", "ls"], None)))?;
    let by = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(by("legacy")["wit"], "0.1.0");
    assert_eq!(by("instance-file")["wit"], "0.2.0");
    assert_eq!(by("future")["state"], "failed");
    let reason = by("future")["error"].as_str().unwrap().to_owned();
    assert!(
        reason.contains("deploykit:plugin@0.3.0") && reason.ends_with("supports 0.1.x, 0.2.x"),
        "{reason}"
    );
    // Both versions answer the same command.
    let legacy = ok(&deploykit(
        &folder,
        &["instance", "provision", "legacy", "-"],
        Some(r#"{"Tags":{"a":"1"}}"#),
    ));
    assert_eq!(legacy.trim(), "legacy-1");
    let files = ok(&deploykit(
        &folder,
        &["instance", "provision", "instance-file", "-"],
        Some("{}"),
    ));
    assert!(files.starts_with("instance-"));
    Ok(())
}

#[test]
fn precompile_fills_the_cache_and_ls_then_loads_from_it() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    let out = ok(&deploykit(&folder, &["plugins", "precompile"], None));
    assert!(out.contains("instance-file: compiled"), "{out}");
    assert!(folder.path().join("state").join("cache").is_dir());
    let list: Value =
        serde_json::from_str(&ok(&deploykit(&folder, &["--json", "plugins", "ls"], None)))?;
    for p in list.as_array().unwrap() {
        assert_eq!(p["cache"], "hit", "{p}");
        assert!(p["load_ms"].as_f64().unwrap() > 0.0);
    }
    let table = ok(&deploykit(&folder, &["plugins", "ls"], None));
    assert!(table.contains("cached"), "{table}");
    Ok(())
}
