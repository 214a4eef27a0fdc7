//! The group `Properties` (InfraKit's `group/types.Spec`): Instance, Flavor, Allocation, Updating, read as Go reads them.
//!
//! Go matches JSON keys to struct fields case-insensitively and ignores
//! unknown keys, so `{"allocation": {"size": 2}}` is a valid group; this
//! module does the same. The plugin properties stay raw JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use deploykit_sdk::{Allocation, Json, LogicalId};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::duration;

/// `Instance` or `Flavor`: which plugin, and its opaque properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PluginSpec {
    /// The plugin's name in the host's router.
    pub plugin: String,
    /// Its properties; `None` for an absent or `null` value.
    pub properties: Option<Json>,
}

/// How a rolling update waits for replacements to be healthy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Updating {
    /// Healthy for at least this long (Go duration text on the wire).
    pub duration: Duration,
    /// Healthy on this many consecutive polls.
    pub count: i64,
    /// `SkipBeforeInstanceDestroy: "drain"`: destroy without draining.
    pub skip_drain: bool,
}

/// The parsed group properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GroupProperties {
    /// The instance plugin and its properties.
    pub instance: PluginSpec,
    /// The flavor plugin and its properties.
    pub flavor: PluginSpec,
    /// Size or LogicalIDs.
    pub allocation: Allocation,
    /// Rolling-update pacing.
    pub updating: Updating,
}

/// A parse failure, worded as InfraKit words it: `Invalid properties: …`.
fn invalid(what: impl std::fmt::Display) -> String {
    format!("Invalid properties: {what}")
}

/// The members of a JSON object, keyed by which of `names` they match
/// case-insensitively (the last match wins, as in Go); other keys are ignored.
fn fields<'a>(
    raw: &'a RawValue,
    path: &str,
    names: &[&'static str],
) -> Result<BTreeMap<&'static str, &'a RawValue>, String> {
    if raw.get().trim() == "null" {
        return Ok(BTreeMap::new());
    }
    let object: Vec<(String, &RawValue)> = serde_json::from_str::<RawObject>(raw.get())
        .map_err(|e| invalid(format!("{path}: expected an object: {e}")))?
        .0;
    let mut out = BTreeMap::new();
    for (key, value) in object {
        if let Some(name) = names.iter().find(|n| n.eq_ignore_ascii_case(&key)) {
            out.insert(*name, value);
        }
    }
    Ok(out)
}

/// A JSON object's members in document order, values left raw.
struct RawObject<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for RawObject<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawObject<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut members = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                    members.push((k, v));
                }
                Ok(RawObject(members))
            }
        }
        d.deserialize_map(Visitor)
    }
}

fn value<T: serde::de::DeserializeOwned>(raw: &RawValue, path: &str) -> Result<T, String> {
    serde_json::from_str(raw.get()).map_err(|e| invalid(format!("{path}: {e}")))
}

fn plugin_spec(raw: Option<&&RawValue>, path: &str) -> Result<PluginSpec, String> {
    let Some(raw) = raw else {
        return Ok(PluginSpec::default());
    };
    let f = fields(raw, path, &["Plugin", "Properties"])?;
    let plugin = match f.get("Plugin") {
        Some(p) => value::<Option<String>>(p, &format!("{path}.Plugin"))?.unwrap_or_default(),
        None => String::new(),
    };
    let properties = f
        .get("Properties")
        .filter(|p| p.get().trim() != "null")
        .map(|p| Json::new(p.get()).map_err(|e| invalid(format!("{path}.Properties: {e}"))))
        .transpose()?;
    Ok(PluginSpec { plugin, properties })
}

fn allocation(raw: Option<&&RawValue>) -> Result<Allocation, String> {
    let Some(raw) = raw else {
        return Ok(Allocation::default());
    };
    let f = fields(raw, "Allocation", &["Size", "LogicalIDs"])?;
    let size = match f.get("Size") {
        Some(v) => value::<Option<u32>>(v, "Allocation.Size")?.unwrap_or(0),
        None => 0,
    };
    let logical_ids = match f.get("LogicalIDs") {
        Some(v) => value::<Option<Vec<LogicalId>>>(v, "Allocation.LogicalIDs")?.unwrap_or_default(),
        None => Vec::new(),
    };
    Ok(Allocation { size, logical_ids })
}

