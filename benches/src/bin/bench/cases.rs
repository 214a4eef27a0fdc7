//! The in-process cases of the table, in the order they are printed, with the targets of issue 7.

use super::*;

pub(super) fn run(dir: &Path, cli: Option<&Path>) -> Result<Report> {
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
    r.section("2. fresh instances and traps (wasm; the default pooling allocator, then on-demand)");
    let (trapping, fresh, next_good) = fresh_and_traps(wasm.as_ref(), &spec);
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
    // The same three with on-demand instances (`HostBuilder::on_demand_instances`).
    let on_demand_host = host_builder(bench_dir.path())
        .on_demand_instances()
        .build()?;
    let on_demand = on_demand_host.instance(PLUGIN)?;
    let (trapping, fresh, next_good) = fresh_and_traps(on_demand.as_ref(), &spec);
    for (key, label, samples) in [
        (
            "trap.call.on_demand",
            "a trapping call, on-demand instances",
            &trapping,
        ),
        (
            "fresh.instance.on_demand",
            "fresh instance, on-demand instances",
            &fresh,
        ),
        (
            "trap.next_good.on_demand",
            "trap -> next good call, on-demand instances",
            &next_good,
        ),
    ] {
        r.push(Row::from_samples(key, label, Unit::Nanos, samples));
    }
    drop(on_demand);
    drop(on_demand_host);

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
    // Three processes per figure.
    let runs = [
        (1usize, false),
        (100, false),
        (1000, false),
        (100, true),
        (1000, true),
    ];
    for (n, on_demand) in runs {
        let mut args = vec!["rss-instances".to_owned(), path(dir), n.to_string()];
        let (key, label) = if on_demand {
            args.push("on-demand".into());
            (
                format!("rss.instance.{n}.on_demand"),
                format!("RSS per warm instance, {n} instances, on-demand"),
            )
        } else {
            (
                format!("rss.instance.{n}"),
                format!("RSS per warm instance, {n} instance(s)"),
            )
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let per: Vec<f64> = (0..3)
            .map(|_| run_child(&args))
            .collect::<Result<Vec<Value>>>()?
            .iter()
            .filter_map(|v| v["per_kib"].as_f64())
            .collect();
        r.push(Row::from_samples(&key, &label, Unit::Kib, &per));
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
        if plugin == "instance-file" {
            // The filesystem's own floor, measured right before the group:
            // this VM's disk varies several-fold between runs.
            let ms = (0..3)
                .map(|_| files_natively(&base, 1000))
                .collect::<Result<Vec<f64>>>()?;
            r.push(Row::from_samples(
                &format!("{key}.native_files"),
                &format!("  its file work done natively, in {}", base.display()),
                Unit::Millis,
                &ms,
            ));
        }
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
        "fresh.instance.on_demand",
        "fresh instance, on-demand (opt-out)",
        true,
        15_000.0,
    );
    r.target(
        "trap.next_good.on_demand",
        "trap -> next good call, on-demand (opt-out)",
        true,
        30_000.0,
    );
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
    for n in [100, 1000] {
        r.target(
            &format!("rss.instance.{n}.on_demand"),
            &format!("RSS per warm instance ({n}), on-demand"),
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
        &format!("group of 1,000 on instance-file, in {}", tmp.display()),
        true,
        60.0,
    );
    // The same on tmpfs, where the disk's own variance is out of the figure.
    r.target(
        "group.instance-file.tmpfs",
        "group of 1,000 on instance-file, on tmpfs",
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
        "its file work done natively = what instance-file does for a group of 1,000, in Rust \
         std: write each file beside its name, hard-link it into place, unlink the temporary \
         name, then list the folder and read every file once (one describe)"
            .into(),
    );
    r.notes.push(
        "RSS per warm instance = RSS growth / n while n + 1 threads each hold a call in \
         flight, each thread having first called the plugin one at a time on one warm \
         instance (so per-process and per-thread memory is in the baseline)"
            .into(),
    );
    r.notes.push(
        "provision sends Spec{Properties (1,024 bytes), 5 Tags}; the RPC client serialises the \
         params on each call, as InfraKit's client does; native, wasm and RPC return the same ID"
            .into(),
    );
    Ok(r)
}

/// A trapping call, a trivial call that must instantiate, and a provision
/// right after a trap: 500 samples each, after 50 warm-up traps.
fn fresh_and_traps(
    plugin: &dyn deploykit_host::Instance,
    spec: &Spec,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let trap = || {
        if plugin.destroy("trap", DestroyReason::Terminate).is_ok() {
            panic!("the trap call succeeded");
        }
    };
    for _ in 0..50 {
        trap();
    }
    let trapping = after_setup(500, || {}, trap);
    let fresh = after_setup(500, trap, || {
        drop(
            plugin
                .example_properties()
                .expect("trivial call on a fresh instance"),
        );
    });
    let next_good = after_setup(500, trap, || {
        drop(plugin.provision(spec).expect("provision after a trap"));
    });
    (trapping, fresh, next_good)
}

/// Milliseconds to do natively what instance-file does for a group of `n`
/// in a fresh folder under `base`: write each instance file beside its name,
/// hard-link it into place and unlink the temporary name, then list the
/// folder and read every file once (one describe).
fn files_natively(base: &Path, n: usize) -> Result<f64> {
    let dir = tempfile::tempdir_in(base)?;
    let record = format!(
        r#"{{"ID":"instance-0","Tags":{{{}}}}}"#,
        "\"k\":\"v\",".repeat(40)
    );
    let started = Instant::now();
    for i in 0..n {
        let temp = dir.path().join(format!(".instance-{i}.tmp"));
        std::fs::write(&temp, &record)?;
        std::fs::hard_link(&temp, dir.path().join(format!("instance-{i}")))?;
        std::fs::remove_file(&temp)?;
    }
    let mut read = 0;
    for entry in std::fs::read_dir(dir.path())? {
        read += std::fs::read(entry?.path())?.len();
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if read != n * record.len() {
        bail!("read back {read} bytes, not {}", n * record.len());
    }
    Ok(ms)
}
