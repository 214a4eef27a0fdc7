//! The config hash InfraKit tags every member with (`infrakit.config.hash`), computed exactly as its Go controller does.
//!
//! Each of `{Plugin, Properties}` for Instance and Flavor is decoded into a
//! generic map and re-encoded with Go's `json.MarshalIndent(v, "  ", "  ")`
//! (keys sorted); SHA-1 runs over the instance encoding, then the flavor
//! encoding; the digest is standard base32, lowercased, without padding.
//! Allocation and Updating do not change the hash.

use data_encoding::BASE32_NOPAD;
use serde_json::Value;
use sha1::{Digest, Sha1};

use super::gojson;
use super::spec::PluginSpec;

/// The generic value Go's `stableFormat` marshals: `{Plugin, Properties}`.
fn generic(spec: &PluginSpec) -> Value {
    let properties = spec
        .properties
        .as_ref()
        .map(|p| serde_json::from_str(p.as_str()).expect("Json holds valid JSON"))
        .unwrap_or(Value::Null);
    let mut map = serde_json::Map::new();
    map.insert("Plugin".into(), Value::String(spec.plugin.clone()));
    map.insert("Properties".into(), properties);
    Value::Object(map)
}

/// The 32-character hash of an instance and a flavor configuration.
pub(crate) fn config_hash(instance: &PluginSpec, flavor: &PluginSpec) -> String {
    let mut sha = Sha1::new();
    sha.update(gojson::marshal_indent(&generic(instance), "  ", "  ").as_bytes());
    sha.update(gojson::marshal_indent(&generic(flavor), "  ", "  ").as_bytes());
    BASE32_NOPAD.encode(&sha.finalize()).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use deploykit_sdk::Json;

    use super::*;

    fn spec(plugin: &str, properties: &str) -> PluginSpec {
        PluginSpec {
            plugin: plugin.into(),
            properties: Some(Json::new(properties).unwrap()),
        }
    }

    /// The three vectors of the spec (§6), which match live InfraKit tags.
    #[test]
    fn matches_infrakit_test_vectors() {
        let vanilla = spec(
            "vanilla",
            r#"{"Init":["echo hello"],"Tags":{"tier":"web"}}"#,
        );
        assert_eq!(
            config_hash(&spec("file", r#"{"note":"v1"}"#), &vanilla),
            "xnhzyp5zgt5xgyeu47ajojm6ezgxnxv5"
        );
        assert_eq!(
            config_hash(&spec("file", r#"{"note":"v2"}"#), &vanilla),
            "2pkv6hhzxxw42vefhgzdvmn4d46dedgf"
        );
        assert_eq!(
            config_hash(&spec("file", "{}"), &spec("vanilla", "{}")),
            "4zrcjpqw3gmanosfmphcbu44zq27oqyy"
        );
    }

    #[test]
    fn key_order_and_whitespace_do_not_matter() {
        let a = spec("f", r#"{"b":1,"a":{"y":2,"x":1.0}}"#);
        let b = spec("f", r#"{ "a": {"x": 1, "y": 2}, "b": 1 }"#);
        assert_eq!(config_hash(&a, &a), config_hash(&b, &b));
        assert_ne!(
            config_hash(&a, &a),
            config_hash(&spec("f", r#"{"b":2,"a":{"y":2,"x":1}}"#), &a)
        );
    }

    #[test]
    fn absent_properties_hash_as_null() {
        let none = PluginSpec {
            plugin: "f".into(),
            properties: None,
        };
        assert_eq!(
            config_hash(&none, &none),
            config_hash(&spec("f", "null"), &spec("f", "null"))
        );
        assert_eq!(config_hash(&none, &none).len(), 32);
    }
}
