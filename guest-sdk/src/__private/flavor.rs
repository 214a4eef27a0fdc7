//! Glue from the generated flavor `Guest` trait to [`FlavorPlugin`].

use super::convert::{
    allocation_in, description_in, health_out, index_in, json_in, spec_in, spec_out,
};
use super::{call, t};
use crate::FlavorPlugin;

/// `flavor.validate`.
pub fn validate<P: FlavorPlugin>(
    plugin: &P,
    properties: t::Json,
    allocation: t::Allocation,
) -> Result<(), t::Error> {
    call(|| plugin.validate(&json_in(properties), &allocation_in(allocation)))
}

/// `flavor.prepare`.
pub fn prepare<P: FlavorPlugin>(
    plugin: &P,
    properties: t::Json,
    spec: t::InstanceSpec,
    allocation: t::Allocation,
    index: t::Index,
) -> Result<t::InstanceSpec, t::Error> {
    call(|| {
        let properties = json_in(properties);
        let spec = spec_in(spec);
        let prepared = plugin.prepare(
            &properties,
            spec,
            &allocation_in(allocation),
            &index_in(index),
        )?;
        Ok(spec_out(prepared))
    })
}

/// `flavor.healthy`.
pub fn healthy<P: FlavorPlugin>(
    plugin: &P,
    properties: t::Json,
    instance: t::InstanceDescription,
) -> Result<t::Health, t::Error> {
    call(|| {
        let health = plugin.healthy(&json_in(properties), &description_in(instance))?;
        Ok(health_out(health))
    })
}

/// `flavor.drain`.
pub fn drain<P: FlavorPlugin>(
    plugin: &P,
    properties: t::Json,
    instance: t::InstanceDescription,
) -> Result<(), t::Error> {
    call(|| plugin.drain(&json_in(properties), &description_in(instance)))
}
