//! The JSON record stored in each instance file, and how it answers a describe.

use deploykit_sdk::{Description, Json, Result, Spec, Tags};
use serde::{Deserialize, Deserializer, Serialize};

/// InfraKit's tag for an instance's logical ID.
const LOGICAL_ID_TAG: &str = "infrakit.logical_id";

/// One instance file: `{"ID","LogicalID","Tags","Spec"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The instance ID, which is also the file name.
    #[serde(rename = "ID")]
    pub id: String,
    /// The logical ID given at provision time.
    #[serde(rename = "LogicalID", default)]
    pub logical_id: Option<String>,
    /// The tags: the spec's, plus any labels added since.
    #[serde(rename = "Tags", default, deserialize_with = "null_as_default")]
    pub tags: Tags,
    /// The spec the instance was provisioned with.
    #[serde(rename = "Spec", default)]
    pub spec: Spec,
}

impl Record {
    /// True when the record carries every one of `filter` (an empty filter
    /// matches all). As in InfraKit, a missing tag reads as `""`.
    pub fn matches(&self, filter: &Tags) -> bool {
        filter
            .iter()
            .all(|(k, v)| self.tags.get(k).map_or("", String::as_str) == v)
    }

    /// The description: the logical ID falls back to the `infrakit.logical_id`
    /// tag, and with `properties` the stored spec is the properties.
    pub fn into_description(self, properties: bool) -> Result<Description> {
        let logical_id = self
            .logical_id
            .or_else(|| self.tags.get(LOGICAL_ID_TAG).cloned());
        let properties = if properties {
            Some(Json::from_value(&self.spec)?)
        } else {
            None
        };
        Ok(Description {
            id: self.id,
            logical_id,
            tags: self.tags,
            properties,
        })
    }
}

/// Reads a JSON `null` as the type's default, as Go does for a nil map.
fn null_as_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(tags: &[(&str, &str)]) -> Record {
        Record {
            id: "instance-1".into(),
            logical_id: None,
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            spec: Spec::default(),
        }
    }

    #[test]
    fn filter_is_an_and_of_all_pairs() {
        let r = record(&[("a", "1"), ("b", "2")]);
        let filter = |pairs: &[(&str, &str)]| -> Tags {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(r.matches(&Tags::new()));
        assert!(r.matches(&filter(&[("a", "1")])));
        assert!(r.matches(&filter(&[("a", "1"), ("b", "2")])));
        assert!(!r.matches(&filter(&[("a", "1"), ("b", "3")])));
        assert!(!r.matches(&filter(&[("c", "1")])));
        assert!(
            r.matches(&filter(&[("c", "")])),
            "a missing tag reads as empty, as in Go"
        );
    }

    #[test]
    fn logical_id_falls_back_to_the_tag() {
        let d = record(&[(LOGICAL_ID_TAG, "10.0.0.9")])
            .into_description(false)
            .unwrap();
        assert_eq!(d.logical_id.as_deref(), Some("10.0.0.9"));
        assert!(d.properties.is_none());
    }

    #[test]
    fn go_records_with_null_fields_decode() {
        let r: Record = serde_json::from_str(
            r#"{"ID":"instance-7","LogicalID":null,"Tags":null,"Spec":{"Properties":null,"Tags":null,"Init":"","LogicalID":null,"Attachments":null}}"#,
        )
        .unwrap();
        assert_eq!(r.id, "instance-7");
        assert!(r.tags.is_empty());
    }
}
