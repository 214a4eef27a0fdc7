//! InfraKit's simulator instance plugin: pretend machines kept in the host's `kv` store, for groups at scale.
//!
//! Each instance is one kv record (`instance/<id>`), so instances survive the
//! host discarding this plugin's instances and restarts of the host. The
//! plugin's config may list the instance types it simulates (default
//! `compute`, `net`, `disk`); a spec chooses one with the property
//! `"Type"` (default the first) and may ask for a `"simulator_delay"`
//! (such as `"50ms"`) on each of its calls.

use deploykit_sdk::{
    Description, DestroyReason, Error, InstancePlugin, Json, Result, Spec, Tags, VendorInfo,
    export_plugin, kv,
};
use serde::{Deserialize, Serialize};

/// The plugin's configuration.
#[derive(Debug, Deserialize)]
#[serde(default)]
struct Config {
    types: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            types: vec!["compute".into(), "net".into(), "disk".into()],
        }
    }
}

/// What a spec's properties may say.
#[derive(Debug, Default, Deserialize)]
struct Properties {
    #[serde(rename = "Type", default)]
    kind: Option<String>,
    #[serde(default)]
    simulator_delay: Option<String>,
}

/// One simulated instance, as stored.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    #[serde(rename = "Description")]
    description: Description,
    #[serde(rename = "Spec")]
    spec: Spec,
}

/// The simulator; all state lives in kv.
#[derive(Debug, Default)]
pub struct Simulator;

const PREFIX: &str = "instance/";

fn key(id: &str) -> String {
    format!("{PREFIX}{id}")
}

fn properties(json: Option<&Json>) -> Result<Properties> {
    json.map_or(Ok(Properties::default()), |j| j.parse_or_default())
}

/// Sleeps for a spec's `simulator_delay`, if any.
fn delay(props: &Properties) -> Result<()> {
    if let Some(d) = &props.simulator_delay {
        let d = humantime::parse_duration(d)
            .map_err(|e| Error::InvalidInput(format!("simulator_delay: {e}")))?;
        std::thread::sleep(d);
    }
    Ok(())
}

fn load(id: &str) -> Result<Record> {
    kv::get_json::<Record>(&key(id))?
        .ok_or_else(|| Error::NotFound(format!("instance {id} not found")))
}

impl InstancePlugin for Simulator {
    fn validate(&self, properties: &Json) -> Result<()> {
        let props: Properties = properties.parse_or_default()?;
        let config: Config = deploykit_sdk::config::parse()?;
        if let Some(kind) = &props.kind
            && !config.types.contains(kind)
        {
            return Err(Error::InvalidInput(format!(
                "unknown instance type '{kind}'; this simulator has {}",
                config.types.join(", ")
            )));
        }
        Ok(())
    }

    fn provision(&self, spec: Spec) -> Result<String> {
        let props = properties(spec.properties.as_ref())?;
        if let Some(p) = &spec.properties {
            self.validate(p)?;
        }
        delay(&props)?;
        let config: Config = deploykit_sdk::config::parse()?;
        let kind = props
            .kind
            .or_else(|| config.types.first().cloned())
            .unwrap_or_default();
        let n =
            getrandom::u64().map_err(|e| Error::Unavailable(format!("no random numbers: {e}")))?;
        let id = format!("{kind}-{}", n >> 1);
        let mut tags = spec.tags.clone();
        tags.insert("simulator".into(), kind);
        let logical_id = spec.logical_id.clone();
        let record = Record {
            description: Description {
                id: id.clone(),
                logical_id,
                tags,
                properties: None,
            },
            spec,
        };
        kv::set_json(&key(&id), &record)?;
        Ok(id)
    }

    fn label(&self, id: &str, labels: Tags) -> Result<()> {
        let mut record = load(id)?;
        record.description.tags.extend(labels);
        kv::set_json(&key(id), &record)
    }

    fn destroy(&self, id: &str, _reason: DestroyReason) -> Result<()> {
        if kv::delete(&key(id))? {
            Ok(())
        } else {
            Err(Error::NotFound(format!("instance {id} not found")))
        }
    }

    fn describe_instances(&self, tags: &Tags, properties: bool) -> Result<Vec<Description>> {
        let mut found = Vec::new();
        for k in kv::list_keys(PREFIX)? {
            let Some(record) = kv::get_json::<Record>(&k)? else {
                continue;
            };
            let matches = tags
                .iter()
                .all(|(k, v)| record.description.tags.get(k) == Some(v));
            if matches {
                let mut d = record.description;
                if properties {
                    d.properties = Some(Json::from_value(&record.spec)?);
                }
                found.push(d);
            }
        }
        Ok(found)
    }

    fn vendor_info(&self) -> Option<VendorInfo> {
        Some(VendorInfo {
            name: "deploykit-instance-simulator".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            url: "https://github.com/docker/infrakit/tree/master/pkg/run/v0/simulator".into(),
        })
    }

    fn example_properties(&self) -> Option<Json> {
        Json::new(r#"{"Type":"compute","simulator_delay":"10ms"}"#).ok()
    }
}

export_plugin!(Simulator: instance);

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(tags: &[(&str, &str)], props: &str) -> Spec {
        Spec {
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            properties: Some(Json::new(props).unwrap()),
            ..Spec::default()
        }
    }

    #[test]
    fn instances_live_in_kv_and_filter_by_tags() {
        deploykit_sdk::testing::clear_kv();
        let a = Simulator
            .provision(spec(&[("g", "1")], r#"{"Type":"net"}"#))
            .unwrap();
        let b = Simulator.provision(spec(&[("g", "2")], "{}")).unwrap();
        assert!(a.starts_with("net-") && b.starts_with("compute-"));
        let one = Simulator
            .describe_instances(&[("g".to_owned(), "1".to_owned())].into(), true)
            .unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].tags["simulator"], "net");
        assert!(one[0].properties.is_some());
        Simulator
            .label(&a, [("x".to_owned(), "y".to_owned())].into())
            .unwrap();
        Simulator.destroy(&a, DestroyReason::Terminate).unwrap();
        assert!(matches!(
            Simulator.destroy(&a, DestroyReason::Terminate),
            Err(Error::NotFound(_))
        ));
        assert_eq!(
            Simulator
                .describe_instances(&Tags::new(), false)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn unknown_types_are_refused() {
        let err = Simulator
            .validate(&Json::new(r#"{"Type":"gpu"}"#).unwrap())
            .unwrap_err();
        assert!(
            err.message().contains("unknown instance type 'gpu'"),
            "{err}"
        );
    }
}
