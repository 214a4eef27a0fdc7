//! Sandbox stress figures: RSS across 100,000 trapping calls, trap-to-next-call time, and a good
//! plugin's latency alone and while another plugin faults.
//!
//! Usage: `sandbox-stress PLUGIN_DIR` where the folder holds `misbehave.wasm` (`cargo xtask stress`
//! builds it and runs this). Prints a table and the same figures as JSON on the last line.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use deploykit_benches::{Stats, rss_kib, sample};
use deploykit_host::{Host, Json, QuarantinePolicy, Spec};
use serde_json::json;

const TRAPPING_CALLS: usize = 100_000;

fn main() -> Result<()> {
    if std::env::var("RUST_BACKTRACE").is_ok_and(|v| v != "0") {
        eprintln!("note: RUST_BACKTRACE is set; every trap then captures a native backtrace");
    }
    let dir = std::env::args()
        .nth(1)
        .context("usage: sandbox-stress PLUGIN_DIR")?;
    // The faulting plugin's loops end at 20M fuel (a few ms), not the default 2e9.
    std::fs::write(
        std::path::Path::new(&dir).join("misbehave.toml"),
        "[limits]\nfuel = 20_000_000\n",
    )?;
    let host = Host::builder()
        .plugin_dir(&dir)
        // Never quarantine: 1,000 faults within 1 ms do not happen.
        .quarantine(QuarantinePolicy {
            faults: 1000,
            window: Duration::from_millis(1),
            ..QuarantinePolicy::default()
        })
        .build()?;
    // Two names for the same component: one faults, one behaves.
    let wasm = std::path::Path::new(&dir).join("misbehave.wasm");
    let good_path = std::path::Path::new(&dir).join("good.wasm");
    std::fs::copy(&wasm, &good_path)?;
    host.load_file(&good_path)?;

    let ok = spec(json!({"act": "ok"}));
    let panic = spec(json!({"act": "panic", "message": "stress"}));
    let spin = spec(json!({"act": "loop"}));
    let bad = host.instance("misbehave")?;
    let good = host.instance("good")?;
    if good.provision(&ok)? != "i-ok" {
        bail!("misbehave did not answer i-ok");
    }

    // 1. RSS across 100,000 trapping calls (after a warm-up of 1,000).
    for _ in 0..1000 {
        let _ = bad.provision(&panic);
    }
    let rss_before = rss_kib();
    let started = Instant::now();
    let mut rss_mid = Vec::new();
    for i in 0..TRAPPING_CALLS {
        if bad.provision(&panic).is_ok() {
            bail!("a panicking call succeeded");
        }
        if i % 25_000 == 24_999 {
            rss_mid.push(rss_kib());
        }
    }
    let trapping_elapsed = started.elapsed();
    let rss_after = rss_kib();

    // 2. Trap to next good call: the good call right after a trap needs a fresh instance.
    let mut after_trap = Vec::new();
    for _ in 0..2000 {
        let _ = bad.provision(&panic);
        after_trap.extend(sample(1, || {
            bad.provision(&ok).expect("good call after a trap");
        }));
    }
    let after_trap = Stats::of(&mut after_trap);
    let mut warm = sample(20_000, || {
        bad.provision(&ok).expect("warm call");
    });
    let warm = Stats::of(&mut warm);

    // 3. A good plugin's latency alone, then while another plugin faults on the other core.
    let mut alone = sample(200_000, || {
        good.provision(&ok).expect("good call");
    });
    let alone = Stats::of(&mut alone);
    let stop = Arc::new(AtomicBool::new(false));
    let faults = Arc::new(AtomicU64::new(0));
    let noise = {
        let (bad, stop, faults) = (bad.clone(), stop.clone(), faults.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let s = if i.is_multiple_of(20) { &spin } else { &panic };
                let _ = bad.provision(s);
                faults.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let mut faulting = sample(200_000, || {
        good.provision(&ok)
            .expect("good call while the other faults");
    });
    stop.store(true, Ordering::Relaxed);
    noise.join().expect("noise thread");
    let faulting = Stats::of(&mut faulting);

    println!("sandbox stress (misbehave.wasm, {TRAPPING_CALLS} trapping calls)");
    println!("  RSS before trapping calls      {:?} KiB", rss_before);
    println!("  RSS every 25,000 calls         {:?} KiB", rss_mid);
    println!("  RSS after                      {:?} KiB", rss_after);
    println!(
        "  trapping call (panic)          {:.1} µs each on average",
        trapping_elapsed.as_secs_f64() * 1e6 / TRAPPING_CALLS as f64
    );
    println!("  warm good call                 {warm}");
    println!("  good call right after a trap   {after_trap}");
    println!("  good plugin alone              {alone}");
    println!(
        "  good plugin while other faults {faulting} ({} faults meanwhile)",
        faults.load(Ordering::Relaxed)
    );
    println!(
        "  ratio faulting/alone (median)  {:.2}x",
        faulting.median.as_secs_f64() / alone.median.as_secs_f64()
    );
    let figures = json!({
        "rss_before_kib": rss_before, "rss_after_kib": rss_after, "rss_mid_kib": rss_mid,
        "trapping_call_us": trapping_elapsed.as_secs_f64() * 1e6 / TRAPPING_CALLS as f64,
        "warm_call_us": warm.median.as_secs_f64() * 1e6,
        "after_trap_us": after_trap.median.as_secs_f64() * 1e6,
        "alone_us": alone.median.as_secs_f64() * 1e6,
        "while_faulting_us": faulting.median.as_secs_f64() * 1e6,
        "while_faulting_p99_us": faulting.p99.as_secs_f64() * 1e6,
    });
    println!("{figures}");
    Ok(())
}

fn spec(props: serde_json::Value) -> Spec {
    Spec {
        properties: Some(Json::new(props.to_string()).expect("valid JSON")),
        ..Spec::default()
    }
}