fn updating(raw: Option<&&RawValue>) -> Result<Updating, String> {
    let Some(raw) = raw else {
        return Ok(Updating::default());
    };
    let f = fields(
        raw,
        "Updating",
        &["Duration", "Count", "SkipBeforeInstanceDestroy"],
    )?;
    let duration = match f.get("Duration").map(|v| v.get().trim()) {
        None | Some("null") => Duration::ZERO,
        Some(text) => {
            let text = match serde_json::from_str::<String>(text) {
                Ok(s) => s,
                Err(_) => text.to_owned(), // a bare number, as Go's unquoted form
            };
            duration::parse(&text).map_err(|e| invalid(format!("Updating.Duration: {e}")))?
        }
    };
    let count = match f.get("Count") {
        Some(v) => value::<Option<i64>>(v, "Updating.Count")?.unwrap_or(0),
        None => 0,
    };
    let skip_drain = match f.get("SkipBeforeInstanceDestroy") {
        Some(v) => match value::<Option<String>>(v, "Updating.SkipBeforeInstanceDestroy")? {
            None => false,
            Some(s) if s == "drain" => true,
            // Go accepts other words here and then cannot marshal the spec
            // back; refusing them at commit is the clearer failure.
            Some(other) => {
                return Err(invalid(format!(
                    "Updating.SkipBeforeInstanceDestroy: invalid value \"{other}\" (the only value is \"drain\")"
                )));
            }
        },
        None => false,
    };
    Ok(Updating {
        duration,
        count,
        skip_drain,
    })
}

impl GroupProperties {
    /// Reads group properties; `null` is an empty spec (which validation then refuses).
    pub(crate) fn parse(properties: &Json) -> Result<GroupProperties, String> {
        let raw: &RawValue = serde_json::from_str(properties.as_str()).map_err(invalid)?;
        let f = fields(
            raw,
            "Properties",
            &["Instance", "Flavor", "Allocation", "Updating"],
        )?;
        Ok(GroupProperties {
            instance: plugin_spec(f.get("Instance"), "Instance")?,
            flavor: plugin_spec(f.get("Flavor"), "Flavor")?,
            allocation: allocation(f.get("Allocation"))?,
            updating: updating(f.get("Updating"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GroupProperties, String> {
        GroupProperties::parse(&Json::new(text).unwrap())
    }

    #[test]
    fn reads_infrakit_properties() {
        let p = parse(
            r#"{"Allocation":{"Size":5},"Instance":{"Plugin":"instance-file","Properties":{"Note":"v1"}},
                "Flavor":{"Plugin":"flavor-vanilla","Properties":{"Init":["a"]}},
                "Updating":{"Duration":"10s","Count":0,"SkipBeforeInstanceDestroy":"drain"}}"#,
        )
        .unwrap();
        assert_eq!(p.allocation.size, 5);
        assert_eq!(p.instance.plugin, "instance-file");
        assert_eq!(p.instance.properties.unwrap().as_str(), r#"{"Note":"v1"}"#);
        assert_eq!(p.flavor.plugin, "flavor-vanilla");
        assert_eq!(p.updating.duration, Duration::from_secs(10));
        assert!(p.updating.skip_drain);
    }

    #[test]
    fn keys_match_case_insensitively_and_unknown_keys_are_ignored() {
        let p = parse(
            r#"{"allocation":{"logicalids":["a","b"]},"INSTANCE":{"plugin":"x"},"extra":1,"updating":{"count":3}}"#,
        )
        .unwrap();
        assert_eq!(p.allocation.logical_ids, vec!["a", "b"]);
        assert_eq!(p.instance.plugin, "x");
        assert_eq!(p.instance.properties, None);
        assert_eq!(p.updating.count, 3);
    }

    #[test]
    fn bad_fields_are_named() {
        let err = parse(r#"{"Allocation":{"Size":"two"}}"#).unwrap_err();
        assert!(
            err.starts_with("Invalid properties: Allocation.Size: "),
            "{err}"
        );
        let err = parse(r#"{"Updating":{"Duration":"soon"}}"#).unwrap_err();
        assert!(err.contains("Updating.Duration"), "{err}");
        let err = parse(r#"{"Updating":{"SkipBeforeInstanceDestroy":"all"}}"#).unwrap_err();
        assert!(err.contains("the only value is \"drain\""), "{err}");
        assert!(parse("[1]").is_err());
    }

    #[test]
    fn null_properties_are_an_empty_spec() {
        assert_eq!(parse("null").unwrap(), GroupProperties::default());
    }
}
