//! Glue from the generated group `Guest` trait to [`GroupPlugin`].

use super::convert::{group_description_out, group_spec_in, group_spec_out};
use super::{call, t};
use crate::GroupPlugin;

/// `group.commit-group`.
pub fn commit_group<P: GroupPlugin>(
    plugin: &P,
    spec: t::GroupSpec,
    pretend: bool,
) -> Result<String, t::Error> {
    call(|| plugin.commit_group(group_spec_in(spec), pretend))
}

/// `group.free-group`.
pub fn free_group<P: GroupPlugin>(plugin: &P, id: String) -> Result<(), t::Error> {
    call(|| plugin.free_group(&id))
}

/// `group.describe-group`.
pub fn describe_group<P: GroupPlugin>(
    plugin: &P,
    id: String,
) -> Result<t::GroupDescription, t::Error> {
    call(|| plugin.describe_group(&id).map(group_description_out))
}

/// `group.destroy-group`.
pub fn destroy_group<P: GroupPlugin>(plugin: &P, id: String) -> Result<(), t::Error> {
    call(|| plugin.destroy_group(&id))
}

/// `group.inspect-groups`.
pub fn inspect_groups<P: GroupPlugin>(plugin: &P) -> Result<Vec<t::GroupSpec>, t::Error> {
    call(|| {
        Ok(plugin
            .inspect_groups()?
            .into_iter()
            .map(group_spec_out)
            .collect())
    })
}

/// `group.destroy-instances`.
pub fn destroy_instances<P: GroupPlugin>(
    plugin: &P,
    id: String,
    instances: Vec<t::InstanceId>,
) -> Result<(), t::Error> {
    call(|| plugin.destroy_instances(&id, &instances))
}

/// `group.size`.
pub fn size<P: GroupPlugin>(plugin: &P, id: String) -> Result<u32, t::Error> {
    call(|| plugin.size(&id))
}

/// `group.set-size`.
pub fn set_size<P: GroupPlugin>(plugin: &P, id: String, size: u32) -> Result<(), t::Error> {
    call(|| plugin.set_size(&id, size))
}
