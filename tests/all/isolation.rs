use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use deploykit_host::{Error, Fault, Host, InstancePool, Json, PluginError, QuarantinePolicy, Spec};
use deploykit_tests::{PluginFolder, TIGHT_LIMITS, host};
use serde_json::{Value, json};

/// Asks `misbehave` to act out `props` (see tests/plugins/misbehave).
fn act(host: &Host, plugin: &str, props: Value) -> deploykit_host::Result<String> {
    let spec = Spec {
        properties: Some(Json::new(props.to_string()).unwrap()),
        ..Spec::default()
    };
    host.instance(plugin)?.provision(&spec)
}

fn misbehaving(manifest: &str) -> Result<(PluginFolder, Host)> {
    let folder = PluginFolder::new()?;
    folder.add("misbehave", "bad", Some(manifest))?;
    folder.add("misbehave", "good", None)?;
    let host = host(&folder)?;
    Ok((folder, host))
}

fn fault(r: deploykit_host::Result<String>) -> Fault {
    match r {
        Err(Error::Fault { fault, .. }) => fault,
        other => panic!("expected a fault, got {other:?}"),
    }
}

#[test]
fn each_fault_is_named_precisely_and_the_next_call_succeeds() -> Result<()> {
    let (_folder, host) = misbehaving(TIGHT_LIMITS)?;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"act": "panic", "message": "boom at step 3"}),
            "panic",
        ),
        (json!({"act": "loop"}), "out-of-fuel"),
        (json!({"act": "recurse"}), "stack-overflow"),
        (json!({"act": "alloc", "mib": 64}), "memory"),
        (json!({"act": "huge-string", "mib": 1}), "result-too-large"),
        (json!({"act": "sleep", "ms": 5000}), "deadline"),
    ];
    for (props, kind) in cases {
        let f = fault(act(&host, "bad", props.clone()));
        assert_eq!(f.kind(), kind, "{props}: {f}");
        assert_eq!(
            act(&host, "bad", json!({"act": "ok"}))?,
            "i-ok",
            "fresh instance after {kind}"
        );
    }
    let f = fault(act(
        &host,
        "bad",
        json!({"act": "panic", "message": "boom at step 3"}),
    ));
    assert_eq!(
        f,
        Fault::Panic {
            message: "boom at step 3".into()
        }
    );
    let err = act(&host, "bad", json!({"act": "loop"}))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "plugin 'bad' instance.provision failed: out of fuel (budget 50000000 per call)"
    );
    let err = act(&host, "bad", json!({"act": "alloc", "mib": 64}))
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("memory limit of 16 MiB exceeded"), "{err}");
    Ok(())
}

#[test]
fn the_deadline_ends_a_plugin_waiting_in_a_host_call() -> Result<()> {
    let (_folder, host) = misbehaving(TIGHT_LIMITS)?;
    let started = Instant::now();
    let f = fault(act(&host, "bad", json!({"act": "sleep", "ms": 10_000})));
    let took = started.elapsed();
    assert_eq!(
        f,
        Fault::DeadlineExceeded {
            deadline: Duration::from_millis(200)
        }
    );
    // Cut off at the 200 ms deadline, not after the 10 s sleep.
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(2),
        "took {took:?}"
    );
    assert_eq!(
        act(&host, "bad", json!({"act": "sleep", "ms": 10}))?,
        "slept",
        "short sleeps still work"
    );
    Ok(())
}

#[test]
fn a_long_list_is_cut_off_while_it_is_copied_out_of_the_plugin() -> Result<()> {
    let (_folder, host) = misbehaving("[limits]\nmax-result-kib = 64\n")?;
    let huge = |count: &str| -> deploykit_host::Tags {
        [("act", "huge-list"), ("count", count)]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into()
    };
    match host
        .instance("bad")?
        .describe_instances(&huge("5000"), false)
    {
        Err(Error::Fault {
            fault: Fault::ResultTooLarge { limit },
            ..
        }) => assert_eq!(limit, 64 << 10),
        other => panic!(
            "a 5,000-entry list passed a 64 KiB cap: {:?}",
            other.map(|l| l.len())
        ),
    }
    assert_eq!(
        host.instance("bad")?
            .describe_instances(&huge("100"), false)?
            .len(),
        100
    );
    Ok(())
}

#[test]
fn a_plugin_error_is_not_a_fault() -> Result<()> {
    let (_folder, host) = misbehaving("")?;
    match act(&host, "bad", json!({"act": "error"})) {
        Err(Error::Plugin {
            source: PluginError::NotFound(m),
            ..
        }) => assert_eq!(m, "nothing here"),
        other => panic!("{other:?}"),
    }
    Ok(())
}

