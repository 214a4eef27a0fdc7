//! Native backends: plugins compiled into the host, including any `deploykit-sdk` plugin type.

use std::sync::Arc;

use deploykit_sdk::{
    Allocation, Description, DestroyReason, FlavorPlugin, Health, Index, InstanceId,
    InstancePlugin, Json, Spec, Tags,
};

use super::{Flavor, Group, Instance, Spi, SpiSet};
use crate::{Error, Result};

/// A plugin implemented in Rust inside the host process, registered with
/// [`Host::register_native`](crate::Host::register_native). Calls are direct:
/// no sandbox, no limits.
#[derive(Clone, Default)]
pub struct NativePlugin {
    pub(crate) instance: Option<Arc<dyn Instance>>,
    pub(crate) flavor: Option<Arc<dyn Flavor>>,
    pub(crate) group: Option<Arc<dyn Group>>,
}

impl NativePlugin {
    /// A plugin with no SPI yet.
    pub fn new() -> NativePlugin {
        NativePlugin::default()
    }

    /// Adds an instance backend.
    pub fn with_instance(mut self, instance: Arc<dyn Instance>) -> NativePlugin {
        self.instance = Some(instance);
        self
    }

    /// Adds a flavor backend.
    pub fn with_flavor(mut self, flavor: Arc<dyn Flavor>) -> NativePlugin {
        self.flavor = Some(flavor);
        self
    }

    /// Adds a group backend.
    pub fn with_group(mut self, group: Arc<dyn Group>) -> NativePlugin {
        self.group = Some(group);
        self
    }

    /// Runs an SDK instance plugin natively, the same code a `.wasm` would run.
    pub fn sdk_instance<P: InstancePlugin + Send + Sync + 'static>(
        name: &str,
        plugin: P,
    ) -> Arc<dyn Instance> {
        Arc::new(Sdk {
            name: name.to_owned(),
            plugin,
        })
    }

    /// Runs an SDK flavor plugin natively.
    pub fn sdk_flavor<P: FlavorPlugin + Send + Sync + 'static>(
        name: &str,
        plugin: P,
    ) -> Arc<dyn Flavor> {
        Arc::new(Sdk {
            name: name.to_owned(),
            plugin,
        })
    }

    /// The SPIs this plugin implements.
    pub fn spis(&self) -> SpiSet {
        let mut set = SpiSet::default();
        if self.instance.is_some() {
            set = set.with(Spi::Instance);
        }
        if self.flavor.is_some() {
            set = set.with(Spi::Flavor);
        }
        if self.group.is_some() {
            set = set.with(Spi::Group);
        }
        set
    }
}

/// An SDK plugin type behind the host's traits.
struct Sdk<P> {
    name: String,
    plugin: P,
}

impl<P> Sdk<P> {
    fn wrap<T>(&self, spi: Spi, op: &'static str, r: deploykit_sdk::Result<T>) -> Result<T> {
        r.map_err(|source| Error::Plugin {
            plugin: self.name.clone(),
            spi,
            op,
            source,
        })
    }
}

impl<P: InstancePlugin + Send + Sync> Instance for Sdk<P> {
    fn validate(&self, properties: &Json) -> Result<()> {
        self.wrap(Spi::Instance, "validate", self.plugin.validate(properties))
    }

    fn provision(&self, spec: &Spec) -> Result<InstanceId> {
        self.wrap(
            Spi::Instance,
            "provision",
            self.plugin.provision(spec.clone()),
        )
    }

    fn label(&self, id: &str, labels: &Tags) -> Result<()> {
        self.wrap(
            Spi::Instance,
            "label",
            self.plugin.label(id, labels.clone()),
        )
    }

    fn destroy(&self, id: &str, reason: DestroyReason) -> Result<()> {
        self.wrap(Spi::Instance, "destroy", self.plugin.destroy(id, reason))
    }

    fn describe_instances(&self, tags: &Tags, properties: bool) -> Result<Vec<Description>> {
        self.wrap(
            Spi::Instance,
            "describe-instances",
            self.plugin.describe_instances(tags, properties),
        )
    }
}

impl<P: FlavorPlugin + Send + Sync> Flavor for Sdk<P> {
    fn validate(&self, properties: &Json, allocation: &Allocation) -> Result<()> {
        self.wrap(
            Spi::Flavor,
            "validate",
            self.plugin.validate(properties, allocation),
        )
    }

    fn prepare(
        &self,
        properties: &Json,
        spec: &Spec,
        allocation: &Allocation,
        index: &Index,
    ) -> Result<Spec> {
        self.wrap(
            Spi::Flavor,
            "prepare",
            self.plugin
                .prepare(properties, spec.clone(), allocation, index),
        )
    }

    fn healthy(&self, properties: &Json, instance: &Description) -> Result<Health> {
        self.wrap(
            Spi::Flavor,
            "healthy",
            self.plugin.healthy(properties, instance),
        )
    }

    fn drain(&self, properties: &Json, instance: &Description) -> Result<()> {
        self.wrap(
            Spi::Flavor,
            "drain",
            self.plugin.drain(properties, instance),
        )
    }
}
