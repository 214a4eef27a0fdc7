//! An in-memory instance simulator and a native flavor for group tests, sharing one state the test can steer and inspect.
//!
//! Register both in a host with [`Sim::register`]; the test keeps the
//! [`Sim`] handle (it is cheap to clone) to inject provision failures, set
//! health, and read back the instances and the ordered event log.

mod flavor;
mod instance;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use deploykit_host::{DestroyReason, Health, Host, LogicalId, NativePlugin, Spec, Tags};

pub use flavor::SimFlavor;
pub use instance::SimInstances;

/// One simulated instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimInstance {
    /// Its logical ID.
    pub logical_id: Option<LogicalId>,
    /// Its tags (label merges into them).
    pub tags: Tags,
    /// The spec it was provisioned with.
    pub spec: Spec,
}

/// Something the simulator was asked to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `Instance.Provision` succeeded with this ID.
    Provisioned(String),
    /// `Instance.Provision` failed (injected).
    ProvisionFailed,
    /// `Instance.Destroy` of an ID, with its reason.
    Destroyed(String, DestroyReason),
    /// `Instance.Label` of an ID.
    Labelled(String),
    /// `Flavor.Drain` of an ID.
    Drained(String),
    /// `Flavor.Healthy` of an ID, with the answer given.
    Health(String, Health),
}

#[derive(Debug, Default)]
struct State {
    next: u64,
    instances: BTreeMap<String, SimInstance>,
    events: Vec<Event>,
    fail_provisions: bool,
    default_health: Option<Health>,
    health: BTreeMap<String, Health>,
}

/// The shared simulator state.
#[derive(Debug, Clone, Default)]
pub struct Sim {
    state: Arc<Mutex<State>>,
}

impl Sim {
    /// An empty simulator: instances are healthy unless told otherwise.
    pub fn new() -> Sim {
        Sim::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers the instance SPI as `instance_name` and the flavor as `flavor_name`.
    pub fn register(&self, host: &Host, instance_name: &str, flavor_name: &str) {
        host.register_native(
            instance_name,
            NativePlugin::new().with_instance(NativePlugin::sdk_instance(
                instance_name,
                SimInstances(self.clone()),
            )),
        );
        host.register_native(
            flavor_name,
            NativePlugin::new().with_flavor(NativePlugin::sdk_flavor(
                flavor_name,
                SimFlavor(self.clone()),
            )),
        );
    }

    /// Makes every provision fail (true) or succeed again (false).
    pub fn fail_provisions(&self, fail: bool) {
        self.lock().fail_provisions = fail;
    }

    /// The health every instance reports unless set per instance.
    pub fn set_default_health(&self, health: Health) {
        self.lock().default_health = Some(health);
    }

    /// The health one instance reports.
    pub fn set_health(&self, id: &str, health: Health) {
        self.lock().health.insert(id.to_owned(), health);
    }

    /// The instances now, by ID.
    pub fn instances(&self) -> BTreeMap<String, SimInstance> {
        self.lock().instances.clone()
    }

    /// Adds an instance by hand (as an operator would), returning its ID.
    pub fn add(&self, tags: Tags, logical_id: Option<&str>) -> String {
        let spec = Spec {
            tags: tags.clone(),
            logical_id: logical_id.map(str::to_owned),
            ..Spec::default()
        };
        self.lock().create(spec)
    }

    /// Removes an instance behind the controller's back (a machine dying).
    pub fn kill(&self, id: &str) -> bool {
        self.lock().instances.remove(id).is_some()
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// Instance IDs with tag `key` = `value`.
    pub fn tagged(&self, key: &str, value: &str) -> Vec<String> {
        self.lock()
            .instances
            .iter()
            .filter(|(_, i)| i.tags.get(key).map(String::as_str) == Some(value))
            .map(|(id, _)| id.clone())
            .collect()
    }
}

impl State {
    /// A new instance with the next ID (`sim-0001`, …: ID order is creation order).
    fn create(&mut self, spec: Spec) -> String {
        self.next += 1;
        let id = format!("sim-{:04}", self.next);
        self.instances.insert(
            id.clone(),
            SimInstance {
                logical_id: spec.logical_id.clone(),
                tags: spec.tags.clone(),
                spec,
            },
        );
        id
    }

    fn health_of(&self, id: &str) -> Health {
        self.health
            .get(id)
            .copied()
            .or(self.default_health)
            .unwrap_or(Health::Healthy)
    }
}
