//! A host with the group controller over a temporary state folder and a simulator, restartable, plus bounded waits.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use deploykit_host::{
    Group, GroupController, GroupOptions, GroupSpec, Host, Json, NativePlugin, StateStore,
};

use crate::sim::Sim;

/// The poll interval of group tests: short, so rounds come quickly.
pub const POLL: Duration = Duration::from_millis(20);

/// How long any wait of a group test may take before it fails.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Starts a group controller on `host` over the state folder `dir` and registers it as `group`.
pub fn start_controller(
    host: &Host,
    dir: &Path,
    options: GroupOptions,
) -> Result<Arc<GroupController>> {
    let store = Arc::new(StateStore::open(dir)?);
    let controller = GroupController::start(host, store, options)?;
    host.register_native(
        GroupController::NAME,
        NativePlugin::new().with_group(controller.clone()),
    );
    Ok(controller)
}

/// A host whose `sim` (instance) and `sim-flavor` plugins are one [`Sim`],
/// with a group controller polling every [`POLL`].
pub struct GroupFixture {
    /// The simulator; it outlives restarts, like real machines.
    pub sim: Sim,
    /// The state folder.
    pub state: tempfile::TempDir,
    /// The current host.
    pub host: Host,
    /// The current controller.
    pub controller: Arc<GroupController>,
}

impl GroupFixture {
    /// A fresh simulator, state folder, host and controller.
    pub fn new() -> Result<GroupFixture> {
        let sim = Sim::new();
        let state = tempfile::tempdir()?;
        let (host, controller) = Self::boot(&sim, state.path())?;
        Ok(GroupFixture {
            sim,
            state,
            host,
            controller,
        })
    }

    fn boot(sim: &Sim, dir: &Path) -> Result<(Host, Arc<GroupController>)> {
        let host = Host::builder().build()?;
        sim.register(&host, "sim", "sim-flavor");
        let controller = start_controller(&host, dir, GroupOptions::default().poll_interval(POLL))?;
        Ok((host, controller))
    }

    /// Stops the controller, drops the host (closing the state store), and
    /// starts a new host and controller over the same state folder and simulator.
    pub fn restart(self) -> Result<GroupFixture> {
        let GroupFixture {
            sim,
            state,
            host,
            controller,
        } = self;
        controller.shutdown();
        drop(controller);
        drop(host);
        let (host, controller) = Self::boot(&sim, state.path())?;
        Ok(GroupFixture {
            sim,
            state,
            host,
            controller,
        })
    }

    /// The controller through the host's router, as any caller sees it.
    pub fn group(&self) -> Result<Arc<dyn Group>> {
        Ok(self.host.group(GroupController::NAME)?)
    }

    /// Waits until group `id` reports `Converged`.
    pub fn converged(&self, id: &str) -> Result<()> {
        let group = self.group()?;
        wait_for(&format!("group {id} to converge"), || {
            group
                .describe_group(id)
                .map(|d| d.converged)
                .unwrap_or(false)
        })
    }
}

/// A group spec over the simulator: `alloc` is the Allocation object,
/// `note` the instance properties' note, `updating` the Updating object.
pub fn sim_spec(id: &str, alloc: &str, note: &str, updating: &str) -> GroupSpec {
    spec(
        id,
        &format!(
            r#"{{"Allocation":{alloc},"Instance":{{"Plugin":"sim","Properties":{{"note":"{note}"}}}},"Flavor":{{"Plugin":"sim-flavor","Properties":{{}}}},"Updating":{updating}}}"#
        ),
    )
}

/// A group spec from an ID and the properties' JSON.
pub fn spec(id: &str, properties: &str) -> GroupSpec {
    GroupSpec {
        id: id.into(),
        properties: Json::new(properties).expect("test specs are valid JSON"),
    }
}

/// Polls `cond` every few milliseconds until it holds, failing after [`TIMEOUT`].
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > TIMEOUT {
            bail!("timed out after {TIMEOUT:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}