#[test]
fn capabilities_are_denied_unless_granted() -> Result<()> {
    let (_folder, host) = misbehaving("[env]\nGRANTED = \"yes\"\n")?;
    let passwd = act(
        &host,
        "bad",
        json!({"act": "read-file", "path": "/etc/passwd"}),
    );
    assert!(matches!(&passwd, Err(Error::Plugin { .. })), "{passwd:?}");
    assert_eq!(act(&host, "good", json!({"act": "env-count"}))?, "0");
    assert_eq!(act(&host, "bad", json!({"act": "env-count"}))?, "1");
    assert_eq!(
        act(&host, "bad", json!({"act": "env", "name": "GRANTED"}))?,
        "yes"
    );
    assert!(matches!(
        act(&host, "bad", json!({"act": "env", "name": "PATH"})),
        Err(Error::Plugin { .. })
    ));
    let connect = act(
        &host,
        "bad",
        json!({"act": "connect", "addr": "127.0.0.1:9"}),
    );
    assert!(matches!(&connect, Err(Error::Plugin { .. })), "{connect:?}");
    Ok(())
}

#[test]
fn granted_directories_allow_exactly_what_they_grant() -> Result<()> {
    let folder = PluginFolder::new()?;
    let rw = folder.path().join("rw");
    let ro = folder.path().join("ro");
    std::fs::create_dir_all(&ro)?;
    std::fs::write(ro.join("seed.txt"), "seed")?;
    std::fs::write(folder.path().join("secret.txt"), "secret")?;
    let manifest = "[[dirs]]\nhost = \"rw\"\nguest = \"/rw\"\nmode = \"read-write\"\n[[dirs]]\nhost = \"ro\"\nguest = \"/ro\"\n".to_string();
    folder.add("misbehave", "fs", Some(&manifest))?;
    let host = host(&folder)?;
    assert_eq!(
        act(
            &host,
            "fs",
            json!({"act": "write-file", "path": "/rw/a.txt", "content": "hello"})
        )?,
        "written"
    );
    assert_eq!(std::fs::read_to_string(rw.join("a.txt"))?, "hello");
    // More than one stream write (64 KiB each): every chunk lands after the last.
    let big: String = (0..150_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    assert_eq!(
        act(
            &host,
            "fs",
            json!({"act": "write-file", "path": "/rw/big.txt", "content": big})
        )?,
        "written"
    );
    assert_eq!(std::fs::read_to_string(rw.join("big.txt"))?, big);
    for line in ["one\n", "two\n"] {
        assert_eq!(
            act(
                &host,
                "fs",
                json!({"act": "append-file", "path": "/rw/log.txt", "content": line})
            )?,
            "appended"
        );
    }
    assert_eq!(std::fs::read_to_string(rw.join("log.txt"))?, "one\ntwo\n");
    assert_eq!(
        act(
            &host,
            "fs",
            json!({"act": "read-file", "path": "/rw/a.txt"})
        )?,
        "hello"
    );
    assert_eq!(
        act(
            &host,
            "fs",
            json!({"act": "read-file", "path": "/ro/seed.txt"})
        )?,
        "seed"
    );
    let write_ro = act(
        &host,
        "fs",
        json!({"act": "write-file", "path": "/ro/b.txt", "content": "x"}),
    );
    assert!(
        matches!(write_ro, Err(Error::Plugin { .. })),
        "read-only grant refuses writes"
    );
    assert!(!ro.join("b.txt").exists());
    for escape in ["/rw/../secret.txt", "/ro/../secret.txt", "/secret.txt"] {
        let r = act(&host, "fs", json!({"act": "read-file", "path": escape}));
        assert!(matches!(r, Err(Error::Plugin { .. })), "{escape}: {r:?}");
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(folder.path().join("secret.txt"), rw.join("link"))?;
        let r = act(&host, "fs", json!({"act": "read-file", "path": "/rw/link"}));
        assert!(
            matches!(r, Err(Error::Plugin { .. })),
            "symlink out of the grant: {r:?}"
        );
    }
    Ok(())
}

#[test]
fn a_good_plugin_keeps_serving_while_another_faults() -> Result<()> {
    let (_folder, host) = misbehaving(TIGHT_LIMITS)?;
    let stop = Arc::new(AtomicBool::new(false));
    let good = {
        let (host, stop) = (host.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                assert_eq!(
                    act(&host, "good", json!({"act": "ok"})).expect("good plugin call"),
                    "i-ok"
                );
                latencies.push(t.elapsed());
            }
            latencies
        })
    };
    for props in [
        json!({"act": "panic", "message": "x"}),
        json!({"act": "loop"}),
        json!({"act": "recurse"}),
        json!({"act": "alloc", "mib": 64}),
        json!({"act": "sleep", "ms": 300}),
    ] {
        for _ in 0..3 {
            assert!(act(&host, "bad", props.clone()).is_err());
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut latencies = good.join().expect("the good plugin's thread never failed");
    let calls = latencies.len();
    let worst = latencies.iter().copied().max().unwrap_or_default();
    assert!(calls > 10, "the good plugin was called {calls} times");
    // A faulting neighbour must not stall it: no good call ever waited out
    // one of the bad plugin's calls (each runs up to its 200 ms deadline,
    // the sleeps 300 ms), and typical calls stay fast.
    assert!(
        worst < Duration::from_millis(200),
        "worst good call took {worst:?}"
    );
    latencies.sort();
    let median = latencies[latencies.len() / 2];
    assert!(
        median < Duration::from_millis(5),
        "median good call took {median:?}"
    );
    Ok(())
}

#[test]
fn repeated_faults_quarantine_the_plugin_until_the_backoff_ends() -> Result<()> {
    let folder = PluginFolder::new()?;
    folder.add("misbehave", "bad", None)?;
    let policy = QuarantinePolicy {
        faults: 3,
        window: Duration::from_secs(10),
        backoff: Duration::from_millis(300),
        max_backoff: Duration::from_secs(5),
    };
    let host = Host::builder()
        .plugin_dir(folder.path())
        .quarantine(policy)
        .build()?;
    for _ in 0..2 {
        fault(act(
            &host,
            "bad",
            json!({"act": "panic", "message": "again"}),
        ));
    }
    assert_eq!(
        act(&host, "bad", json!({"act": "ok"}))?,
        "i-ok",
        "two faults are not enough"
    );
    fault(act(
        &host,
        "bad",
        json!({"act": "panic", "message": "again"}),
    ));
    let started = Instant::now();
    let err = act(&host, "bad", json!({"act": "ok"})).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(20),
        "quarantine fails fast"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("plugin 'bad' is quarantined until 20"),
        "{text}"
    );
    assert!(text.ends_with("last fault guest panic: again"), "{text}");
    std::thread::sleep(Duration::from_millis(350));
    assert_eq!(
        act(&host, "bad", json!({"act": "ok"}))?,
        "i-ok",
        "back in service after the backoff"
    );
    Ok(())
}

