//! Runs the `deploykit` binary as a user would, each test with its own plugin, state and sockets folders.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The InfraKit plugin directory of a test: inside its state folder, so a
/// test never touches `~/.infrakit/plugins`.
pub fn sockets(state: &Path) -> PathBuf {
    state.join("sockets")
}

/// A `deploykit` command on plugin folder `plugins` and state folder `state`, logs off.
pub fn command(plugins: &Path, state: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_deploykit"));
    command
        .arg("--plugins")
        .arg(plugins)
        .arg("--state")
        .arg(state)
        .env("RUST_LOG", "off")
        .env("INFRAKIT_PLUGINS_DIR", sockets(state));
    command
}

/// Runs `deploykit args…` to the end, feeding it `stdin`.
pub fn deploykit(plugins: &Path, state: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = command(plugins, state)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("deploykit runs");
    let mut input = child.stdin.take().expect("stdin is piped");
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .expect("deploykit reads its input");
    drop(input);
    child.wait_with_output().expect("deploykit finishes")
}

/// The standard output of a run that must succeed.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

/// The one-line error of a run that must fail with exit code 1.
pub fn failed(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1), "expected exit 1");
    let err = String::from_utf8(out.stderr.clone()).expect("UTF-8 errors");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}
