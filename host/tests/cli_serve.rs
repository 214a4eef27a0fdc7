//! `deploykit serve` as an operator runs it: group commands sent to it, reload, Ctrl-C, restart, stale and live sockets.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use xtask::PluginFolder;

mod support;

use support::{ok, sockets};

fn cli(folder: &PluginFolder, state: &Path, args: &[&str]) -> Output {
    support::deploykit(folder.path(), state, args, None)
}

/// A running `deploykit serve`, killed if the test fails.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(folder: &PluginFolder, state: &Path) -> Result<Serve> {
    let child = support::command(folder.path(), state)
        .args(["serve", "--poll-interval", "100ms"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let serve = Serve(child);
    wait("the control socket", || {
        std::os::unix::net::UnixStream::connect(socket(state)).is_ok()
    })?;
    Ok(serve)
}

fn socket(state: &Path) -> PathBuf {
    state.join("deploykit.sock")
}

fn wait(what: &str, mut cond: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > Duration::from_secs(30) {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn interrupt(serve: &mut Serve) -> Result<std::process::ExitStatus> {
    let status = Command::new("kill")
        .args(["-INT", &serve.0.id().to_string()])
        .status()?;
    assert!(status.success());
    Ok(serve.0.wait()?)
}

const GROUP: &str = r#"{"ID":"web","Properties":{"Allocation":{"Size":3},"Instance":{"Plugin":"instance-file","Properties":{"note":"v1"}},"Flavor":{"Plugin":"flavor-vanilla","Properties":{"Init":["echo v1"]}}}}"#;

#[test]
fn group_commands_go_to_a_running_serve_which_stops_cleanly_and_resumes() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    let state = folder.path().join("state");
    let spec = folder.path().join("group.json");
    std::fs::write(&spec, GROUP)?;
    let mut running = serve(&folder, &state)?;
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(socket(&state))?.permissions().mode() & 0o777,
        0o600
    );

    // The state database is open (and locked) in `serve`: this commit can
    // only succeed by being sent to it.
    let out = ok(&cli(
        &folder,
        &state,
        &["group", "commit", spec.to_str().unwrap()],
    ));
    assert_eq!(out.trim(), "Managing 3 instances");
    let described = ok(&cli(&folder, &state, &["group", "describe", "web"]));
    assert_eq!(
        described
            .lines()
            .filter(|l| l.starts_with("instance-"))
            .count(),
        3,
        "{described}"
    );

    // A second serve never takes over a live socket.
    let second = cli(&folder, &state, &["serve"]);
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("in use by a live server"), "{err}");

    // Reload: a new plugin joins through the watcher, and `plugins reload` answers.
    std::fs::copy(
        xtask::wasm_path("misbehave"),
        folder.path().join("late.wasm"),
    )?;
    let reloaded = ok(&cli(&folder, &state, &["plugins", "reload"]));
    assert!(reloaded.contains("late: loaded"), "{reloaded}");

    // Ctrl-C stops cleanly and removes the socket.
    let status = interrupt(&mut running)?;
    assert!(status.success(), "{status}");
    assert!(!socket(&state).exists());

    // Restarted, it resumes the committed group.
    let _again = serve(&folder, &state)?;
    let described = ok(&cli(&folder, &state, &["group", "describe", "web"]));
    assert!(described.trim_end().ends_with("converged"), "{described}");
    Ok(())
}

#[test]
fn a_stale_socket_from_a_crash_is_replaced() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    let state = folder.path().join("state");
    let mut crashed = serve(&folder, &state)?;
    crashed.0.kill()?;
    crashed.0.wait()?;
    assert!(
        socket(&state).exists(),
        "a killed serve leaves its socket behind"
    );
    let _fresh = serve(&folder, &state)?;
    let out = ok(&cli(&folder, &state, &["plugins", "reload"]));
    assert!(out.contains("instance-file: loaded"), "{out}");
    Ok(())
}

/// Every plugin and the group controller get an InfraKit socket; another
/// deploykit with no plugins of its own lists and calls them as remote
/// plugins; Ctrl-C removes the sockets.
#[test]
fn serve_puts_every_plugin_on_an_infrakit_socket() -> Result<()> {
    let folder = PluginFolder::new()?.with_samples()?;
    let state = folder.path().join("state");
    let mut running = serve(&folder, &state)?;
    let dir = sockets(&state);
    for name in ["instance-file", "flavor-vanilla", "group"] {
        wait(name, || dir.join(name).exists())?;
    }
    let hello = deploykit_host::rpc::client::call(
        &dir.join("instance-file"),
        "Handshake.Hello",
        "{}",
        Duration::from_secs(10),
    )?;
    assert_eq!(
        hello,
        r#"{"Objects":{"Instance/0.6.1":[{"Name":".","ProxyFor":""}]}}"#
    );

    // A deploykit with an empty plugin folder sees them all as remote plugins.
    let empty = PluginFolder::new()?;
    let other_state = empty.path().join("state");
    let remote = |args: &[&str]| {
        support::command(empty.path(), &other_state)
            .arg("--sockets")
            .arg(&dir)
            .args(args)
            .output()
            .expect("deploykit runs")
    };
    let listed = ok(&remote(&["plugins", "ls"]));
    let row = |name: &str| {
        listed
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {listed}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        row("instance-file")[..4],
        ["instance-file", "instance", "-", "remote"]
    );
    assert_eq!(
        row("flavor-vanilla")[..4],
        ["flavor-vanilla", "flavor", "-", "remote"]
    );
    assert_eq!(row("group")[..4], ["group", "group", "-", "remote"]);
    let spec = empty.path().join("spec.json");
    std::fs::write(&spec, r#"{"Tags":{"via":"socket"}}"#)?;
    let id = ok(&remote(&[
        "instance",
        "provision",
        "instance-file",
        spec.to_str().unwrap(),
    ]));
    let described = ok(&remote(&[
        "instance",
        "describe",
        "instance-file",
        "--tags",
        "via=socket",
    ]));
    assert!(described.contains(id.trim()), "{described}");
    let missing = remote(&["instance", "describe", "nope"]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("unknown plugin 'nope'"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );

    let status = interrupt(&mut running)?;
    assert!(status.success(), "{status}");
    for name in ["instance-file", "flavor-vanilla", "group"] {
        assert!(!dir.join(name).exists(), "{name} socket left behind");
    }
    Ok(())
}
