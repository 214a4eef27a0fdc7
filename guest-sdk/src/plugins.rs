//! Calls to other plugins by name, through the host's router (WIT `plugins`, since 0.2.0).
//!
//! [`instance`] and [`flavor`] return handles that implement the SDK's own
//! [`InstancePlugin`] and [`FlavorPlugin`] traits, so a composing plugin
//! treats the plugins it calls like any other implementation:
//!
//! ```no_run
//! use deploykit_sdk::{plugins, Allocation, FlavorPlugin, Index, Json, Spec};
//!
//! let vanilla = plugins::flavor("flavor-vanilla");
//! let props = Json::new(r#"{"Init":["echo hi"]}"#)?;
//! let spec = vanilla.prepare(&props, Spec::default(), &Allocation::default(), &Index::default())?;
//! # Ok::<(), deploykit_sdk::Error>(())
//! ```
//!
//! The host runs each call in the callee's own sandbox; it ends no later than
//! the caller's deadline, and chains of calls are limited in depth. An unknown
//! plugin is [`Error::NotFound`](crate::Error::NotFound); a callee that
//! faults is [`Error::Unavailable`](crate::Error::Unavailable).
//!
//! Natively (an author's `cargo test`) calls go to plugins registered on the
//! current thread with [`testing::register_flavor`](crate::testing::register_flavor)
//! and [`testing::register_instance`](crate::testing::register_instance).

use crate::{
    Allocation, Description, DestroyReason, FlavorPlugin, Health, Index, InstanceId,
    InstancePlugin, Json, Result, Spec, Tags,
};

/// The instance plugin named `name`, called through the host.
pub fn instance(name: &str) -> RoutedInstance {
    RoutedInstance {
        name: name.to_owned(),
    }
}

/// The flavor plugin named `name`, called through the host.
pub fn flavor(name: &str) -> RoutedFlavor {
    RoutedFlavor {
        name: name.to_owned(),
    }
}

/// Another plugin's instance SPI.
#[derive(Debug, Clone)]
pub struct RoutedInstance {
    name: String,
}

/// Another plugin's flavor SPI.
#[derive(Debug, Clone)]
pub struct RoutedFlavor {
    name: String,
}

impl InstancePlugin for RoutedInstance {
    fn validate(&self, properties: &Json) -> Result<()> {
        backend::instance(&self.name, |p| p.validate(properties))
    }

    fn provision(&self, spec: Spec) -> Result<InstanceId> {
        backend::instance(&self.name, |p| p.provision(spec))
    }

    fn label(&self, id: &str, labels: Tags) -> Result<()> {
        backend::instance(&self.name, |p| p.label(id, labels))
    }

    fn destroy(&self, id: &str, reason: DestroyReason) -> Result<()> {
        backend::instance(&self.name, |p| p.destroy(id, reason))
    }

    fn describe_instances(&self, tags: &Tags, properties: bool) -> Result<Vec<Description>> {
        backend::instance(&self.name, |p| p.describe_instances(tags, properties))
    }
}

impl FlavorPlugin for RoutedFlavor {
    fn validate(&self, properties: &Json, allocation: &Allocation) -> Result<()> {
        backend::flavor(&self.name, |p| p.validate(properties, allocation))
    }

    fn prepare(
        &self,
        properties: &Json,
        spec: Spec,
        allocation: &Allocation,
        index: &Index,
    ) -> Result<Spec> {
        backend::flavor(&self.name, |p| {
            p.prepare(properties, spec, allocation, index)
        })
    }

    fn healthy(&self, properties: &Json, instance: &Description) -> Result<Health> {
        backend::flavor(&self.name, |p| p.healthy(properties, instance))
    }

    fn drain(&self, properties: &Json, instance: &Description) -> Result<()> {
        backend::flavor(&self.name, |p| p.drain(properties, instance))
    }
}

/// Inside a component: the `plugins` import.
#[cfg(all(feature = "guest", target_arch = "wasm32"))]
mod backend {
    use crate::__private::convert::{
        allocation_out, description_in, description_out, error_in, health_in, index_out,
        reason_out, spec_in, spec_out, tags_out,
    };
    use crate::wit::deploykit::plugin::plugins as host;
    use crate::{
        Allocation, Description, DestroyReason, FlavorPlugin, Health, Index, InstanceId,
        InstancePlugin, Json, Result, Spec, Tags,
    };

