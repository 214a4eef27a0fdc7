//! The group SPI as a Rust trait: commit, describe, scale and destroy groups.

use crate::{GroupDescription, GroupSpec, InstanceId, Json, Result, VendorInfo};

/// A plugin that manages groups of instances (InfraKit `Group/0.1.1`).
///
/// Export it with [`export_plugin!`](crate::export_plugin)`(MyType: group)`.
pub trait GroupPlugin {
    /// Starts managing a group or updates it, returning the plan as text;
    /// with `pretend` nothing changes.
    fn commit_group(&self, spec: GroupSpec, pretend: bool) -> Result<String>;

    /// Stops managing a group, leaving its instances untouched.
    fn free_group(&self, id: &str) -> Result<()>;

    /// Describes a group's members and whether it has converged.
    fn describe_group(&self, id: &str) -> Result<GroupDescription>;

    /// Frees a group, then drains and destroys every member.
    fn destroy_group(&self, id: &str) -> Result<()>;

    /// Returns the committed specs.
    fn inspect_groups(&self) -> Result<Vec<GroupSpec>>;

    /// Destroys the given members and shrinks the target size to match.
    fn destroy_instances(&self, id: &str, instances: &[InstanceId]) -> Result<()>;

    /// The group's target size.
    fn size(&self, id: &str) -> Result<u32>;

    /// Changes a scaled group's target size.
    fn set_size(&self, id: &str, size: u32) -> Result<()>;

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
