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
    CacheOutcome, DestroyReason, GroupController, GroupOptions, GroupSpec, Host, Json, MemoryKv,
    NativePlugin, QuarantinePolicy, Spec, StateStore, Tags,
};
use serde_json::{Value, json};

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

/// A host that never quarantines (the fault figures trap on purpose, thousands of times).
fn host(dir: &Path) -> Result<Host> {
    Ok(Host::builder()
        .plugin_dir(dir)
        .quarantine(QuarantinePolicy {
            faults: usize::MAX,
            ..QuarantinePolicy::default()
        })
        .build()?)
}

fn run(dir: &Path, cli: Option<&Path>) -> Result<Report> {
    let mut r = Report::default();
    r.context.insert(
        "cpus".into(),
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .into(),
    );
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let one = load.split_whitespace().next().unwrap_or("?").to_owned();
        r.context.insert("load".into(), one.into());
    }
    if let Ok(out) = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
    {
        let rev = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !rev.is_empty() {
            r.context.insert("git".into(), rev.into());
        }
    }
    r.context.insert(
        "unix_time".into(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .into(),
    );

    let bench_dir = folder(dir, &[PLUGIN])?;
    let spec = spec();
    let tags = tags();

    // 1. Warm calls: native, wasm (fuel + deadline on: the host's defaults).
    eprintln!("bench: warm calls");
    let native = NativePlugin::sdk_instance(PLUGIN, BenchInstance);
    let wasm_host = host(bench_dir.path())?;
    let wasm = wasm_host.instance(PLUGIN)?;
    let id = native.provision(&spec)?;
    if wasm.provision(&spec)? != id {
        bail!("native and wasm disagree on the instance ID");
    }
    r.section("1. warm calls (bench-instance: provision parses 1 KB of properties, hashes them and 5 tags)");
    let [n_prov, w_prov] = interleaved(
        300,
        100,
        [
            &mut || drop(native.provision(&spec).expect("native provision")),
            &mut || drop(wasm.provision(&spec).expect("wasm provision")),
        ],
    );
    let [n_triv, w_triv] = interleaved(
        300,
        1000,
        [
            &mut || drop(native.example_properties().expect("native trivial")),
            &mut || drop(wasm.example_properties().expect("wasm trivial")),
        ],
    );
    r.push(Row::from_samples(
        "provision.native",
        "provision, native (NativePlugin::sdk_instance)",
        Unit::Nanos,
        &n_prov,
    ));
    r.push(Row::from_samples(
        "provision.wasm",
        "provision, wasm via Host (fuel + deadline on)",
        Unit::Nanos,
        &w_prov,
    ));
    r.push(Row::from_samples(
        "trivial.native",
        "trivial call (example_properties), native",
        Unit::Nanos,
        &n_triv,
    ));
    r.push(Row::from_samples(
        "trivial.wasm",
        "trivial call (example_properties), wasm",
        Unit::Nanos,
        &w_triv,
    ));
    let w_desc = batched(300, 50, || {
        drop(wasm.describe_instances(&tags, false).expect("describe"));
    });
    r.push(Row::from_samples(
        "describe.wasm",
        "describe (10 of 6 tags), wasm in-process",
        Unit::Nanos,
        &w_desc,
    ));

    // 2. Fresh instances and traps.
    eprintln!("bench: fresh instances and traps");
    r.section("2. fresh instances and traps (wasm)");
    let trap = || {
        if wasm.destroy("trap", DestroyReason::Terminate).is_ok() {
            panic!("the trap call succeeded");
        }
    };
    for _ in 0..50 {
        trap();
    }
    let trapping = after_setup(500, || {}, trap);
    let fresh = after_setup(500, trap, || {
        drop(
            wasm.example_properties()
                .expect("trivial call on a fresh instance"),
        );
    });
    let next_good = after_setup(500, trap, || {
        drop(wasm.provision(&spec).expect("provision after a trap"));
    });
    r.push(Row::from_samples(
        "trap.call",
        "a trapping call (guest panic; instance dropped)",
        Unit::Nanos,
        &trapping,
    ));
    r.push(Row::from_samples(
        "fresh.instance",
        "fresh instance: trivial call that must instantiate",
        Unit::Nanos,
        &fresh,
    ));
    r.push(Row::from_samples(
        "trap.next_good",
        "trap -> next good call (provision, fresh instance)",
        Unit::Nanos,
        &next_good,
    ));

    // 5. Throughput (done while this process is quiet).
    eprintln!("bench: throughput");
    r.section("5. throughput, provision (20,000 calls per thread, 5 runs)");
    let threads = |n: usize, f: &(dyn Fn() + Sync)| -> f64 {
        let per = 20_000;
        let started = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..n {
                s.spawn(|| {
                    for _ in 0..per {
                        f();
                    }
                });
            }
        });
        (n * per) as f64 / started.elapsed().as_secs_f64()
    };
    let wasm_call = || drop(wasm.provision(&spec).expect("wasm provision"));
    let native_call = || drop(native.provision(&spec).expect("native provision"));
    threads(2, &wasm_call);
    let (mut w1, mut w2, mut n1, mut n2) = (vec![], vec![], vec![], vec![]);
    for _ in 0..5 {
        w1.push(threads(1, &wasm_call));
        w2.push(threads(2, &wasm_call));
        n1.push(threads(1, &native_call));
        n2.push(threads(2, &native_call));
    }
    r.push(Row::from_samples(
        "throughput.wasm.1",
        "wasm, 1 thread",
        Unit::PerSec,
        &w1,
    ));
    r.push(Row::from_samples(
        "throughput.wasm.2",
        "wasm, 2 threads",
        Unit::PerSec,
        &w2,
    ));
    r.push(Row::from_samples(
        "throughput.native.1",
        "native, 1 thread",
        Unit::PerSec,
        &n1,
    ));
    r.push(Row::from_samples(
        "throughput.native.2",
        "native, 2 threads",
        Unit::PerSec,
        &n2,
    ));
    r.ratio(
        "throughput.wasm.scaling",
        "wasm 2 threads / 1 thread",
        "throughput.wasm.2",
        "throughput.wasm.1",
    );
    r.ratio(
        "throughput.native.scaling",
        "native 2 threads / 1 thread",
        "throughput.native.2",
        "throughput.native.1",
    );
    drop(wasm);
    drop(wasm_host);

    // 3. Loading.
    eprintln!("bench: plugin load (compiles 50 plugins once)");
    r.section("3. plugin load (misbehave.wasm, 366 KB; distinct copies for the folder)");
    let load = run_child(&["load", &path(dir)])?;
    let f = |k: &str| -> Vec<f64> {
        load[k]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    r.push(Row::from_samples(
        "load.one.compile",
        "one plugin, compiled (host start included)",
        Unit::Millis,
        &f("compile_one_ms"),
    ));
    r.push(Row::from_samples(
        "load.one.hit",
        "one plugin, cache hit (host start included)",
        Unit::Millis,
        &f("hit_one_ms"),
    ));
    r.push(Row::from_samples(
        "load.one.hit_file",
        "one plugin, cache hit, load_file into a running host",
        Unit::Millis,
        &f("hit_file_ms"),
    ));
    r.push(Row::from_samples(
        "load.fifty.cold",
        "50 plugins, compiled",
        Unit::Millis,
        &f("cold_fifty_ms"),
    ));
    r.push(Row::from_samples(
        "load.fifty.warm",
        "50 plugins, cache hit",
        Unit::Millis,
        &f("warm_fifty_ms"),
    ));
    let per: Vec<f64> = f("warm_fifty_ms").iter().map(|m| m / 50.0).collect();
    r.push(Row::from_samples(
        "load.fifty.warm_per",
        "50 plugins, cache hit, per plugin",
        Unit::Millis,
        &per,
    ));
    r.ratio(
        "load.one.ratio",
        "one plugin, compile / cache hit",
        "load.one.compile",
        "load.one.hit",
    );

    // 4. Memory.
    eprintln!("bench: memory");
    r.section("4. memory (RSS, one process per figure; each instance has served one provision)");
    for n in [1usize, 100, 1000] {
        let runs: Vec<Value> = (0..3)
            .map(|_| run_child(&["rss-instances", &path(dir), &n.to_string()]))
            .collect::<Result<_>>()?;
        let per: Vec<f64> = runs.iter().filter_map(|v| v["per_kib"].as_f64()).collect();
        r.push(Row::from_samples(
            &format!("rss.instance.{n}"),
            &format!("RSS per warm instance, {n} instance(s)"),
            Unit::Kib,
            &per,
        ));
    }
    let plugins = run_child(&["rss-plugins", &path(dir)])?;
    r.push(Row::single(
        "rss.host.100_plugins",
        "RSS of a host with 100 distinct plugins loaded",
        Unit::Kib,
        plugins["loaded_kib"].as_f64().unwrap_or(f64::NAN),
    ));
    r.push(Row::single(
        "rss.host.empty",
        "RSS of the same host with no plugin",
        Unit::Kib,
        plugins["empty_kib"].as_f64().unwrap_or(f64::NAN),
    ));
    r.push(Row::single(
        "rss.per_plugin",
        "RSS per loaded plugin (100 plugins)",
        Unit::Kib,
        plugins["per_plugin_kib"].as_f64().unwrap_or(f64::NAN),
    ));

    // 6. Groups.
    eprintln!("bench: groups of 1,000");
    r.section("6. group of 1,000 + flavor-vanilla (wasm), commit -> converged (3 runs)");
    let tmp = std::env::temp_dir();
    let shm = Path::new("/dev/shm");
    let mut cases = vec![
        (
            "instance-simulator",
            tmp.clone(),
            "group.instance-simulator",
            "instance-simulator (kv in memory)".to_owned(),
        ),
        (
            "instance-file",
            tmp.clone(),
            "group.instance-file",
            format!("instance-file (a JSON file each, in {})", tmp.display()),
        ),
    ];
    if shm.is_dir() {
        cases.push((
            "instance-file",
            shm.to_owned(),
            "group.instance-file.tmpfs",
            "instance-file, files on tmpfs (/dev/shm)".to_owned(),
        ));
    }
    for (plugin, base, key, what) in cases {
        let ms: Vec<f64> = (0..3)
            .map(|_| {
                run_child(&["group", &path(dir), plugin, "1000", &path(&base)])
                    .map(|v| v["ms"].as_f64().unwrap_or(f64::NAN))
            })
            .collect::<Result<_>>()?;
        r.push(Row::from_samples(key, &what, Unit::Millis, &ms));
    }

    // 1c. JSON-RPC over a unix socket, last.
    eprintln!("bench: JSON-RPC");
    r.section(
        "1c. JSON-RPC 2.0 over HTTP/1.1 on a unix socket (rpc::client::Client, kept-alive connection)",
    );
    let rpc = Rpc::start(dir, cli)?;
    r.notes.push(rpc.how.clone());
    let provision_params = |s: &Spec| json!({"Type": "", "Spec": s}).to_string();
    let rpc_provision = || {
        let out = rpc.call("Instance.Provision", &provision_params(&spec));
        let v: Value = serde_json::from_str(&out).expect("provision result");
        assert_eq!(v["ID"], id.as_str(), "RPC disagrees on the instance ID");
    };
    let describe_params = json!({"Type": "", "Tags": tags, "Properties": false}).to_string();
    let rpc_describe = || {
        let out = rpc.call("Instance.DescribeInstances", &describe_params);
        let v: Value = serde_json::from_str(&out).expect("describe result");
        assert_eq!(
            v["Descriptions"].as_array().map(Vec::len),
            Some(bench_instance::DESCRIBED)
        );
    };
    let rpc_prov = batched(100, 20, rpc_provision);
    let started = Instant::now();
    let rpc_desc = batched(100, 20, rpc_describe);
    let rpc_desc_rate = (100 * 20) as f64 / started.elapsed().as_secs_f64();
    // The in-process describe again, now, for a rate taken in the same conditions.
    let (desc_host, _desc_dir) = {
        let d = folder(dir, &[PLUGIN])?;
        (host(d.path())?, d)
    };
    let inproc = desc_host.instance(PLUGIN)?;
    let started = Instant::now();
    let w_desc2 = batched(100, 200, || {
        drop(inproc.describe_instances(&tags, false).expect("describe"))
    });
    let inproc_rate = (101 * 200) as f64 / started.elapsed().as_secs_f64();
    drop(rpc);
    r.push(Row::from_samples(
        "provision.rpc",
        "Instance.Provision over the socket",
        Unit::Nanos,
        &rpc_prov,
    ));
    r.push(Row::from_samples(
        "describe.rpc",
        "Instance.DescribeInstances over the socket",
        Unit::Nanos,
        &rpc_desc,
    ));
    r.push(Row::single(
        "describe.rpc.rate",
        "Instance.DescribeInstances over the socket, calls/s",
        Unit::PerSec,
        rpc_desc_rate,
    ));
    r.push(Row::from_samples(
        "describe.wasm.again",
        "describe in-process (wasm), same conditions",
        Unit::Nanos,
        &w_desc2,
    ));
    r.push(Row::single(
        "describe.wasm.rate",
        "describe in-process (wasm), calls/s",
        Unit::PerSec,
        inproc_rate,
    ));

    r.section("ratios (medians of this run)");
    r.ratio(
        "ratio.provision.wasm_native",
        "provision: wasm / native",
        "provision.wasm",
        "provision.native",
    );
    r.ratio(
        "ratio.provision.rpc_wasm",
        "provision: JSON-RPC socket / in-process wasm",
        "provision.rpc",
        "provision.wasm",
    );
    r.ratio(
        "ratio.provision.rpc_native",
        "provision: JSON-RPC socket / native",
        "provision.rpc",
        "provision.native",
    );
    r.ratio(
        "ratio.describe.rpc_wasm",
        "describe: JSON-RPC socket / in-process wasm",
        "describe.rpc",
        "describe.wasm.again",
    );
    r.ratio(
        "ratio.trivial.wasm_native",
        "trivial call: wasm / native",
        "trivial.wasm",
        "trivial.native",
    );

    r.target(
        "ratio.provision.wasm_native",
        "sandboxed provision / native",
        true,
        2.0,
    );
    r.target("trivial.wasm", "trivial call, wasm", true, 150.0);
    r.target(
        "ratio.provision.rpc_wasm",
        "JSON-RPC socket / in-process wasm (provision)",
        false,
        8.0,
    );
    r.target("fresh.instance", "fresh instance", true, 15_000.0);
    r.target("trap.next_good", "trap -> next good call", true, 30_000.0);
    r.target(
        "load.fifty.warm_per",
        "cache-hit load per plugin (folder of 50)",
        true,
        1.0,
    );
    r.target(
        "load.one.hit_file",
        "cache-hit load, one plugin into a running host",
        true,
        1.0,
    );
    for n in [1, 100, 1000] {
        r.target(
            &format!("rss.instance.{n}"),
            &format!("RSS per warm instance ({n})"),
            true,
            64.0,
        );
    }
    r.target(
        "throughput.wasm.scaling",
        "2-thread throughput / 1 thread (wasm)",
        false,
        1.9,
    );
    r.target(
        "group.instance-file",
        "group of 1,000 on instance-file",
        true,
        60.0,
    );
    r.notes.push(
        "trivial call = example-properties: no arguments, an option<string> result (a call \
         plus wasmtime's post-return call); natively it is the Instance trait's default and \
         never reaches the plugin"
            .into(),
    );
    r.notes.push(
        "provision sends Spec{Properties (1,024 bytes), 5 Tags}; the RPC client serialises the \
         params on each call, as InfraKit's client does; native, wasm and RPC return the same ID"
            .into(),
    );
    Ok(r)
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

fn child(args: &[String]) -> Result<Value> {
    let a = |i: usize| -> Result<&str> {
        args.get(i)
            .map(String::as_str)
            .with_context(|| format!("bench child: missing argument {i}"))
    };
    match a(0)? {
        "load" => child_load(Path::new(a(1)?)),
        "rss-instances" => child_rss_instances(Path::new(a(1)?), a(2)?.parse()?),
        "rss-plugins" => child_rss_plugins(Path::new(a(1)?)),
        "compare" => {
            let read = |p: &str| -> Result<Value> {
                Ok(serde_json::from_str(
                    &std::fs::read_to_string(p).with_context(|| p.to_owned())?,
                )?)
            };
            print!("{}", compare(&read(a(1)?)?, &read(a(2)?)?));
            std::process::exit(0);
        }
        "profile" => child_profile(Path::new(a(1)?), a(2)?, a(3)?.parse()?),
        "precompile" => child_precompile(Path::new(a(1)?), Path::new(a(2)?)),
        "group" => child_group(
            Path::new(a(1)?),
            a(2)?,
            a(3)?.parse()?,
            args.get(4).map(Path::new),
        ),
        other => bail!("unknown child {other}"),
    }
}

/// Compile against cache hit, for one plugin and a folder of 50 distinct copies.
fn child_load(dir: &Path) -> Result<Value> {
    let source = std::fs::read(dir.join("misbehave.wasm"))?;
    let work = tempfile::tempdir()?;
    let one = work.path().join("one");
    let fifty = work.path().join("fifty");
    let spare = work.path().join("spare");
    for d in [&one, &fifty, &spare] {
        std::fs::create_dir_all(d)?;
    }
    std::fs::write(one.join("p.wasm"), &source)?;
    for i in 0..50 {
        std::fs::write(fifty.join(format!("p{i:02}.wasm")), distinct(&source, i))?;
    }
    let time = |folder: &Path, cache: &Path, expect: CacheOutcome| -> Result<f64> {
        let started = Instant::now();
        let host = Host::builder()
            .plugin_dir(folder)
            .cache_dir(cache)
            .build()?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let plugins = host.plugins();
        if plugins.is_empty() || plugins.iter().any(|p| p.cache != Some(expect)) {
            bail!("expected every load to be {expect:?}");
        }
        Ok(ms)
    };
    let mut compile_one = Vec::new();
    for i in 0..3 {
        compile_one.push(time(
            &one,
            &work.path().join(format!("cache-one-{i}")),
            CacheOutcome::Miss,
        )?);
    }
    let cache = work.path().join("cache");
    time(&one, &cache, CacheOutcome::Miss)?;
    let hit_one: Vec<f64> = (0..20)
        .map(|_| time(&one, &cache, CacheOutcome::Hit))
        .collect::<Result<_>>()?;
    // One plugin loaded into a host that is already running.
    let running = Host::builder()
        .plugin_dir(&spare)
        .cache_dir(&cache)
        .build()?;
    let hit_file: Vec<f64> = (0..20)
        .map(|_| -> Result<f64> {
            let started = Instant::now();
            let info = running.load_file(&one.join("p.wasm"))?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if info.cache != Some(CacheOutcome::Hit) {
                bail!("expected a cache hit");
            }
            running.unload("p");
            Ok(ms)
        })
        .collect::<Result<_>>()?;
    let cold_fifty = time(&fifty, &cache, CacheOutcome::Miss)?;
    let warm_fifty: Vec<f64> = (0..5)
        .map(|_| time(&fifty, &cache, CacheOutcome::Hit))
        .collect::<Result<_>>()?;
    Ok(json!({
        "bytes": source.len(),
        "compile_one_ms": compile_one, "hit_one_ms": hit_one, "hit_file_ms": hit_file,
        "cold_fifty_ms": [cold_fifty], "warm_fifty_ms": warm_fifty,
    }))
}

/// `wasm` with a custom section appended: same code, different bytes.
fn distinct(wasm: &[u8], i: usize) -> Vec<u8> {
    let name = b"deploykit-bench";
    let payload = format!("copy {i}");
    let body_len = 1 + name.len() + payload.len();
    let mut out = wasm.to_vec();
    out.push(0); // custom section id
    out.push(u8::try_from(body_len).expect("short section"));
    out.push(u8::try_from(name.len()).expect("short name"));
    out.extend_from_slice(name);
    out.extend_from_slice(payload.as_bytes());
    out
}

/// RSS growth per warm instance: `n` calls held in flight at once (each
/// provisions, then sleeps in the guest), so the pool grows to `n` instances.
fn child_rss_instances(dir: &Path, n: usize) -> Result<Value> {
    let work = folder(dir, &[PLUGIN])?;
    std::fs::write(
        work.path().join(format!("{PLUGIN}.toml")),
        format!("[limits]\npool-size = {}\n", n.max(4)),
    )?;
    let host = host(work.path())?;
    let inst = host.instance(PLUGIN)?;
    let spec = spec();
    // Warm the host's code paths, then empty the pool with a trap.
    for _ in 0..20 {
        inst.provision(&spec)?;
        let _ = inst.destroy("trap", DestroyReason::Terminate);
    }
    let before = rss_kib().context("no RSS")?;
    let started = Instant::now();
    let sleep_ms = 300u64;
    if n == 1 {
        inst.provision(&spec)?;
    } else {
        let mut sleepy = spec.clone();
        sleepy.tags.insert(SLEEP_TAG.into(), sleep_ms.to_string());
        let sleepy = Arc::new(sleepy);
        let handles: Vec<_> = (0..n)
            .map(|_| {
                let (inst, sleepy) = (inst.clone(), sleepy.clone());
                std::thread::spawn(move || inst.provision(&sleepy).map(drop))
            })
            .collect();
        for h in handles {
            h.join().expect("provision thread")?;
        }
        if started.elapsed() > Duration::from_millis(sleep_ms * 2) {
            bail!("the {n} calls did not overlap: the pool did not grow to {n}");
        }
    }
    let after = rss_kib().context("no RSS")?;
    Ok(json!({
        "n": n, "before_kib": before, "after_kib": after,
        "per_kib": (after as f64 - before as f64) / n as f64,
    }))
}

/// RSS of a host with no plugin, then with 100 distinct plugins loaded from the cache.
fn child_rss_plugins(dir: &Path) -> Result<Value> {
    let source = std::fs::read(dir.join(format!("{PLUGIN}.wasm")))?;
    let work = tempfile::tempdir()?;
    let plugins = work.path().join("plugins");
    let empty = work.path().join("empty");
    let cache = work.path().join("cache");
    std::fs::create_dir_all(&plugins)?;
    std::fs::create_dir_all(&empty)?;
    for i in 0..100 {
        std::fs::write(plugins.join(format!("p{i:03}.wasm")), distinct(&source, i))?;
    }
    // Fill the cache in another process, so this one never ran Cranelift.
    let filled = Command::new(std::env::current_exe()?)
        .args(["child", "precompile"])
        .arg(&plugins)
        .arg(&cache)
        .output()?;
    if !filled.status.success() {
        bail!("precompiling the 100 plugins failed");
    }
    let host = Host::builder()
        .plugin_dir(&empty)
        .cache_dir(&cache)
        .build()?;
    let empty_kib = rss_kib().context("no RSS")?;
    let loaded = host.load_dir(&plugins)?;
    if loaded != 100
        || host
            .plugins()
            .iter()
            .any(|p| p.cache != Some(CacheOutcome::Hit))
    {
        bail!("expected 100 plugins loaded from the cache, got {loaded}");
    }
    let loaded_kib = rss_kib().context("no RSS")?;
    Ok(json!({
        "empty_kib": empty_kib, "loaded_kib": loaded_kib,
        "per_plugin_kib": (loaded_kib as f64 - empty_kib as f64) / 100.0,
    }))
}

/// Runs `n` calls of one kind in [`profile_loop`], for a profiler such as
/// `valgrind --tool=callgrind --toggle-collect='*profile_loop*'`.
fn child_profile(dir: &Path, what: &str, n: usize) -> Result<Value> {
    let work = folder(dir, &[PLUGIN])?;
    let cache = tempfile::tempdir()?;
    // Compile in a child, so the profile of this process holds no Cranelift.
    let filled = Command::new(std::env::current_exe()?)
        .args(["child", "precompile"])
        .arg(work.path())
        .arg(cache.path())
        .output()?;
    if !filled.status.success() {
        bail!("precompiling failed");
    }
    let host = Host::builder()
        .plugin_dir(work.path())
        .cache_dir(cache.path())
        .quarantine(QuarantinePolicy {
            faults: usize::MAX,
            ..QuarantinePolicy::default()
        })
        .build()?;
    let inst = host.instance(PLUGIN)?;
    let native = NativePlugin::sdk_instance(PLUGIN, BenchInstance);
    let spec = spec();
    let trap = || drop(inst.destroy("trap", DestroyReason::Terminate));
    let f: Box<dyn Fn()> = match what {
        "trivial" => Box::new(|| drop(inst.example_properties())),
        "provision" => Box::new(|| drop(inst.provision(&spec))),
        "native-provision" => Box::new(|| drop(native.provision(&spec))),
        "fresh" => Box::new(|| {
            trap();
            drop(inst.example_properties());
        }),
        "trap" => Box::new(trap),
        "load" => Box::new(|| {
            host.load_file(&work.path().join(format!("{PLUGIN}.wasm")))
                .expect("load");
        }),
        other => bail!("unknown profile case {other}"),
    };
    for _ in 0..10 {
        f();
    }
    let started = Instant::now();
    profile_loop(n, &*f);
    Ok(json!({"what": what, "n": n, "ns_per_call": started.elapsed().as_nanos() as f64 / n as f64}))
}

#[inline(never)]
fn profile_loop(n: usize, f: &dyn Fn()) {
    for _ in 0..n {
        f();
    }
}

/// Loads a folder with a cache, compiling what is missing.
fn child_precompile(plugins: &Path, cache: &Path) -> Result<Value> {
    let host = Host::builder()
        .plugin_dir(plugins)
        .cache_dir(cache)
        .build()?;
    Ok(json!({"loaded": host.plugins().len()}))
}

/// Commit to converged for a group of `n` on `plugin` with flavor-vanilla.
fn child_group(dir: &Path, plugin: &str, n: u32, base: Option<&Path>) -> Result<Value> {
    let work = folder_in(base, dir, &[plugin, "flavor-vanilla"])?;
    let kv = Arc::new(MemoryKv::default());
    let host = Host::builder()
        .plugin_dir(work.path())
        .kv_store(kv.clone())
        .build()?;
    let store = Arc::new(StateStore::in_memory()?);
    let options = GroupOptions::default()
        .poll_interval(Duration::from_millis(50))
        .max_parallel(8);
    let controller = GroupController::start(&host, store, options)?;
    host.register_native(
        GroupController::NAME,
        NativePlugin::new().with_group(controller.clone()),
    );
    let group = host.group(GroupController::NAME)?;
    let properties = format!(
        r#"{{"Allocation":{{"Size":{n}}},"Instance":{{"Plugin":"{plugin}","Properties":{{"Type":"compute"}}}},"Flavor":{{"Plugin":"flavor-vanilla","Properties":{{"Init":["echo hi"],"Tags":{{"tier":"bench"}}}}}}}}"#
    );
    let spec = GroupSpec {
        id: "bench".into(),
        properties: Json::new(properties)?,
    };
    // Watching must not slow the group down: `describe_group` lists every
    // member through the plugin (1,000 files for instance-file), so the
    // watch counts the members from outside (instance files, kv keys) and
    // asks `describe_group` only once they are all there.
    let instances = work.path().join("instances");
    let members = || -> usize {
        if plugin == "instance-file" {
            std::fs::read_dir(&instances).map_or(0, |d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .count()
            })
        } else {
            use deploykit_host::KvStore;
            kv.list_keys(plugin, "instance/").map_or(0, |k| k.len())
        }
    };
    let started = Instant::now();
    group.commit_group(&spec, false)?;
    loop {
        if members() >= n as usize && group.describe_group("bench")?.converged {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("did not converge in 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let took = started.elapsed();
    let described = group.describe_group("bench")?.instances.len();
    if described != n as usize {
        bail!("converged with {described} described, not {n}");
    }
    controller.shutdown();
    Ok(json!({"plugin": plugin, "n": n, "ms": took.as_secs_f64() * 1000.0}))
}

/// The JSON-RPC server of case 1c and how it was run.
struct Rpc {
    socket: PathBuf,
    /// Keeps its connection open between calls, as Go's HTTP client does for InfraKit.
    client: deploykit_host::rpc::client::Client,
    how: String,
    child: Option<Child>,
    _work: tempfile::TempDir,
    _thread: Option<std::thread::JoinHandle<()>>,
}

impl Rpc {
    fn start(dir: &Path, cli: Option<&Path>) -> Result<Rpc> {
        let work = tempfile::tempdir()?;
        let plugins = work.path().join("plugins");
        let sockets = work.path().join("sockets");
        let state = work.path().join("state");
        for d in [&plugins, &sockets, &state] {
            std::fs::create_dir_all(d)?;
        }
        std::fs::copy(
            dir.join(format!("{PLUGIN}.wasm")),
            plugins.join(format!("{PLUGIN}.wasm")),
        )?;
        let socket = sockets.join(PLUGIN);
        let bridge = cli.filter(|cli| {
            Command::new(cli)
                .args(["serve", "--help"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--sockets"))
        });
        if let Some(cli) = bridge {
            let child = Command::new(cli)
                .arg("serve")
                .arg("--plugins")
                .arg(&plugins)
                .arg("--state")
                .arg(&state)
                .arg("--sockets")
                .arg(&sockets)
                .env("RUST_BACKTRACE", "0")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("cannot run {}", cli.display()))?;
            let rpc = Rpc {
                client: client(&socket),
                socket,
                how: "1c: `deploykit serve --sockets` (the bridge) in its own process".into(),
                child: Some(child),
                _work: work,
                _thread: None,
            };
            rpc.wait()?;
            return Ok(rpc);
        }
        // The bridge has not landed: serve the plugin from a thread of this process.
        let host = host(&plugins)?;
        let backend = host.instance(PLUGIN)?;
        let listener_path = socket.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let _host = host;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async move {
                let listener = deploykit_host::rpc::server::bind(&listener_path).expect("bind");
                ready_tx.send(()).expect("ready");
                let handler: deploykit_host::rpc::server::Handler =
                    Arc::new(move |method: &str, params: &str| {
                        let m = method.strip_prefix("Instance.").ok_or_else(|| {
                            deploykit_host::rpc::jsonrpc::RpcError::unknown_service(method)
                        })?;
                        Ok(deploykit_host::wire::call_instance(
                            backend.as_ref(),
                            m,
                            params,
                        )?)
                    });
                deploykit_host::rpc::server::serve(listener, handler, std::future::pending()).await;
            });
        });
        ready_rx.recv_timeout(Duration::from_secs(10))?;
        let rpc = Rpc {
            client: client(&socket),
            socket,
            how: "1c: `deploykit serve --sockets` not available; the plugin was served by \
                  rpc::server on a thread of the benchmark process (same hyper server and \
                  wire::call_instance)"
                .into(),
            child: None,
            _work: work,
            _thread: Some(thread),
        };
        rpc.wait()?;
        Ok(rpc)
    }

    fn wait(&self) -> Result<()> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if self.socket.exists()
                && deploykit_host::rpc::client::call(
                    &self.socket,
                    "Instance.Validate",
                    r#"{"Properties":{}}"#,
                    RPC_TIMEOUT,
                )
                .is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("nothing answers on {}", self.socket.display())
    }

    fn call(&self, method: &str, params: &str) -> String {
        self.client
            .call(method, params)
            .unwrap_or_else(|e| panic!("{method} over {}: {e}", self.socket.display()))
    }
}

fn client(socket: &Path) -> deploykit_host::rpc::client::Client {
    deploykit_host::rpc::client::Client::new(
        deploykit_host::rpc::client::Endpoint::Unix(socket.to_owned()),
        RPC_TIMEOUT,
    )
}

impl Drop for Rpc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM for a clean shutdown, then reap.
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
