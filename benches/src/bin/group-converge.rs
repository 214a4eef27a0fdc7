//! Group figure: time from commit to `Converged` for a group of N (default 1,000) on the wasm instance-simulator.
//!
//! Usage: `group-converge PLUGIN_DIR [N]`; the folder holds `instance-simulator.wasm` and
//! `flavor-vanilla.wasm` (`cargo xtask bench-groups` builds them and runs this).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use deploykit_host::{
    GroupController, GroupOptions, GroupSpec, Host, Json, MemoryKv, NativePlugin, StateStore,
};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .context("usage: group-converge PLUGIN_DIR [N]")?;
    let n: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let host = Host::builder()
        .plugin_dir(&dir)
        .kv_store(Arc::new(MemoryKv::default()))
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
        r#"{{"Allocation":{{"Size":{n}}},"Instance":{{"Plugin":"instance-simulator","Properties":{{"Type":"compute"}}}},"Flavor":{{"Plugin":"flavor-vanilla","Properties":{{"Init":["echo hi"],"Tags":{{"tier":"bench"}}}}}}}}"#
    );
    let spec = GroupSpec {
        id: "bench".into(),
        properties: Json::new(properties)?,
    };
    let started = Instant::now();
    group.commit_group(&spec, false)?;
    loop {
        if group.describe_group("bench")?.converged {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("did not converge in 10 minutes");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = started.elapsed();
    let members = group.describe_group("bench")?.instances.len();
    println!(
        "group of {n} on instance-simulator (wasm) + flavor-vanilla (wasm): converged in {took:?} ({members} members)"
    );
    println!(
        "{}",
        serde_json::json!({"group_size": n, "converge_ms": took.as_secs_f64() * 1000.0})
    );
    controller.shutdown();
    Ok(())
}
