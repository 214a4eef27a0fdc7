//! `bench child …`: the figures measured in a process of their own (load, memory, groups, profiles).

use super::*;

pub(super) fn child(args: &[String]) -> Result<Value> {
    let a = |i: usize| -> Result<&str> {
        args.get(i)
            .map(String::as_str)
            .with_context(|| format!("bench child: missing argument {i}"))
    };
    match a(0)? {
        "load" => child_load(Path::new(a(1)?)),
        "rss-instances" => child_rss_instances(
            Path::new(a(1)?),
            a(2)?.parse()?,
            args.get(3).map(String::as_str) == Some("on-demand"),
        ),
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
        "profile" => child_profile(
            Path::new(a(1)?),
            a(2)?,
            a(3)?.parse()?,
            args.get(4).map(String::as_str) == Some("on-demand"),
        ),
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

/// RSS growth per warm instance. `n + 1` threads each call the plugin one
/// at a time first, on one warm instance, so that everything made once per
/// process or per thread exists before the figure (the host's lazy state,
/// allocator arenas, thread stacks, wasmtime-wasi's runtime for a sleeping
/// guest) and no freed pool slot keeps pages resident. Then they call at
/// once, each provisioning and then sleeping in the guest, so the plugin's
/// pool grows by `n` instances; RSS is read while the threads still live.
fn child_rss_instances(dir: &Path, n: usize, on_demand: bool) -> Result<Value> {
    use std::sync::{Barrier, Mutex};

    let work = folder(dir, &[PLUGIN])?;
    let threads = n + 1;
    std::fs::write(
        work.path().join(format!("{PLUGIN}.toml")),
        format!("[limits]\npool-size = {threads}\n"),
    )?;
    let builder = host_builder(work.path());
    let host = if on_demand {
        builder.on_demand_instances().build()?
    } else {
        // The default pool, with a slot for each thread's call.
        builder
            .instance_pool(InstancePool {
                instances: (threads as u32).max(InstancePool::default().instances),
                ..InstancePool::default()
            })
            .build()?
    };
    let inst = host.instance(PLUGIN)?;
    let sleep_ms = 300u64;
    let sleepy = |ms: u64| {
        let mut s = spec();
        s.tags.insert(SLEEP_TAG.into(), ms.to_string());
        s
    };
    let (brief, long) = (Arc::new(sleepy(1)), Arc::new(sleepy(sleep_ms)));
    let one_at_a_time = Arc::new(Mutex::new(()));
    // Main and every thread meet at each phase: warmed, go, done, leave.
    let phase = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (inst, brief, long) = (inst.clone(), brief.clone(), long.clone());
            let (one_at_a_time, phase) = (one_at_a_time.clone(), phase.clone());
            std::thread::spawn(move || -> deploykit_host::Result<()> {
                {
                    let _turn = one_at_a_time.lock().unwrap_or_else(|p| p.into_inner());
                    for _ in 0..3 {
                        inst.provision(&spec())?;
                        inst.provision(&brief)?;
                    }
                }
                phase.wait();
                phase.wait();
                let done = inst.provision(&long).map(drop);
                phase.wait();
                phase.wait();
                done
            })
        })
        .collect();
    phase.wait();
    let before = rss_kib().context("no RSS")?;
    let started = Instant::now();
    phase.wait();
    phase.wait();
    let overlapped = started.elapsed() < Duration::from_millis(sleep_ms * 2);
    let after = rss_kib().context("no RSS")?;
    phase.wait();
    for w in workers {
        w.join().expect("provision thread")?;
    }
    if !overlapped {
        bail!("the {threads} calls did not overlap: the pool did not grow to {threads}");
    }
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
fn child_profile(dir: &Path, what: &str, n: usize, on_demand: bool) -> Result<Value> {
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
    let mut builder = host_builder(work.path()).cache_dir(cache.path());
    if on_demand {
        builder = builder.on_demand_instances();
    }
    let host = builder.build()?;
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
        "next-good" => Box::new(|| {
            trap();
            drop(inst.provision(&spec));
        }),
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
