//! The SPI data types, with serde names that match InfraKit's JSON field for field.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Json;

/// Tags on an instance. Sorted, like Go's JSON encoding of a map.
pub type Tags = BTreeMap<String, String>;

/// The provider's identifier of an instance.
pub type InstanceId = String;

/// A stable identity that survives replacement, such as an IP address.
pub type LogicalId = String;

/// Something attached to an instance (InfraKit's `instance.Attachment`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The attachment's identifier.
    #[serde(rename = "ID", default)]
    pub id: String,
    /// Its type, whose meaning is the plugin's.
    #[serde(rename = "Type", default)]
    pub kind: String,
}

/// What to provision (InfraKit's `instance.Spec`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Spec {
    /// Provider-specific properties (`null` when absent).
    #[serde(default)]
    pub properties: Option<Json>,
    /// Tags to apply to the new instance.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Tags,
    /// The boot script.
    #[serde(default, deserialize_with = "null_as_default")]
    pub init: String,
    /// The logical identity, for quorum members.
    #[serde(rename = "LogicalID", default)]
    pub logical_id: Option<LogicalId>,
    /// Attachments to make; Go writes an empty list as `null`.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        serialize_with = "empty_as_null"
    )]
    pub attachments: Vec<Attachment>,
}

/// An existing instance (InfraKit's `instance.Description`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Description {
    /// The provider's identifier.
    #[serde(rename = "ID")]
    pub id: InstanceId,
    /// The logical identity, if any.
    #[serde(rename = "LogicalID", default)]
    pub logical_id: Option<LogicalId>,
    /// The instance's tags.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: Tags,
    /// Provider-specific state, present only when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Json>,
}

/// Why an instance is destroyed (InfraKit's `instance.Context.Reason`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DestroyReason {
    /// No longer wanted.
    #[default]
    #[serde(rename = "terminate")]
    Terminate,
    /// Replaced by a rolling update.
    #[serde(rename = "rolling_update")]
    RollingUpdate,
}

impl DestroyReason {
    /// The wire name: `terminate` or `rolling_update`.
    pub fn as_str(self) -> &'static str {
        match self {
            DestroyReason::Terminate => "terminate",
            DestroyReason::RollingUpdate => "rolling_update",
        }
    }
}

impl std::str::FromStr for DestroyReason {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "terminate" => Ok(DestroyReason::Terminate),
            "rolling_update" => Ok(DestroyReason::RollingUpdate),
            other => Err(crate::Error::InvalidInput(format!(
                "unknown destroy reason '{other}': expected terminate or rolling_update"
            ))),
        }
    }
}

/// How a group is sized: by `size`, or by a list of logical IDs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// The target number of instances of a scaled group.
    #[serde(rename = "Size", default)]
    pub size: u32,
    /// The members of a quorum group; Go writes an empty list as `null`.
    #[serde(
        rename = "LogicalIDs",
        default,
        deserialize_with = "null_as_default",
        serialize_with = "empty_as_null"
    )]
    pub logical_ids: Vec<LogicalId>,
}

/// Which group an instance is prepared for (InfraKit's `group.Index`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Index {
    /// The group's ID.
    #[serde(default)]
    pub group: String,
    /// A sequence hint; InfraKit's controller passes the target size.
    #[serde(default)]
    pub sequence: u32,
}

/// An instance's health as judged by a flavor: `0`, `1`, `2` on the wire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Health {
    /// Not known yet (`0`).
    #[default]
    Unknown,
    /// Serving (`1`).
    Healthy,
    /// Not serving (`2`).
    Unhealthy,
}

impl Health {
    /// InfraKit's integer code.
    pub fn code(self) -> u8 {
        match self {
            Health::Unknown => 0,
            Health::Healthy => 1,
            Health::Unhealthy => 2,
        }
    }
}

impl Serialize for Health {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

impl<'de> Deserialize<'de> for Health {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match u8::deserialize(deserializer)? {
            0 => Ok(Health::Unknown),
            1 => Ok(Health::Healthy),
            2 => Ok(Health::Unhealthy),
            n => Err(serde::de::Error::custom(format!(
                "health must be 0, 1 or 2, got {n}"
            ))),
        }
    }
}

/// A group's configuration (InfraKit's `group.Spec`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupSpec {
    /// The group's ID.
    #[serde(rename = "ID", default)]
    pub id: String,
    /// `Allocation`, `Instance`, `Flavor` and `Updating`.
    #[serde(rename = "Properties", default)]
    pub properties: Json,
}

/// A group's members and whether it has converged (InfraKit's `group.Description`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupDescription {
    /// The group's members.
    #[serde(default, deserialize_with = "null_as_default")]
    pub instances: Vec<Description>,
    /// True when the group matches its spec and no update is running.
    #[serde(default)]
    pub converged: bool,
}

/// Who made a plugin (InfraKit's `spi.VendorInfo`), shown in its API info.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorInfo {
    /// The plugin's name, such as `infrakit-instance-file`.
    #[serde(rename = "Name", default)]
    pub name: String,
    /// Its version.
    #[serde(rename = "Version", default)]
    pub version: String,
    /// Where to learn more.
    #[serde(rename = "URL", default)]
    pub url: String,
}

/// Reads a JSON `null` as the type's default, as Go does for nil maps and slices.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Writes an empty list as `null`, as Go does for a nil slice.
fn empty_as_null<S: Serializer, T: Serialize>(v: &[T], serializer: S) -> Result<S::Ok, S::Error> {
    if v.is_empty() {
        serializer.serialize_none()
    } else {
        v.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_round_trips_infrakit_json() {
        let wire = r#"{"Properties":{"note":"hello"},"Tags":{"infrakit.group":"demo","tier":"web"},"Init":"echo hi","LogicalID":"node-1","Attachments":[{"ID":"vol-1","Type":"disk"}]}"#;
        let spec: Spec = serde_json::from_str(wire).unwrap();
        assert_eq!(spec.logical_id.as_deref(), Some("node-1"));
        assert_eq!(spec.attachments[0].kind, "disk");
        assert_eq!(serde_json::to_string(&spec).unwrap(), wire);
    }

    #[test]
    fn nil_fields_are_written_like_go() {
        let spec = Spec::default();
        assert_eq!(
            serde_json::to_string(&spec).unwrap(),
            r#"{"Properties":null,"Tags":{},"Init":"","LogicalID":null,"Attachments":null}"#
        );
        let d: Description =
            serde_json::from_str(r#"{"ID":"i-1","LogicalID":null,"Tags":null}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"ID":"i-1","LogicalID":null,"Tags":{}}"#
        );
    }

    #[test]
    fn health_is_an_integer() {
        assert_eq!(serde_json::to_string(&Health::Healthy).unwrap(), "1");
        assert_eq!(
            serde_json::from_str::<Health>("2").unwrap(),
            Health::Unhealthy
        );
        assert!(serde_json::from_str::<Health>("3").is_err());
    }

    #[test]
    fn destroy_reason_uses_infrakit_words() {
        assert_eq!(
            serde_json::to_string(&DestroyReason::RollingUpdate).unwrap(),
            r#""rolling_update""#
        );
        assert_eq!(
            "terminate".parse::<DestroyReason>().unwrap(),
            DestroyReason::Terminate
        );
        assert!("termination".parse::<DestroyReason>().is_err());
    }
}
