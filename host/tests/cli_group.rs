//! `deploykit group …` driven as a user would, on the wasm samples: commit and wait, InfraKit's JSON results, errors, the state folder.

use std::path::Path;
use std::process::Output;

use anyhow::Result;
use serde_json::Value;
use xtask::PluginFolder;

mod support;

use support::{failed, ok};

fn deploykit(folder: &PluginFolder, state: &Path, args: &[&str]) -> Output {
    support::deploykit(folder.path(), state, args, None)
}

fn write_spec(dir: &Path, note: &str) -> Result<String> {
    let path = dir.join(format!("{note}.json"));
    std::fs::write(
        &path,
        format!(
            r#"{{"ID": "web", "Properties": {{
                "Allocation": {{"Size": 2}},
                "Instance": {{"Plugin": "instance-file", "Properties": {{"note": "{note}"}}}},
                "Flavor": {{"Plugin": "flavor-vanilla", "Properties": {{"Tags": {{"tier": "web", "app": "shop"}}}}}}}}}}"#
        ),
    )?;
    Ok(path.display().to_string())
}

#[test]
fn group_commands_manage_a_group_of_wasm_instances() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    let state = tempfile::tempdir()?;
    let run = |args: &[&str]| deploykit(&folder, state.path(), args);
    let v1 = write_spec(state.path(), "v1")?;
    let v2 = write_spec(state.path(), "v2")?;
    let fast = ["--poll-interval", "50ms"];

    let out = run(&[&["group", "commit", &v1][..], &fast].concat());
    assert_eq!(ok(&out), "Managing 2 instances\n");
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(
        progress.contains("group web: 2/2 instances ready, converged"),
        "{progress}"
    );
    assert_eq!(
        ok(&run(&["--json", "group", "size", "web"])),
        "{\"Name\":\"\",\"ID\":\"web\",\"Size\":2}\n"
    );
    let inspected = ok(&run(&["--json", "group", "inspect"]));
    assert!(
        inspected.contains(r#""Flavor":{"Plugin":"flavor-vanilla","Properties":{"Tags":{"tier":"web","app":"shop"}}}"#),
        "compacted, in the file's key order: {inspected}"
    );
    assert!(
        ok(&run(&["group", "inspect"])).contains("web  size 2      instance-file  flavor-vanilla")
    );
    let described: Value =
        serde_json::from_str(&ok(&run(&["--json", "group", "describe", "web"])))?;
    assert_eq!(described["Description"]["Converged"], true);
    assert_eq!(
        described["Description"]["Instances"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    assert_eq!(
        ok(&run(&["--json", "group", "commit", &v2, "--pretend"])),
        "{\"Name\":\"\",\"ID\":\"web\",\"Details\":\"Performing a rolling update on 2 instances\"}\n"
    );
    let out = run(&[&["group", "commit", &v2][..], &fast].concat());
    assert_eq!(ok(&out), "Performing a rolling update on 2 instances\n");

    assert_eq!(ok(&run(&["group", "free", "web"])), "ok\n");
    let err = failed(&run(&["group", "describe", "web"]));
    assert_eq!(err, "error: Group 'web' is not being watched\n");
    assert_eq!(
        std::fs::read_dir(folder.path().join("instances"))?.count(),
        2,
        "free leaves the instances"
    );

    let out = run(&[&["group", "commit", &v2][..], &fast].concat());
    assert_eq!(
        ok(&out),
        "Managing 2 instances\n",
        "the same members, adopted"
    );
    assert_eq!(ok(&run(&["group", "destroy", "web"])), "ok\n");
    assert_eq!(
        std::fs::read_dir(folder.path().join("instances"))?.count(),
        0
    );
    assert_eq!(
        ok(&run(&["--json", "group", "inspect"])),
        "{\"Name\":\"\",\"ID\":\"\",\"Groups\":null}\n"
    );
    Ok(())
}

#[test]
fn group_errors_are_one_clear_line() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    let state = tempfile::tempdir()?;
    let run = |args: &[&str]| deploykit(&folder, state.path(), args);
    let blank = state.path().join("blank.json");
    std::fs::write(&blank, r#"{"ID": "", "Properties": {}}"#)?;
    assert_eq!(
        failed(&run(&["group", "commit", blank.to_str().unwrap()])),
        "error: Group ID must not be blank\n"
    );
    assert_eq!(
        failed(&run(&["group", "size", "nope"])),
        "error: Group 'nope' is not being watched\n"
    );

    let corrupt = tempfile::tempdir()?;
    let file = corrupt.path().join("state.redb");
    std::fs::write(&file, b"not a database".repeat(500))?;
    let err = failed(&deploykit(&folder, corrupt.path(), &["group", "inspect"]));
    assert!(err.contains(&file.display().to_string()), "{err}");
    Ok(())
}
