//! The instance SPI as a Rust trait: provision, label, destroy and describe machines.

use crate::{Description, DestroyReason, InstanceId, Json, Result, Spec, Tags, VendorInfo};

/// A plugin that manages machines (InfraKit `Instance/0.6.1`).
///
/// Export it with [`export_plugin!`](crate::export_plugin)`(MyType: instance)`.
/// Methods take `&self`: the host keeps warm instances and may discard one at
/// any time, so keep durable state outside the plugin's memory.
pub trait InstancePlugin {
    /// Checks instance properties without acting on them.
    fn validate(&self, properties: &Json) -> Result<()>;

    /// Creates an instance and returns its ID.
    fn provision(&self, spec: Spec) -> Result<InstanceId>;

    /// Merges `labels` into the instance's tags.
    fn label(&self, id: &str, labels: Tags) -> Result<()>;

    /// Destroys an instance; an unknown ID is [`Error::NotFound`](crate::Error::NotFound).
    fn destroy(&self, id: &str, reason: DestroyReason) -> Result<()>;

    /// Lists the instances carrying every one of `tags` (an empty filter
    /// matches all); fills `properties` only when `properties` is true.
    fn describe_instances(&self, tags: &Tags, properties: bool) -> Result<Vec<Description>>;

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
