//! A hostile instance plugin for the host's tests: `provision` misbehaves as its properties say.
//!
//! `provision` reads `{"act": …}` from the spec's properties (see [`Act`]);
//! `describe_instances` with the tags `act=huge-list,count=N` returns N
//! descriptions. Everything else succeeds and does nothing.

mod act;
mod run;

use deploykit_sdk::{
    Description, DestroyReason, InstancePlugin, Json, Result, Spec, Tags, export_plugin,
};

pub use act::Act;

/// The misbehaving plugin. It keeps no state.
#[derive(Debug, Default)]
pub struct Misbehave;

impl InstancePlugin for Misbehave {
    fn validate(&self, _properties: &Json) -> Result<()> {
        Ok(())
    }

    fn provision(&self, spec: Spec) -> Result<String> {
        run::run(Act::from_properties(spec.properties.as_ref())?)
    }

    fn label(&self, _id: &str, _labels: Tags) -> Result<()> {
        Ok(())
    }

    fn destroy(&self, _id: &str, _reason: DestroyReason) -> Result<()> {
        Ok(())
    }

    fn describe_instances(&self, tags: &Tags, _properties: bool) -> Result<Vec<Description>> {
        if tags.get("act").map(String::as_str) != Some("huge-list") {
            return Ok(Vec::new());
        }
        let count: usize = tags.get("count").and_then(|c| c.parse().ok()).unwrap_or(0);
        Ok((0..count)
            .map(|i| Description {
                id: format!("i-{i}"),
                logical_id: None,
                tags: Tags::from([("act".to_string(), "huge-list".to_string())]),
                properties: None,
            })
            .collect())
    }
}

export_plugin!(Misbehave: instance);