    /// The host's side of one plugin, as an SDK trait object.
    struct Host<'a>(&'a str);

    pub(super) fn instance<T>(
        name: &str,
        f: impl FnOnce(&dyn InstancePlugin) -> Result<T>,
    ) -> Result<T> {
        f(&Host(name))
    }

    pub(super) fn flavor<T>(
        name: &str,
        f: impl FnOnce(&dyn FlavorPlugin) -> Result<T>,
    ) -> Result<T> {
        f(&Host(name))
    }

    impl InstancePlugin for Host<'_> {
        fn validate(&self, properties: &Json) -> Result<()> {
            host::instance_validate(self.0, properties.as_str()).map_err(error_in)
        }

        fn provision(&self, spec: Spec) -> Result<InstanceId> {
            host::instance_provision(self.0, &spec_out(spec)).map_err(error_in)
        }

        fn label(&self, id: &str, labels: Tags) -> Result<()> {
            host::instance_label(self.0, id, &tags_out(labels)).map_err(error_in)
        }

        fn destroy(&self, id: &str, reason: DestroyReason) -> Result<()> {
            host::instance_destroy(self.0, id, reason_out(reason)).map_err(error_in)
        }

        fn describe_instances(&self, tags: &Tags, properties: bool) -> Result<Vec<Description>> {
            let found = host::instance_describe(self.0, &tags_out(tags.clone()), properties)
                .map_err(error_in)?;
            Ok(found.into_iter().map(description_in).collect())
        }
    }

    impl FlavorPlugin for Host<'_> {
        fn validate(&self, properties: &Json, allocation: &Allocation) -> Result<()> {
            host::flavor_validate(self.0, properties.as_str(), &allocation_out(allocation))
                .map_err(error_in)
        }

        fn prepare(
            &self,
            properties: &Json,
            spec: Spec,
            allocation: &Allocation,
            index: &Index,
        ) -> Result<Spec> {
            let prepared = host::flavor_prepare(
                self.0,
                properties.as_str(),
                &spec_out(spec),
                &allocation_out(allocation),
                &index_out(index),
            )
            .map_err(error_in)?;
            Ok(spec_in(prepared))
        }

        fn healthy(&self, properties: &Json, instance: &Description) -> Result<Health> {
            host::flavor_healthy(
                self.0,
                properties.as_str(),
                &description_out(instance.clone()),
            )
            .map(health_in)
            .map_err(error_in)
        }

        fn drain(&self, properties: &Json, instance: &Description) -> Result<()> {
            host::flavor_drain(
                self.0,
                properties.as_str(),
                &description_out(instance.clone()),
            )
            .map_err(error_in)
        }
    }
}

/// Natively: plugins registered on this thread for tests.
#[cfg(not(all(feature = "guest", target_arch = "wasm32")))]
pub(crate) mod backend {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::rc::Rc;

    use crate::{Error, FlavorPlugin, InstancePlugin, Result};

    thread_local! {
        static INSTANCES: RefCell<HashMap<String, Rc<dyn InstancePlugin>>> = RefCell::new(HashMap::new());
        static FLAVORS: RefCell<HashMap<String, Rc<dyn FlavorPlugin>>> = RefCell::new(HashMap::new());
    }

    fn unknown(name: &str) -> Error {
        Error::NotFound(format!("unknown plugin '{name}'"))
    }

    pub(super) fn instance<T>(
        name: &str,
        f: impl FnOnce(&dyn InstancePlugin) -> Result<T>,
    ) -> Result<T> {
        let p = INSTANCES
            .with(|m| m.borrow().get(name).cloned())
            .ok_or_else(|| unknown(name))?;
        f(&*p)
    }

    pub(super) fn flavor<T>(
        name: &str,
        f: impl FnOnce(&dyn FlavorPlugin) -> Result<T>,
    ) -> Result<T> {
        let p = FLAVORS
            .with(|m| m.borrow().get(name).cloned())
            .ok_or_else(|| unknown(name))?;
        f(&*p)
    }

    pub(crate) fn register_instance(name: &str, plugin: Rc<dyn InstancePlugin>) {
        INSTANCES.with(|m| m.borrow_mut().insert(name.to_owned(), plugin));
    }

    pub(crate) fn register_flavor(name: &str, plugin: Rc<dyn FlavorPlugin>) {
        FLAVORS.with(|m| m.borrow_mut().insert(name.to_owned(), plugin));
    }
}
