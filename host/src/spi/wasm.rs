//! The SPI traits implemented by a WebAssembly plugin: convert, call in the sandbox, convert back.

use deploykit_sdk::{
    Allocation, Description, DestroyReason, GroupDescription, GroupSpec, Health, Index, InstanceId,
    Json, Spec, Tags,
};

use super::{Flavor, Group, Instance, Spi};
use crate::bindings as b;
use crate::sandbox::WasmPlugin;
use crate::{Error, Result};

impl WasmPlugin {
    /// Turns a conversion failure of a returned value into the plugin's error.
    fn converted<T>(
        &self,
        spi: Spi,
        op: &'static str,
        r: std::result::Result<T, deploykit_sdk::Error>,
    ) -> Result<T> {
        r.map_err(|source| Error::Plugin {
            plugin: self.name.to_string(),
            spi,
            op,
            source,
        })
    }
}

/// The export of `spi`, present because `call` checked the plugin's SPI set.
macro_rules! export {
    ($exports:expr, $spi:ident) => {
        $exports
            .$spi
            .as_ref()
            .expect("the SPI set was checked before the call")
    };
}

impl Instance for WasmPlugin {
    fn validate(&self, properties: &Json) -> Result<()> {
        self.call(Spi::Instance, "validate", |e, s| {
            export!(e, instance).call_validate(s, &properties.as_str().to_owned())
        })
    }

    fn provision(&self, spec: &Spec) -> Result<InstanceId> {
        let spec = b::spec_to_wit(spec);
        self.call(Spi::Instance, "provision", |e, s| {
            export!(e, instance).call_provision(s, &spec)
        })
    }

    fn label(&self, id: &str, labels: &Tags) -> Result<()> {
        let labels = b::tags_to_wit(labels);
        self.call(Spi::Instance, "label", |e, s| {
            export!(e, instance).call_label(s, &id.to_owned(), &labels)
        })
    }

    fn destroy(&self, id: &str, reason: DestroyReason) -> Result<()> {
        let reason = b::reason_to_wit(reason);
        self.call(Spi::Instance, "destroy", |e, s| {
            export!(e, instance).call_destroy(s, &id.to_owned(), reason)
        })
    }

    fn describe_instances(&self, tags: &Tags, properties: bool) -> Result<Vec<Description>> {
        let tags = b::tags_to_wit(tags);
        let list = self.call(Spi::Instance, "describe-instances", |e, s| {
            export!(e, instance).call_describe_instances(s, &tags, properties)
        })?;
        let converted = list.into_iter().map(b::description_from_wit).collect();
        self.converted(Spi::Instance, "describe-instances", converted)
    }

    fn example_properties(&self) -> Result<Option<Json>> {
        self.examples(Spi::Instance, |e, s| {
            export!(e, instance).call_example_properties(s)
        })
    }
}

impl WasmPlugin {
    /// Asks `spi`'s example properties (`none` from a 0.1.0 plugin).
    fn examples(
        &self,
        spi: Spi,
        get: impl FnOnce(
            &crate::sandbox::Exports,
            &mut wasmtime::Store<crate::state::StoreData>,
        ) -> wasmtime::Result<Option<String>>,
    ) -> Result<Option<Json>> {
        let text = self.call(spi, "example-properties", |e, s| get(e, s).map(Ok))?;
        let json = text.map(Json::new).transpose();
        self.converted(spi, "example-properties", json)
    }
}

impl Flavor for WasmPlugin {
    fn validate(&self, properties: &Json, allocation: &Allocation) -> Result<()> {
        let allocation = b::allocation_to_wit(allocation);
        self.call(Spi::Flavor, "validate", |e, s| {
            export!(e, flavor).call_validate(s, &properties.as_str().to_owned(), &allocation)
        })
    }

    fn prepare(
        &self,
        properties: &Json,
        spec: &Spec,
        allocation: &Allocation,
        index: &Index,
    ) -> Result<Spec> {
        let (spec, allocation, index) = (
            b::spec_to_wit(spec),
            b::allocation_to_wit(allocation),
            b::index_to_wit(index),
        );
        let prepared = self.call(Spi::Flavor, "prepare", |e, s| {
            export!(e, flavor).call_prepare(
                s,
                &properties.as_str().to_owned(),
                &spec,
                &allocation,
                &index,
            )
        })?;
        self.converted(Spi::Flavor, "prepare", b::spec_from_wit(prepared))
    }

    fn healthy(&self, properties: &Json, instance: &Description) -> Result<Health> {
        let instance = b::description_to_wit(instance);
        let health = self.call(Spi::Flavor, "healthy", |e, s| {
            export!(e, flavor).call_healthy(s, &properties.as_str().to_owned(), &instance)
        })?;
        Ok(b::health_from_wit(health))
    }

    fn drain(&self, properties: &Json, instance: &Description) -> Result<()> {
        let instance = b::description_to_wit(instance);
        self.call(Spi::Flavor, "drain", |e, s| {
            export!(e, flavor).call_drain(s, &properties.as_str().to_owned(), &instance)
        })
    }

    fn example_properties(&self) -> Result<Option<Json>> {
        self.examples(Spi::Flavor, |e, s| {
            export!(e, flavor).call_example_properties(s)
        })
    }
}

impl Group for WasmPlugin {
    fn commit_group(&self, spec: &GroupSpec, pretend: bool) -> Result<String> {
        let spec = b::group_spec_to_wit(spec);
        self.call(Spi::Group, "commit-group", |e, s| {
            export!(e, group).call_commit_group(s, &spec, pretend)
        })
    }

    fn free_group(&self, id: &str) -> Result<()> {
        self.call(Spi::Group, "free-group", |e, s| {
            export!(e, group).call_free_group(s, id)
        })
    }

    fn describe_group(&self, id: &str) -> Result<GroupDescription> {
        let d = self.call(Spi::Group, "describe-group", |e, s| {
            export!(e, group).call_describe_group(s, id)
        })?;
        self.converted(
            Spi::Group,
            "describe-group",
            b::group_description_from_wit(d),
        )
    }

    fn destroy_group(&self, id: &str) -> Result<()> {
        self.call(Spi::Group, "destroy-group", |e, s| {
            export!(e, group).call_destroy_group(s, id)
        })
    }

    fn inspect_groups(&self) -> Result<Vec<GroupSpec>> {
        let specs = self.call(Spi::Group, "inspect-groups", |e, s| {
            export!(e, group).call_inspect_groups(s)
        })?;
        let converted = specs.into_iter().map(b::group_spec_from_wit).collect();
        self.converted(Spi::Group, "inspect-groups", converted)
    }

    fn destroy_instances(&self, id: &str, instances: &[InstanceId]) -> Result<()> {
        self.call(Spi::Group, "destroy-instances", |e, s| {
            export!(e, group).call_destroy_instances(s, id, instances)
        })
    }

    fn size(&self, id: &str) -> Result<u32> {
        self.call(Spi::Group, "size", |e, s| {
            export!(e, group).call_size(s, id)
        })
    }

    fn set_size(&self, id: &str, size: u32) -> Result<()> {
        self.call(Spi::Group, "set-size", |e, s| {
            export!(e, group).call_set_size(s, id, size)
        })
    }

    fn example_properties(&self) -> Result<Option<Json>> {
        self.examples(Spi::Group, |e, s| {
            export!(e, group).call_example_properties(s)
        })
    }
}
