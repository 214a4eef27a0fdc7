//! The flavor SPI as a Rust trait: validate, prepare a spec, judge health, drain.

use crate::{Allocation, Description, Health, Index, Json, Result, Spec, VendorInfo};

/// A plugin that shapes instance specs for a role (InfraKit `Flavor/0.1.1`).
///
/// Export it with [`export_plugin!`](crate::export_plugin)`(MyType: flavor)`.
pub trait FlavorPlugin {
    /// Checks flavor properties against the group's allocation.
    fn validate(&self, properties: &Json, allocation: &Allocation) -> Result<()>;

    /// Returns `spec` changed for this flavor; it may change any field.
    fn prepare(
        &self,
        properties: &Json,
        spec: Spec,
        allocation: &Allocation,
        index: &Index,
    ) -> Result<Spec>;

    /// Judges whether an instance is healthy.
    fn healthy(&self, properties: &Json, instance: &Description) -> Result<Health>;

    /// Best-effort clean-up before an instance is destroyed.
    fn drain(&self, properties: &Json, instance: &Description) -> Result<()>;

    /// Example properties for this SPI, shown in the plugin's API info
    /// (InfraKit's `ExampleProperties`). None by default.
    fn example_properties(&self) -> Option<Json> {
        None
    }

    /// Who made the plugin. A plugin that exports several SPIs answers
    /// through the first one named in [`export_plugin!`](crate::export_plugin).
    /// None by default.
    fn vendor_info(&self) -> Option<VendorInfo> {
        None
    }
}
