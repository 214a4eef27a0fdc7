//! `cargo xtask demo|test|plugins`: the project's two commands and the plugin build.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use xtask::polyglot::POLYGLOT_SAMPLES;
use xtask::{
    PROVIDERS, PluginCrate, SAMPLES, TEST_PLUGINS, cargo, install_plugins, run, target_dir,
    workspace_root,
};

const USAGE: &str = "usage: cargo xtask <demo | test | plugins [DIR]>
  demo     build the sample plugins into ./plugins and run the CLI on them
  test     build everything, then fmt --check, clippy -D warnings and every test
  stress   sandbox stress figures (RSS across 100,000 traps, latency under faults)
  bench    every performance figure in one table, saved as JSON (--compare OLD.json;
           `bench compare OLD.json NEW.json` compares two saved runs)
  plugins  build the sample plugins into DIR (default ./plugins)";

#[cfg(unix)]
mod bridge_story;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("test") => test(),
        Some("stress") => stress(),
        Some("bench") => bench(&args[1..]),
        Some("plugins") => {
            let dir = args
                .get(1)
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_root().join("plugins"));
            install_plugins(&SAMPLES.iter().collect::<Vec<_>>(), &dir)?;
            xtask::polyglot::install_polyglot(&POLYGLOT_SAMPLES.iter().collect::<Vec<_>>(), &dir)
        }
        _ => bail!("{USAGE}"),
    }
}

/// Builds the CLI and returns its path.
fn build_cli() -> Result<PathBuf> {
    run(Command::new(cargo()).current_dir(workspace_root()).args([
        "build",
        "--quiet",
        "-p",
        "deploykit-host",
        "--bin",
        "deploykit",
    ]))?;
    Ok(target_dir()
        .join("debug")
        .join(format!("deploykit{}", std::env::consts::EXE_SUFFIX)))
}

