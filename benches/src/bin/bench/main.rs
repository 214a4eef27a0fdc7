//! `cargo xtask bench`: every figure of issue 7 in one table, with same-run ratios, saved as JSON.
//!
//! Usage: `bench PLUGIN_DIR [--cli DEPLOYKIT] [--out FILE] [--compare OLD.json]`.
//! `PLUGIN_DIR` holds `bench-instance.wasm`, `misbehave.wasm`,
//! `instance-simulator.wasm`, `flavor-vanilla.wasm` and `instance-file.wasm`
//! (+ `instance-file.toml`); `cargo xtask bench` builds them. `--cli` is the
//! `deploykit` binary whose `serve --sockets` serves the JSON-RPC case.
//!
//! Memory, load and group figures run in child processes of this binary
//! (`bench child …`), so each starts from a clean process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bench_instance::{BenchInstance, SLEEP_TAG};
use deploykit_benches::report::{Report, Row, Unit, compare};
use deploykit_benches::{after_setup, batched, rss_kib};
use deploykit_host::{
    CacheOutcome, DestroyReason, GroupController, GroupOptions, GroupSpec, Host, HostBuilder,
    InstancePool, Json, MemoryKv, NativePlugin, QuarantinePolicy, Spec, StateStore, Tags,
};
use serde_json::{Value, json};

mod cases;
mod children;
mod rpc;

use cases::run;
use children::child;
use rpc::Rpc;

const PLUGIN: &str = "bench-instance";
const RPC_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        let out = child(&args[1..])?;
        println!("{out}");
        return Ok(());
    }
    let mut dir = None;
    let mut cli = None;
    let mut out = PathBuf::from("target/bench/latest.json");
    let mut previous = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--cli" => cli = it.next().map(PathBuf::from),
            "--out" => out = it.next().map(PathBuf::from).context("--out FILE")?,
            "--compare" => previous = it.next().map(PathBuf::from),
            _ if dir.is_none() => dir = Some(PathBuf::from(a)),
            other => bail!("unexpected argument {other}"),
        }
    }
    let dir =
        dir.context("usage: bench PLUGIN_DIR [--cli DEPLOYKIT] [--out FILE] [--compare OLD.json]")?;
    if std::env::var("RUST_BACKTRACE").is_ok_and(|v| v != "0") {
        eprintln!("note: RUST_BACKTRACE is set; every trap then captures a native backtrace");
    }
    let previous: Option<Value> = match &previous {
        Some(p) => Some(
            serde_json::from_str(
                &std::fs::read_to_string(p).with_context(|| p.display().to_string())?,
            )
            .with_context(|| format!("{} is not JSON", p.display()))?,
        ),
        None => None,
    };
    let report = run(&dir, cli.as_deref())?;
    print!("{}", report.render(previous.as_ref()));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(
        &out,
        serde_json::to_string_pretty(&report.to_json())? + "\n",
    )?;
    println!("figures saved to {}", out.display());
    Ok(())
}

/// A properties document of exactly 1,024 bytes, as an InfraKit instance plugin gets it.
fn properties() -> String {
    let mut v = json!({
        "Name": "web-01",
        "Region": "eu-west-1",
        "Size": 4,
        "Image": "ami-0c55b159cbfafe1f0",
        "InstanceType": "m5.large",
        "Disks": [
            {"Device": "/dev/sda1", "SizeGiB": 100, "Type": "gp3", "Encrypted": true},
            {"Device": "/dev/sdb", "SizeGiB": 500, "Type": "st1", "Encrypted": false}
        ],
        "Network": {
            "Vpc": "vpc-0a1b2c3d", "Subnet": "subnet-4e5f6a7b",
            "SecurityGroups": ["sg-01", "sg-02", "sg-03"], "PublicIp": false
        },
        "Labels": {"team": "platform", "cost-center": "cc-1234", "service": "frontend"},
        "UserData": "",
    });
    let base = v.to_string().len();
    v["UserData"] = Value::from("x".repeat(1024 - base));
    let text = v.to_string();
    assert_eq!(text.len(), 1024);
    text
}

/// The benchmark's spec: 1 KB of properties and 5 tags.
fn spec() -> Spec {
    Spec {
        properties: Some(Json::new(properties()).expect("valid JSON")),
        tags: tags(),
        ..Spec::default()
    }
}

fn tags() -> Tags {
    Tags::from([
        ("infrakit.group".into(), "web".into()),
        (
            "infrakit.config.hash".into(),
            "e3b0c44298fc1c149afbf4c8996fb924".into(),
        ),
        ("tier".into(), "web".into()),
        ("env".into(), "prod".into()),
        ("owner".into(), "team-a".into()),
    ])
}

/// A fresh folder holding copies of `names` (`.wasm` and any `.toml`) from `dir`.
fn folder(dir: &Path, names: &[&str]) -> Result<tempfile::TempDir> {
    folder_in(None, dir, names)
}

/// [`folder`] under `base` (the system's temporary folder when `None`).
fn folder_in(base: Option<&Path>, dir: &Path, names: &[&str]) -> Result<tempfile::TempDir> {
    let to = match base {
        Some(b) => tempfile::tempdir_in(b)?,
        None => tempfile::tempdir()?,
    };
    for name in names {
        for ext in ["wasm", "toml"] {
            let from = dir.join(format!("{name}.{ext}"));
            if from.exists() {
                std::fs::copy(&from, to.path().join(format!("{name}.{ext}")))
                    .with_context(|| from.display().to_string())?;
            }
        }
    }
    Ok(to)
}

/// A host on `dir` that never quarantines (the fault figures trap on
/// purpose, thousands of times), to be built with any further settings.
fn host_builder(dir: &Path) -> HostBuilder {
    Host::builder()
        .plugin_dir(dir)
        .quarantine(QuarantinePolicy {
            faults: usize::MAX,
            ..QuarantinePolicy::default()
        })
}

/// [`host_builder`], built as it is.
fn host(dir: &Path) -> Result<Host> {
    Ok(host_builder(dir).build()?)
}

/// Runs the closures in turn, one batch each per round, so slow drifts of the
/// machine affect all of them alike; per-call nanoseconds for each.
fn interleaved<const N: usize>(
    samples: usize,
    batch: usize,
    mut fs: [&mut dyn FnMut(); N],
) -> [Vec<f64>; N] {
    let mut out: [Vec<f64>; N] = std::array::from_fn(|_| Vec::with_capacity(samples));
    for f in fs.iter_mut() {
        for _ in 0..batch {
            f();
        }
    }
    for _ in 0..samples {
        for (f, o) in fs.iter_mut().zip(out.iter_mut()) {
            let t = Instant::now();
            for _ in 0..batch {
                f();
            }
            o.push(t.elapsed().as_nanos() as f64 / batch as f64);
        }
    }
    out
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Runs `bench child ARGS…` and parses the JSON it prints last.
fn run_child(args: &[&str]) -> Result<Value> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe)
        .arg("child")
        .args(args)
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("bench child {} failed with {}", args.join(" "), out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().context("child printed nothing")?;
    Ok(serde_json::from_str(last)?)
}
