//! InfraKit's `file` instance plugin as a deploykit plugin: each instance is one JSON file in a directory.
//!
//! The directory is the `dir` key of the plugin's configuration (default
//! `/instances`, where the manifest beside the component grants a host
//! folder). Instance files are named `instance-<random 63-bit number>` and hold
//! `{"ID", "LogicalID", "Tags", "Spec"}`, as InfraKit writes them.

mod config;
mod id;
mod record;
mod store;

use deploykit_sdk::{
    Description, DestroyReason, Error, InstancePlugin, Json, Result, Spec, Tags, export_plugin,
};

use crate::config::Config;
use crate::record::Record;
use crate::store::Store;

/// The file instance plugin. It keeps no state in memory: everything is in
/// the directory, so any instance of the component sees the same machines.
#[derive(Debug, Default)]
pub struct FileInstances;

impl FileInstances {
    fn store(&self) -> Result<Store> {
        Ok(Store::new(Config::load()?.dir))
    }
}

impl InstancePlugin for FileInstances {
    fn vendor_info(&self) -> Option<deploykit_sdk::VendorInfo> {
        Some(deploykit_sdk::VendorInfo {
            name: "deploykit-instance-file".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            url: "https://github.com/docker/infrakit/tree/master/pkg/plugin/instance/file".into(),
        })
    }

    fn example_properties(&self) -> Option<Json> {
        Json::new(r#"{"note":"any JSON object; it is stored with the instance"}"#).ok()
    }

    /// Properties must be a JSON object (or `null`, which InfraKit also accepts).
    fn validate(&self, properties: &Json) -> Result<()> {
        let kind = match properties.parse::<serde_json::Value>()? {
            serde_json::Value::Object(_) | serde_json::Value::Null => return Ok(()),
            serde_json::Value::Array(_) => "an array",
            serde_json::Value::String(_) => "a string",
            serde_json::Value::Number(_) => "a number",
            serde_json::Value::Bool(_) => "a boolean",
        };
        Err(Error::InvalidInput(format!(
            "properties must be a JSON object, not {kind}"
        )))
    }

    /// Writes a new instance file; its tags are the spec's tags.
    fn provision(&self, spec: Spec) -> Result<String> {
        let id = id::new_id()?;
        let record = Record {
            id: id.clone(),
            logical_id: spec.logical_id.clone(),
            tags: spec.tags.clone(),
            spec,
        };
        self.store()?.create(&record)?;
        deploykit_sdk::debug!("provisioned {id}");
        Ok(id)
    }

    /// Merges `labels` into the instance's tags and rewrites its file.
    fn label(&self, id: &str, labels: Tags) -> Result<()> {
        id::check_id(id)?;
        let store = self.store()?;
        let mut record = store.read(id)?;
        record.tags.extend(labels);
        store.replace(&record)
    }

    /// Deletes the instance file; an unknown ID is `not-found`.
    fn destroy(&self, id: &str, reason: DestroyReason) -> Result<()> {
        id::check_id(id)?;
        self.store()?.remove(id)?;
        deploykit_sdk::debug!("destroyed {id} ({})", reason.as_str());
        Ok(())
    }

    /// Reads every instance file and keeps those carrying all of `tags`,
    /// sorted by ID. Files that are not instance records are skipped.
    fn describe_instances(&self, tags: &Tags, properties: bool) -> Result<Vec<Description>> {
        let mut found = Vec::new();
        for record in self.store()?.list()? {
            if record.matches(tags) {
                found.push(record.into_description(properties)?);
            }
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }
}

export_plugin!(FileInstances: instance);