fn demo() -> Result<()> {
    let root = workspace_root();
    let plugins = root.join("plugins");
    eprintln!(
        "xtask: building the sample plugins into {}",
        plugins.display()
    );
    install_plugins(&SAMPLES.iter().collect::<Vec<_>>(), &plugins)?;
    xtask::polyglot::install_polyglot(&POLYGLOT_SAMPLES.iter().collect::<Vec<_>>(), &plugins)?;
    let instances = plugins.join("instances");
    if instances.exists() {
        std::fs::remove_dir_all(&instances).context("cannot clear the demo's instances")?;
    }
    eprintln!("xtask: building the deploykit CLI");
    let cli = build_cli()?;
    let demo_dir = target_dir().join("demo");
    std::fs::create_dir_all(&demo_dir)?;
    let prepare = demo_dir.join("prepare.json");
    std::fs::write(
        &prepare,
        r##"{"Properties":{"Init":["apt-get install -y nginx"],"Tags":{"tier":"web"}},"Spec":{"Properties":{"note":"demo"},"Tags":{"infrakit.group":"web"},"Init":"#!/bin/sh"},"Allocation":{"Size":3},"Index":{"Group":"web","Sequence":0}}"##,
    )?;
    let step = |title: &str, args: &[&str]| -> Result<String> {
        println!("\n$ deploykit {}", args.join(" "));
        println!("# {title}");
        let output = Command::new(&cli)
            .arg("--plugins")
            .arg(&plugins)
            .args(args)
            .output()?;
        print!("{}", String::from_utf8_lossy(&output.stdout));
        eprint!("{}", String::from_utf8_lossy(&output.stderr));
        if !output.status.success() {
            bail!("deploykit {} failed", args.join(" "));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    step(
        "every plugin in the folder, with its SPIs and limits",
        &["plugins", "ls"],
    )?;
    let prepared = step(
        "flavor-vanilla shapes a spec for the web tier",
        &[
            "--json",
            "flavor",
            "prepare",
            "flavor-vanilla",
            &path(&prepare),
        ],
    )?;
    let prepared: serde_json::Value =
        serde_json::from_str(&prepared).context("prepare printed no JSON")?;
    let spec_file = demo_dir.join("spec.json");
    std::fs::write(&spec_file, prepared["Spec"].to_string())?;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let id = step(
            "instance-file provisions it (one JSON file per instance)",
            &["instance", "provision", "instance-file", &path(&spec_file)],
        )?;
        ids.push(id.trim().to_owned());
    }
    step(
        "describe the web tier",
        &[
            "instance",
            "describe",
            "instance-file",
            "--tags",
            "tier=web",
        ],
    )?;
    step(
        "destroy one",
        &["instance", "destroy", "instance-file", &ids[0]],
    )?;
    step(
        "two are left",
        &[
            "instance",
            "describe",
            "instance-file",
            "--tags",
            "tier=web",
        ],
    )?;
    step(
        "the same spec shaped by the vanilla flavor written in JavaScript",
        &[
            "--json",
            "flavor",
            "prepare",
            "flavor-vanilla-js",
            &path(&prepare),
        ],
    )?;
    step(
        "an instance plugin written in Python (it keeps instances in memory)",
        &[
            "instance",
            "provision",
            "instance-memory-py",
            &path(&spec_file),
        ],
    )?;
    group_story(&step, &demo_dir)?;
    #[cfg(unix)]
    bridge_story::bridge_story(&cli, &plugins, &demo_dir)?;
    println!("\nThe instances are files in {}.", instances.display());
    Ok(())
}

/// Builds the test plugin and runs the sandbox stress binary (bench profile) on it.
fn stress() -> Result<()> {
    let dir = target_dir().join("stress-plugins");
    install_plugins(
        &TEST_PLUGINS
            .iter()
            .filter(|p| p.package == "misbehave")
            .collect::<Vec<_>>(),
        &dir,
    )?;
    run_bench_binary("sandbox-stress", &[&path(&dir)])
}

/// Runs binary `bin` of the benches crate in the bench profile with `args`.
fn run_bench_binary(bin: &str, args: &[&str]) -> Result<()> {
    run(Command::new(cargo())
        .current_dir(workspace_root())
        .env("RUST_BACKTRACE", "0")
        .args([
            "run",
            "--quiet",
            "--profile",
            "bench",
            "-p",
            "deploykit-benches",
            "--bin",
            bin,
            "--",
        ])
        .args(args))
}

/// The group part of the demo: commit a group, watch it converge, change the
/// flavor to roll every member, then destroy the group.
fn group_story(step: &dyn Fn(&str, &[&str]) -> Result<String>, demo_dir: &Path) -> Result<()> {
    let spec = |init: &str| {
        format!(
            r#"{{"ID":"cattle","Properties":{{"Allocation":{{"Size":3}},"Instance":{{"Plugin":"instance-file","Properties":{{"note":"demo group"}}}},"Flavor":{{"Plugin":"flavor-vanilla","Properties":{{"Init":["{init}"],"Tags":{{"tier":"cattle"}}}}}}}}}}"#
        )
    };
    let v1 = demo_dir.join("group-v1.json");
    let v2 = demo_dir.join("group-v2.json");
    std::fs::write(&v1, spec("echo version 1"))?;
    std::fs::write(&v2, spec("echo version 2"))?;
    let (v1, v2) = (path(&v1), path(&v2));
    let fast = ["group", "--poll-interval", "200ms", "commit"];
    step(
        "commit a group of 3 (instance-file + flavor-vanilla); it converges",
        &[&fast[..], &[&v1]].concat(),
    )?;
    step(
        "its members carry the group's config hash",
        &["group", "describe", "cattle"],
    )?;
    step(
        "change the flavor and commit again: a rolling update, one member at a time",
        &[&fast[..], &[&v2]].concat(),
    )?;
    step(
        "every member now has the new hash",
        &["group", "describe", "cattle"],
    )?;
    step(
        "destroy the group: drain and destroy every member",
        &["group", "destroy", "cattle"],
    )?;
    Ok(())
}

/// The benchmark's own plugin: pure computation, also compiled natively into the benchmark.
const BENCH_PLUGIN: PluginCrate = PluginCrate {
    package: "bench-instance",
    name: "bench-instance",
    manifest: None,
};

/// `cargo xtask bench [--compare OLD.json] | bench compare OLD.json NEW.json`:
/// builds what the figures need (plugins, the `deploykit` CLI for the
/// JSON-RPC bridge, the benchmark, all in the bench profile), runs every
/// case, prints one table and writes `target/bench/latest.json` (the
/// previous one is kept as `previous.json`).
fn bench(args: &[String]) -> Result<()> {
    let root = workspace_root();
    let bench_bin = |args: &[&str]| run_bench_binary("bench", args);
    if args.first().map(String::as_str) == Some("compare") {
        let [old, new] = &args[1..] else {
            bail!("usage: cargo xtask bench compare OLD.json NEW.json");
        };
        return bench_bin(&["child", "compare", old, new]);
    }
    let dir = target_dir().join("bench-plugins");
    let wanted: Vec<&PluginCrate> = SAMPLES
        .iter()
        .chain(TEST_PLUGINS)
        .chain([&BENCH_PLUGIN])
        .filter(|p| {
            [
                "bench-instance",
                "misbehave",
                "instance-simulator",
                "instance-file",
                "flavor-vanilla",
            ]
            .contains(&p.package)
        })
        .collect();
    install_plugins(&wanted, &dir)?;
    run(Command::new(cargo()).current_dir(&root).args([
        "build",
        "--quiet",
        "--profile",
        "bench",
        "-p",
        "deploykit-host",
        "--bin",
        "deploykit",
    ]))?;
    // The bench profile builds into target/release.
    let cli = target_dir()
        .join("release")
        .join(format!("deploykit{}", std::env::consts::EXE_SUFFIX));
    let out_dir = target_dir().join("bench");
    std::fs::create_dir_all(&out_dir)?;
    let latest = out_dir.join("latest.json");
    if latest.exists() {
        std::fs::copy(&latest, out_dir.join("previous.json"))?;
    }
    let mut bench_args = vec![path(&dir), "--cli".into(), path(&cli)];
    bench_args.extend(["--out".into(), path(&latest)]);
    match args {
        [] => {}
        [flag, file] if flag == "--compare" => {
            bench_args.extend(["--compare".into(), file.clone()])
        }
        _ => {
            bail!("usage: cargo xtask bench [--compare OLD.json] | bench compare OLD.json NEW.json")
        }
    }
    bench_bin(&bench_args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

fn test() -> Result<()> {
    let root = workspace_root();
    let all: Vec<&PluginCrate> = SAMPLES
        .iter()
        .chain(TEST_PLUGINS)
        .chain(PROVIDERS)
        .collect();
    eprintln!("xtask: building the plugins for wasm32-wasip2");
    xtask::build_plugins(&all)?;
    xtask::polyglot::build_polyglot_samples()?;
    // The instance-aws tests run against moto's EC2 emulator.
    xtask::moto::ensure_moto()?;
    let cargo_in_root = |args: &[&str]| -> Result<()> {
        eprintln!("xtask: cargo {}", args.join(" "));
        run(Command::new(cargo()).current_dir(&root).args(args))
    };
    cargo_in_root(&["fmt", "--all", "--check"])?;
    cargo_in_root(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    windows_check(&root)?;
    cargo_test(&root)
}

/// Runs every test, echoing cargo's output, and closes with one summary
/// line `test: N passed, M failed` summed over all test binaries.
fn cargo_test(root: &Path) -> Result<()> {
    use std::io::{BufRead, BufReader};
    eprintln!("xtask: cargo test --workspace");
    let mut child = Command::new(cargo())
        .current_dir(root)
        .args(["test", "--workspace"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .context("cannot run cargo test")?;
    let (mut passed, mut failed) = (0u64, 0u64);
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            let count = |word: &str| {
                rest.split(';')
                    .find_map(|part| {
                        part.trim()
                            .trim_start_matches("ok. ")
                            .trim_start_matches("FAILED. ")
                            .strip_suffix(word)
                    })
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .unwrap_or(0)
            };
            passed += count(" passed");
            failed += count(" failed");
        }
    }
    let status = child.wait()?;
    println!("test: {passed} passed, {failed} failed");
    if !status.success() {
        bail!("cargo test failed with {status}");
    }
    Ok(())
}

/// Checks that the host library and CLI build for Windows, when the MinGW
/// cross compiler is present (wasmtime compiles one small C file).
fn windows_check(root: &Path) -> Result<()> {
    const TARGET: &str = "x86_64-pc-windows-gnu";
    if Command::new("x86_64-w64-mingw32-gcc")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!(
            "xtask: skipping the Windows check: x86_64-w64-mingw32-gcc is not installed (Debian: gcc-mingw-w64-x86-64)"
        );
        return Ok(());
    }
    xtask::ensure_target(TARGET)?;
    eprintln!("xtask: cargo check --target {TARGET} -p deploykit-host");
    run(Command::new(cargo()).current_dir(root).args([
        "check",
        "--quiet",
        "--target",
        TARGET,
        "-p",
        "deploykit-host",
    ]))
}