#[test]
fn plugin_output_and_logs_reach_the_host_log_with_the_plugin_name() -> Result<()> {
    let (_folder, host) = misbehaving("")?;
    let captured = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || CaptureWriter(sink.clone()))
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::with_default(subscriber, || -> Result<()> {
        assert_eq!(
            act(
                &host,
                "bad",
                json!({"act": "print", "text": "hello from the guest"})
            )?,
            "printed"
        );
        assert_eq!(
            act(
                &host,
                "bad",
                json!({"act": "log", "text": "logged through the import"})
            )?,
            "logged"
        );
        Ok(())
    })?;
    let log = String::from_utf8(captured.lock().unwrap().clone())?;
    let line = |needle: &str| log.lines().find(|l| l.contains(needle)).map(str::to_owned);
    let stdout = line("hello from the guest").expect("stdout line logged");
    assert!(
        stdout.contains("plugin=bad") && stdout.contains("stream=\"stdout\""),
        "{stdout}"
    );
    assert!(
        line("stream=\"stderr\"").is_some_and(|l| l.contains("hello from the guest")),
        "{log}"
    );
    let logged = line("logged through the import").expect("log import line");
    assert!(
        logged.contains("INFO") && logged.contains("plugin=\"bad\"")
            || logged.contains("plugin=bad"),
        "{logged}"
    );
    Ok(())
}

