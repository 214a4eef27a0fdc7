//! The built-in group controller: InfraKit's default group plugin in native Rust, with its committed specs kept in the state store.
//!
//! ```no_run
//! use std::sync::Arc;
//! use deploykit_host::{GroupController, GroupOptions, Host, NativePlugin, StateStore};
//!
//! let host = Host::builder().plugin_dir("plugins").build()?;
//! let store = Arc::new(StateStore::open(".deploykit")?);
//! let groups = GroupController::start(&host, store, GroupOptions::default())?;
//! host.register_native(GroupController::NAME, NativePlugin::new().with_group(groups.clone()));
//! // host.group("group")?.commit_group(&spec, false)? …
//! groups.shutdown();
//! # Ok::<(), deploykit_host::Error>(())
//! ```
//!
//! Each group gets a thread that reconciles it right after a commit and
//! then every poll interval; plugin calls of one round run on up to
//! `max_parallel` scoped threads. The controller finds plugins through the
//! host's router on every round and holds the host only weakly, so the
//! registry holding the controller is no reference cycle.

mod duration;
mod gojson;
mod hash;
mod members;
mod ops;
mod options;
mod plan;
mod pool;
mod quorum;
mod rolling;
mod scaler;
mod settings;
mod spec;
mod supervisor;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use deploykit_sdk::{Description, GroupSpec};

pub use members::{BOOTSTRAP_HASH, CONFIG_HASH_TAG, GROUP_TAG, LOGICAL_ID_TAG};
pub use options::GroupOptions;

use self::members::Members;
use self::settings::Settings;
use self::supervisor::Supervisor;
use crate::host::WeakHost;
use crate::store::StateStore;
use crate::{Error, Host, Result};

/// The state-store table of committed specs: group ID → the spec's JSON.
const TABLE: &str = "groups";

/// InfraKit's default group controller, as a native [`Group`](crate::Group) plugin.
pub struct GroupController {
    host: WeakHost,
    /// Let go of at shutdown, so the state folder is free for another host.
    store: Mutex<Option<Arc<StateStore>>>,
    options: GroupOptions,
    groups: RwLock<BTreeMap<String, Arc<Supervisor>>>,
    /// Serialises the calls that change groups, as InfraKit's controller lock does.
    changes: Mutex<()>,
    stopped: AtomicBool,
}

/// Where a group stands, for progress displays.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupStatus {
    /// The target size (`Size`, or the number of LogicalIDs).
    pub target: u32,
    /// Instances in the group now.
    pub members: usize,
    /// Members created from the current configuration.
    pub ready: usize,
    /// True while a rolling update is under way.
    pub updating: bool,
    /// True when the group matches its spec and no update is under way.
    pub converged: bool,
}

impl GroupController {
    /// The name the controller is conventionally registered under.
    pub const NAME: &'static str = "group";

    /// Loads every committed spec from `store` and, unless
    /// [`GroupOptions::resume`] is off, starts reconciling each group. A
    /// stored spec that cannot be read is an error naming the state file:
    /// no group is ever dropped silently.
    pub fn start(
        host: &Host,
        store: Arc<StateStore>,
        options: GroupOptions,
    ) -> Result<Arc<GroupController>> {
        let mut groups = BTreeMap::new();
        for (id, bytes) in store.list(TABLE)? {
            let bad = |reason: String| Error::State {
                path: store.path().to_owned(),
                reason: format!("group '{id}': {reason}"),
            };
            let spec: GroupSpec =
                serde_json::from_slice(&bytes).map_err(|e| bad(format!("unreadable spec: {e}")))?;
            let settings = Settings::parse(&spec).map_err(|e| bad(e.to_string()))?;
            groups.insert(id, Supervisor::new(settings));
        }
        let controller = Arc::new(GroupController {
            host: host.downgrade(),
            store: Mutex::new(Some(store)),
            options,
            groups: RwLock::new(groups),
            changes: Mutex::new(()),
            stopped: AtomicBool::new(false),
        });
        if controller.options.get_resume() {
            for sup in controller.supervisors() {
                tracing::info!(group = %sup.id, "resuming a committed group");
                sup.start(controller.host.clone(), controller.options.clone())?;
            }
        }
        Ok(controller)
    }

    /// Stops reconciling every group, waits for rounds in progress to
    /// finish, and lets go of the state store (closing it unless someone
    /// else holds it). Committed specs stay stored; later calls fail.
    pub fn shutdown(&self) {
        // Under `changes`, so no commit can start a group behind our back.
        let _changes = supervisor::lock(&self.changes);
        self.stopped.store(true, Ordering::SeqCst);
        for sup in self.supervisors() {
            sup.stop();
        }
        supervisor::lock(&self.store).take();
    }

    /// The options the controller runs with.
    pub fn options(&self) -> &GroupOptions {
        &self.options
    }

    /// Where group `id` stands now (one `DescribeInstances` call).
    pub fn status(&self, id: &str) -> Result<GroupStatus> {
        let sup = self.get(id)?;
        let m = Members::lookup(&self.host()?, sup.settings())?;
        let members = m.describe()?;
        Ok(status(&m, &sup, &members))
    }

    fn supervisors(&self) -> Vec<Arc<Supervisor>> {
        self.groups
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn get(&self, id: &str) -> Result<Arc<Supervisor>> {
        self.groups
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| Error::Group(format!("Group '{id}' is not being watched")))
    }

    fn host(&self) -> Result<Host> {
        if self.stopped.load(Ordering::SeqCst) {
            return Err(stopped());
        }
        self.host
            .upgrade()
            .ok_or_else(|| Error::Group("the host of the group controller is gone".into()))
    }
}

/// The error of calls made after [`GroupController::shutdown`].
fn stopped() -> Error {
    Error::Group("the group controller has been shut down".into())
}

impl Drop for GroupController {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The status of a group given a fresh listing of its members.
fn status(m: &Members, sup: &Supervisor, members: &[Description]) -> GroupStatus {
    let settings = &m.settings;
    let target = settings.target();
    let ready = members.iter().filter(|d| m.is_desired(d)).count();
    let updating = sup.is_updating();
    let shape_ok = if settings.is_quorum() {
        let wanted: BTreeSet<&str> = settings
            .allocation()
            .logical_ids
            .iter()
            .map(String::as_str)
            .collect();
        let have: BTreeSet<&str> = members
            .iter()
            .filter_map(|d| d.logical_id.as_deref())
            .collect();
        have == wanted
    } else {
        true
    };
    GroupStatus {
        target,
        members: members.len(),
        ready,
        updating,
        converged: !updating
            && shape_ok
            && members.len() == target as usize
            && ready == members.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_stored_spec_stops_the_start_and_names_the_file_and_group() {
        let host = Host::builder().build().unwrap();
        let store = StateStore::in_memory().unwrap();
        store
            .put(TABLE, "web", b"{\"ID\":\"web\",\"Properties\":{}}")
            .unwrap();
        let err = GroupController::start(&host, Arc::new(store), GroupOptions::default())
            .err()
            .expect("a stored spec that fails validation is an error");
        assert_eq!(
            err.to_string(),
            "state file <memory>: group 'web': Allocation must not be blank"
        );
        let store = StateStore::in_memory().unwrap();
        store.put(TABLE, "db", b"{not json").unwrap();
        let err = GroupController::start(&host, Arc::new(store), GroupOptions::default())
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .starts_with("state file <memory>: group 'db': unreadable spec"),
            "{err}"
        );
    }
}
