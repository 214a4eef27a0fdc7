//! Bindings of `deploykit:plugin@0.2.0`, the latest version: its types are the ones core code uses.

use wasmtime::component::{HasSelf, Linker};

use crate::state::StoreData;

mod generated {
    wasmtime::component::bindgen!({
        world: "any-plugin",
        path: "../wit/since_v0.2.0",
    });
}

pub use generated::deploykit::plugin::types;
pub(crate) use generated::exports::deploykit::plugin::{flavor, group, instance, metadata};

/// Adds this version's host imports (`log`, `config`, `kv`) to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    generated::AnyPlugin::add_to_linker::<StoreData, HasSelf<StoreData>>(linker, |s| s)
}

impl generated::deploykit::plugin::types::Host for StoreData {}

impl generated::deploykit::plugin::log::Host for StoreData {
    fn log(&mut self, level: generated::deploykit::plugin::log::Level, message: String) {
        use generated::deploykit::plugin::log::Level;
        crate::imports::log(self, super::tracing_level!(level, Level), &message);
    }
}

impl generated::deploykit::plugin::config::Host for StoreData {
    fn get(&mut self) -> String {
        self.config.to_string()
    }
}

impl generated::deploykit::plugin::kv::Host for StoreData {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, types::Error> {
        crate::imports::kv_get(self, &key)
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), types::Error> {
        crate::imports::kv_set(self, &key, &value)
    }

    fn delete(&mut self, key: String) -> Result<bool, types::Error> {
        crate::imports::kv_delete(self, &key)
    }

    fn list_keys(&mut self, prefix: String) -> Result<Vec<String>, types::Error> {
        crate::imports::kv_list(self, &prefix)
    }
}

impl generated::deploykit::plugin::plugins::Host for StoreData {
    fn instance_validate(
        &mut self,
        plugin: String,
        properties: types::Json,
    ) -> Result<(), types::Error> {
        crate::imports::routed(self, |h| {
            let properties = crate::imports::json(properties)?;
            Ok(h.instance(&plugin)?.validate(&properties)?)
        })
    }

    fn instance_provision(
        &mut self,
        plugin: String,
        spec: types::InstanceSpec,
    ) -> Result<String, types::Error> {
        crate::imports::routed(self, |h| {
            let spec = super::spec_from_wit(spec)?;
            Ok(h.instance(&plugin)?.provision(&spec)?)
        })
    }

    fn instance_label(
        &mut self,
        plugin: String,
        id: String,
        labels: types::Tags,
    ) -> Result<(), types::Error> {
        crate::imports::routed(self, |h| {
            Ok(h.instance(&plugin)?
                .label(&id, &super::tags_from_wit(labels))?)
        })
    }

    fn instance_destroy(
        &mut self,
        plugin: String,
        id: String,
        reason: types::DestroyReason,
    ) -> Result<(), types::Error> {
        crate::imports::routed(self, |h| {
            Ok(h.instance(&plugin)?
                .destroy(&id, super::reason_from_wit(reason))?)
        })
    }

    fn instance_describe(
        &mut self,
        plugin: String,
        tags: types::Tags,
        properties: bool,
    ) -> Result<Vec<types::InstanceDescription>, types::Error> {
        crate::imports::routed(self, |h| {
            let found = h
                .instance(&plugin)?
                .describe_instances(&super::tags_from_wit(tags), properties)?;
            Ok(found.iter().map(super::description_to_wit).collect())
        })
    }

    fn flavor_validate(
        &mut self,
        plugin: String,
        properties: types::Json,
        allocation: types::Allocation,
    ) -> Result<(), types::Error> {
        crate::imports::routed(self, |h| {
            let properties = crate::imports::json(properties)?;
            Ok(h.flavor(&plugin)?
                .validate(&properties, &super::allocation_from_wit(allocation))?)
        })
    }

    fn flavor_prepare(
        &mut self,
        plugin: String,
        properties: types::Json,
        spec: types::InstanceSpec,
        allocation: types::Allocation,
        index: types::Index,
    ) -> Result<types::InstanceSpec, types::Error> {
        crate::imports::routed(self, |h| {
            let properties = crate::imports::json(properties)?;
            let spec = super::spec_from_wit(spec)?;
            let prepared = h.flavor(&plugin)?.prepare(
                &properties,
                &spec,
                &super::allocation_from_wit(allocation),
                &super::index_from_wit(index),
            )?;
            Ok(super::spec_to_wit(&prepared))
        })
    }

    fn flavor_healthy(
        &mut self,
        plugin: String,
        properties: types::Json,
        instance: types::InstanceDescription,
    ) -> Result<types::Health, types::Error> {
        crate::imports::routed(self, |h| {
            let properties = crate::imports::json(properties)?;
            let instance = super::description_from_wit(instance)?;
            Ok(super::health_to_wit(
                h.flavor(&plugin)?.healthy(&properties, &instance)?,
            ))
        })
    }

    fn flavor_drain(
        &mut self,
        plugin: String,
        properties: types::Json,
        instance: types::InstanceDescription,
    ) -> Result<(), types::Error> {
        crate::imports::routed(self, |h| {
            let properties = crate::imports::json(properties)?;
            let instance = super::description_from_wit(instance)?;
            Ok(h.flavor(&plugin)?.drain(&properties, &instance)?)
        })
    }
}
