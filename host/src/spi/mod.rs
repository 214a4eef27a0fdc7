//! The three SPIs as Rust traits, so callers never know what backend is behind a plugin name.

mod native;
mod wasm;

use std::fmt;

use deploykit_sdk::{
    Allocation, Description, DestroyReason, GroupDescription, GroupSpec, Health, Index, InstanceId,
    Json, Spec, Tags,
};
use serde::Serialize;

pub use native::NativePlugin;

use crate::Result;

/// One of the plugin SPIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Spi {
    /// Provisions and manages machines (InfraKit `Instance/0.6.1`).
    Instance,
    /// Shapes specs and judges health (InfraKit `Flavor/0.1.1`).
    Flavor,
    /// Manages groups of instances (InfraKit `Group/0.1.1`).
    Group,
}

impl Spi {
    /// Every SPI, in a fixed order.
    pub const ALL: [Spi; 3] = [Spi::Instance, Spi::Flavor, Spi::Group];

    /// The SPI's lowercase name, as in its WIT interface.
    pub fn as_str(self) -> &'static str {
        match self {
            Spi::Instance => "instance",
            Spi::Flavor => "flavor",
            Spi::Group => "group",
        }
    }
}

impl fmt::Display for Spi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of SPIs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpiSet(u8);

impl SpiSet {
    /// The set with `spi` added.
    pub fn with(self, spi: Spi) -> SpiSet {
        SpiSet(self.0 | 1 << spi as u8)
    }

    /// Whether `spi` is in the set.
    pub fn contains(self, spi: Spi) -> bool {
        self.0 & 1 << spi as u8 != 0
    }

    /// The SPIs in the set.
    pub fn to_vec(self) -> Vec<Spi> {
        Spi::ALL.into_iter().filter(|s| self.contains(*s)).collect()
    }

    /// True when the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// The instance SPI, whatever implements it.
pub trait Instance: Send + Sync {
    /// Checks instance properties without acting on them.
    fn validate(&self, properties: &Json) -> Result<()>;
    /// Creates an instance and returns its ID.
    fn provision(&self, spec: &Spec) -> Result<InstanceId>;
    /// Merges `labels` into an instance's tags.
    fn label(&self, id: &str, labels: &Tags) -> Result<()>;
    /// Destroys an instance.
    fn destroy(&self, id: &str, reason: DestroyReason) -> Result<()>;
    /// Lists the instances carrying every one of `tags`.
    fn describe_instances(&self, tags: &Tags, properties: bool) -> Result<Vec<Description>>;
    /// Example properties for this SPI (InfraKit's `ExampleProperties`), if the plugin has some.
    fn example_properties(&self) -> Result<Option<Json>> {
        Ok(None)
    }
}

/// The flavor SPI, whatever implements it.
pub trait Flavor: Send + Sync {
    /// Checks flavor properties against an allocation.
    fn validate(&self, properties: &Json, allocation: &Allocation) -> Result<()>;
    /// Returns `spec` changed for this flavor.
    fn prepare(
        &self,
        properties: &Json,
        spec: &Spec,
        allocation: &Allocation,
        index: &Index,
    ) -> Result<Spec>;
    /// Judges an instance's health.
    fn healthy(&self, properties: &Json, instance: &Description) -> Result<Health>;
    /// Cleans up before an instance is destroyed.
    fn drain(&self, properties: &Json, instance: &Description) -> Result<()>;
    /// Example properties for this SPI (InfraKit's `ExampleProperties`), if the plugin has some.
    fn example_properties(&self) -> Result<Option<Json>> {
        Ok(None)
    }
}

/// The group SPI, whatever implements it.
pub trait Group: Send + Sync {
    /// Commits a group spec, returning the plan; `pretend` changes nothing.
    fn commit_group(&self, spec: &GroupSpec, pretend: bool) -> Result<String>;
    /// Stops managing a group.
    fn free_group(&self, id: &str) -> Result<()>;
    /// Describes a group.
    fn describe_group(&self, id: &str) -> Result<GroupDescription>;
    /// Frees a group and destroys its members.
    fn destroy_group(&self, id: &str) -> Result<()>;
    /// The committed specs.
    fn inspect_groups(&self) -> Result<Vec<GroupSpec>>;
    /// Destroys members and shrinks the group.
    fn destroy_instances(&self, id: &str, instances: &[InstanceId]) -> Result<()>;
    /// The target size.
    fn size(&self, id: &str) -> Result<u32>;
    /// Changes the target size.
    fn set_size(&self, id: &str, size: u32) -> Result<()>;
    /// Example properties for this SPI (InfraKit's `ExampleProperties`), if the plugin has some.
    fn example_properties(&self) -> Result<Option<Json>> {
        Ok(None)
    }
}
