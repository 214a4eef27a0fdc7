//! A validated group spec: the parsed properties, the config hash, and the normalized form `InspectGroups` returns.

use deploykit_sdk::{Allocation, GroupSpec, Json};
use serde::Serialize;

use super::spec::{GroupProperties, PluginSpec};
use super::{duration, gojson, hash};
use crate::{Error, Result};

/// One committed group, checked the way InfraKit's controller checks it
/// before it looks up any plugin.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The group's ID.
    pub id: String,
    /// The parsed properties.
    pub props: GroupProperties,
    /// The `infrakit.config.hash` of the instance and flavor configuration.
    pub hash: String,
    /// The spec as committed: what the store keeps.
    pub committed: GroupSpec,
}

impl Settings {
    /// Validates a spec: a non-blank ID, parseable properties, exactly one
    /// allocation method, and at most one updating method. The messages are
    /// InfraKit's.
    pub(crate) fn parse(spec: &GroupSpec) -> Result<Settings> {
        if spec.id.is_empty() {
            return Err(Error::Group("Group ID must not be blank".into()));
        }
        let props = GroupProperties::parse(&spec.properties).map_err(Error::Group)?;
        let alloc = &props.allocation;
        if alloc.size == 0 && alloc.logical_ids.is_empty() {
            return Err(Error::Group("Allocation must not be blank".into()));
        }
        if alloc.size > 0 && !alloc.logical_ids.is_empty() {
            return Err(Error::Group(
                "Only one Allocation method may be used".into(),
            ));
        }
        if props.updating.count > 0 && !props.updating.duration.is_zero() {
            return Err(Error::Group("Only one Updating method may be used".into()));
        }
        let hash = hash::config_hash(&props.instance, &props.flavor);
        Ok(Settings {
            id: spec.id.clone(),
            props,
            hash,
            committed: spec.clone(),
        })
    }

    /// The allocation.
    pub(crate) fn allocation(&self) -> &Allocation {
        &self.props.allocation
    }

    /// True for a quorum group (LogicalIDs), false for a scaled one (Size).
    pub(crate) fn is_quorum(&self) -> bool {
        !self.props.allocation.logical_ids.is_empty()
    }

    /// The target size: `Size`, or the number of LogicalIDs.
    pub(crate) fn target(&self) -> u32 {
        if self.is_quorum() {
            u32::try_from(self.props.allocation.logical_ids.len()).unwrap_or(u32::MAX)
        } else {
            self.props.allocation.size
        }
    }

    /// The spec as InfraKit's `InspectGroups` returns it: re-marshalled
    /// through the Go struct, so `Allocation.LogicalIDs` and `Updating` are
    /// always present, in Go's field order, and plugin properties are compacted.
    pub(crate) fn normalized(&self) -> GroupSpec {
        let p = &self.props;
        let doc = Normalized {
            instance: NormalizedPlugin::from(&p.instance),
            flavor: NormalizedPlugin::from(&p.flavor),
            allocation: &p.allocation,
            updating: NormalizedUpdating {
                duration: duration::format(p.updating.duration),
                count: p.updating.count,
                skip: p.updating.skip_drain.then_some("drain"),
            },
        };
        let text = serde_json::to_string(&doc).expect("the normalized spec always serialises");
        GroupSpec {
            id: self.id.clone(),
            properties: Json::new(gojson::compact(&text)).expect("compacting keeps JSON valid"),
        }
    }

    /// The same settings with another size (for `SetSize`), committed in normalized form.
    pub(crate) fn with_size(&self, size: u32) -> Result<Settings> {
        let mut resized = self.clone();
        resized.props.allocation.size = size;
        Settings::parse(&resized.normalized())
    }
}

#[derive(Serialize)]
struct Normalized<'a> {
    #[serde(rename = "Instance")]
    instance: NormalizedPlugin<'a>,
    #[serde(rename = "Flavor")]
    flavor: NormalizedPlugin<'a>,
    #[serde(rename = "Allocation")]
    allocation: &'a Allocation,
    #[serde(rename = "Updating")]
    updating: NormalizedUpdating,
}

#[derive(Serialize)]
struct NormalizedPlugin<'a> {
    #[serde(rename = "Plugin")]
    plugin: &'a str,
    #[serde(rename = "Properties")]
    properties: Option<Json>,
}

impl<'a> From<&'a PluginSpec> for NormalizedPlugin<'a> {
    fn from(spec: &'a PluginSpec) -> Self {
        NormalizedPlugin {
            plugin: &spec.plugin,
            properties: spec.properties.as_ref().map(|p| {
                Json::new(gojson::compact(p.as_str())).expect("compacting keeps JSON valid")
            }),
        }
    }
}

#[derive(Serialize)]
struct NormalizedUpdating {
    #[serde(rename = "Duration")]
    duration: String,
    #[serde(rename = "Count")]
    count: i64,
    #[serde(rename = "SkipBeforeInstanceDestroy")]
    skip: Option<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(id: &str, properties: &str) -> GroupSpec {
        GroupSpec {
            id: id.into(),
            properties: Json::new(properties).unwrap(),
        }
    }

    fn message(r: Result<Settings>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn validation_uses_infrakit_messages() {
        assert_eq!(
            message(Settings::parse(&GroupSpec::default())),
            "Group ID must not be blank"
        );
        assert_eq!(
            message(Settings::parse(&spec("g", "{}"))),
            "Allocation must not be blank"
        );
        assert_eq!(
            message(Settings::parse(&spec(
                "g",
                r#"{"Allocation":{"Size":1,"LogicalIDs":["a"]}}"#
            ))),
            "Only one Allocation method may be used"
        );
        assert_eq!(
            message(Settings::parse(&spec(
                "g",
                r#"{"Allocation":{"Size":1},"Updating":{"Count":2,"Duration":"5s"}}"#
            ))),
            "Only one Updating method may be used"
        );
    }

    #[test]
    fn normalized_form_is_infrakits() {
        let s = Settings::parse(&spec(
            "workers",
            r#"{"Allocation": {"Size": 2}, "Flavor": {"Plugin": "vanilla", "Properties": {"Init": ["echo hello"], "Tags": {"tier": "web"}}},
               "Instance": {"Plugin": "file", "Properties": {"note": "v1"}}}"#,
        ))
        .unwrap();
        assert_eq!(
            serde_json::to_string(&s.normalized()).unwrap(),
            r#"{"ID":"workers","Properties":{"Instance":{"Plugin":"file","Properties":{"note":"v1"}},"Flavor":{"Plugin":"vanilla","Properties":{"Init":["echo hello"],"Tags":{"tier":"web"}}},"Allocation":{"Size":2,"LogicalIDs":null},"Updating":{"Duration":"0s","Count":0,"SkipBeforeInstanceDestroy":null}}}"#
        );
        assert_eq!(s.hash, "xnhzyp5zgt5xgyeu47ajojm6ezgxnxv5");
    }

    #[test]
    fn resizing_keeps_everything_else() {
        let s = Settings::parse(&spec(
            "g",
            r#"{"Allocation":{"Size":2},"Instance":{"Plugin":"i"},"Flavor":{"Plugin":"f"},"Updating":{"Duration":"1m30s"}}"#,
        ))
        .unwrap();
        let r = s.with_size(5).unwrap();
        assert_eq!(r.target(), 5);
        assert_eq!(r.hash, s.hash);
        assert_eq!(r.props.updating, s.props.updating);
    }
}