/// Collects what a tracing subscriber writes.
struct CaptureWriter(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn config_comes_from_the_manifest() -> Result<()> {
    let (_folder, host) = misbehaving("[config]\nregion = \"eu-west-1\"\nretries = 3\n")?;
    let config: Value = serde_json::from_str(&act(&host, "bad", json!({"act": "config"}))?)?;
    assert_eq!(config, json!({"region": "eu-west-1", "retries": 3}));
    assert_eq!(act(&host, "good", json!({"act": "config"}))?, "{}");
    Ok(())
}

#[test]
fn a_trap_during_instantiation_is_reported_as_such() -> Result<()> {
    let folder = PluginFolder::new()?;
    folder.add("start-trap", "start-trap", None)?;
    folder.add("misbehave", "good", None)?;
    let host = host(&folder)?;
    let err = host
        .instance("start-trap")?
        .describe_instances(&Default::default(), false)
        .unwrap_err();
    match &err {
        Error::Instantiate {
            plugin,
            fault: Fault::Panic { message },
        } => {
            assert_eq!(plugin, "start-trap");
            assert_eq!(message, "start-trap traps while it is being instantiated");
        }
        other => panic!("expected an instantiation fault, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("plugin 'start-trap' could not be instantiated: guest panic")
    );
    assert_eq!(act(&host, "good", json!({"act": "ok"}))?, "i-ok");
    Ok(())
}

/// `misbehave` as `bad`, one call at a time under [`TIGHT_LIMITS`], on a host
/// whose pooling allocator has `instances` slots; the manifest comes back
/// for plugins added later.
fn pooled_misbehaving(instances: u32) -> Result<(PluginFolder, Host, String)> {
    let folder = PluginFolder::new()?;
    let manifest = format!("{TIGHT_LIMITS}\n").replace("pool-size = 2", "pool-size = 1");
    folder.add("misbehave", "bad", Some(&manifest))?;
    let host = Host::builder()
        .plugin_dir(folder.path())
        .quarantine(deploykit_tests::no_quarantine())
        .instance_pool(InstancePool {
            instances,
            ..InstancePool::default()
        })
        .build()?;
    Ok((folder, host, manifest))
}

/// With a pool of one slot, every fault is still named and recovered from;
/// a plugin that needs the slot while another's instance idles in it takes
/// it; a call that finds the slot running another call waits for it until
/// its deadline, and then fails with a clear `PoolFull` error that does not
/// count against the plugin.
#[test]
fn a_full_instance_pool_makes_room_from_idle_instances_and_waits_for_busy_ones() -> Result<()> {
    let (folder, host, manifest) = pooled_misbehaving(1)?;
    for (props, kind) in [
        (json!({"act": "panic", "message": "pooled"}), "panic"),
        (json!({"act": "loop"}), "out-of-fuel"),
        (json!({"act": "alloc", "mib": 64}), "memory"),
    ] {
        assert_eq!(
            fault(act(&host, "bad", props.clone())).kind(),
            kind,
            "{props}"
        );
        assert_eq!(act(&host, "bad", json!({"act": "ok"}))?, "i-ok");
    }
    // `bad` keeps its warm instance in the one slot, idle: `good` takes the
    // slot as it loads (asking for its vendor information is a call) and
    // then again for each call, alternating with `bad`.
    let good = folder.add("misbehave", "good", Some(&manifest))?;
    let info = host.load_file(&good)?;
    assert_eq!((info.calls, info.faults), (1, 0), "{info:?}");
    for _ in 0..3 {
        assert_eq!(act(&host, "good", json!({"act": "ok"}))?, "i-ok");
        assert_eq!(act(&host, "bad", json!({"act": "ok"}))?, "i-ok");
    }
    // While `sleeper` runs a call, its slot cannot be freed: `good` (200 ms
    // deadline) waits out its deadline, `patient` (10 s) gets the slot when
    // the call ends.
    let relaxed = manifest.replace(r#"deadline = "200ms""#, r#"deadline = "10s""#);
    for name in ["sleeper", "patient"] {
        host.load_file(&folder.add("misbehave", name, Some(&relaxed))?)?;
    }
    let sleeping = Arc::new(AtomicBool::new(false));
    let busy = {
        let (host, sleeping) = (host.clone(), sleeping.clone());
        std::thread::spawn(move || -> deploykit_host::Result<Vec<String>> {
            // Calls of `sleeper` sleep until one of `good`'s has failed.
            let mut slept = Vec::new();
            while !sleeping.load(Ordering::SeqCst) {
                slept.push(act(&host, "sleeper", json!({"act": "sleep", "ms": 400}))?);
            }
            Ok(slept)
        })
    };
    let started = Instant::now();
    let err = loop {
        let tried = Instant::now();
        match act(&host, "good", json!({"act": "ok"})) {
            Ok(_) if started.elapsed() < Duration::from_secs(5) => {}
            other => break (other.expect_err("`sleeper` never held the slot"), tried),
        }
    };
    sleeping.store(true, Ordering::SeqCst);
    let (err, tried) = err;
    assert!(matches!(err, Error::PoolFull { .. }), "{err:?}");
    assert!(
        tried.elapsed() >= Duration::from_millis(150),
        "failed after {:?}, before its deadline",
        tried.elapsed()
    );
    assert!(
        err.to_string().contains("good") && err.to_string().contains("pool is full"),
        "{err}"
    );
    let patient = Instant::now();
    assert_eq!(act(&host, "patient", json!({"act": "ok"}))?, "i-ok");
    assert!(patient.elapsed() < Duration::from_secs(5));
    let slept = busy.join().expect("the sleeping calls")?;
    assert!(slept.iter().all(|s| s == "slept"), "{slept:?}");
    assert_eq!(act(&host, "good", json!({"act": "ok"}))?, "i-ok");
    let good_info = host.plugin("good").expect("loaded");
    assert_eq!(good_info.faults, 0, "{good_info:?}");
    Ok(())
}

/// A host uses the pooling allocator unless told otherwise, and on-demand
/// instances when told to.
#[test]
fn hosts_pool_instances_by_default_and_map_them_on_demand_when_asked() -> Result<()> {
    let folder = PluginFolder::new()?;
    folder.add("misbehave", "bad", Some(TIGHT_LIMITS))?;
    let pooled = deploykit_tests::host(&folder)?;
    assert_eq!(pooled.instance_pool(), Some(InstancePool::default()));
    let on_demand = Host::builder()
        .plugin_dir(folder.path())
        .on_demand_instances()
        .build()?;
    assert_eq!(on_demand.instance_pool(), None);
    for host in [&pooled, &on_demand] {
        assert_eq!(
            fault(act(host, "bad", json!({"act": "panic", "message": "x"}))).kind(),
            "panic"
        );
        assert_eq!(act(host, "bad", json!({"act": "ok"}))?, "i-ok");
    }
    Ok(())
}

/// A thread gets back the warm instance it used last, even when another
/// thread's instance went idle after it (that one's memory sits in the other
/// core's cache).
#[test]
fn a_thread_gets_back_the_warm_instance_it_last_used() -> Result<()> {
    let (_folder, host) = misbehaving(TIGHT_LIMITS)?;
    let remember = |text: &str| act(&host, "good", json!({"act": "remember", "text": text}));
    std::thread::scope(|s| -> Result<()> {
        let other = s.spawn(|| act(&host, "good", json!({"act": "sleep", "ms": 600})));
        // While the other thread's call holds the first instance, this
        // thread's call gets a second one.
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(remember("mine")?, "", "a second, fresh instance");
        // The other thread's instance is now the most recently idle.
        assert_eq!(other.join().expect("no panic")?, "slept");
        assert_eq!(remember("again")?, "mine", "this thread's own instance");
        Ok(())
    })
}

/// Minor page faults of the calling thread so far (Linux), from `/proc/thread-self/stat`.
#[cfg(target_os = "linux")]
fn thread_minor_faults() -> Result<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat")?;
    // Fields after the command name (in parentheses): state is the first,
    // minflt the eighth.
    let after_name = &stat[stat.rfind(')').ok_or_else(|| anyhow::anyhow!("{stat}"))? + 1..];
    let minflt = after_name.split_whitespace().nth(7);
    Ok(minflt.ok_or_else(|| anyhow::anyhow!("{stat}"))?.parse()?)
}

/// A pooled slot freed by a fault is reset in place (wasmtime's
/// `PAGEMAP_SCAN` reset, Linux 6.7 and later): the fresh instance that takes
/// it sees pristine memory, yet finds its pages resident instead of
/// faulting each of them in again.
#[cfg(target_os = "linux")]
#[test]
fn a_pooled_slot_is_reset_in_place_after_a_fault() -> Result<()> {
    if !wasmtime::PoolingAllocationConfig::is_pagemap_scan_available() {
        eprintln!("skipped: this kernel has no PAGEMAP_SCAN (Linux 6.7 and later)");
        return Ok(());
    }
    let (_folder, host, _) = pooled_misbehaving(2)?;
    let remember = |text: &str| act(&host, "bad", json!({"act": "remember", "text": text}));
    let cycle = |round: usize| -> Result<()> {
        assert_eq!(
            remember(&format!("secret {round}"))?,
            "",
            "a fresh instance"
        );
        assert_eq!(remember("again")?, format!("secret {round}"), "a warm one");
        fault(act(
            &host,
            "bad",
            json!({"act": "panic", "message": "reset"}),
        ));
        Ok(())
    };
    for round in 0..5 {
        cycle(round)?;
    }
    let before = thread_minor_faults()?;
    let rounds = 20;
    for round in 0..rounds {
        cycle(round)?;
    }
    let faults = thread_minor_faults()? - before;
    // Each fresh instance touches about six pages of its linear memory;
    // refaulting them would be over a hundred faults for these rounds.
    assert!(
        faults < rounds as u64,
        "{faults} page faults in {rounds} fault-and-fresh-instance rounds"
    );
    Ok(())
}
