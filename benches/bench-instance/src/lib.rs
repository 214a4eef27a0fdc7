//! The benchmark's instance plugin. Its logic is pure computation, so a
//! benchmark measures the cost of calling it, not a disk or a network:
//!
//! - `provision` parses the spec's properties (InfraKit's raw JSON) into a
//!   struct with flattened extras and returns `i-<FNV-1a of the fields and
//!   tags>`, the workload of `../shared/wasmtime-notes.md`. A tag
//!   `bench.sleep-ms` makes it sleep that long afterwards (used to hold many
//!   calls in flight at once, so the host creates that many instances).
//! - `describe_instances` returns [`DESCRIBED`] synthetic descriptions that
//!   carry the filter's tags.
//! - `destroy` of the ID `trap` panics (a guest trap); every other call succeeds.
//! - `example_properties` is the default `None`: the trivial call.
//!
//! The same crate is compiled natively (rlib) for the benchmark's native
//! baseline and for its JSON-RPC server, so all three run the same code.

use std::collections::BTreeMap;

use deploykit_sdk::{
    Description, DestroyReason, Error, InstancePlugin, Json, Result, Spec, Tags, export_plugin,
};
use serde::Deserialize;

/// How many descriptions `describe_instances` returns.
pub const DESCRIBED: usize = 10;

/// The tag that makes `provision` sleep, in milliseconds.
pub const SLEEP_TAG: &str = "bench.sleep-ms";

/// The benchmark plugin; it keeps no state.
#[derive(Debug, Default)]
pub struct BenchInstance;

#[derive(Deserialize)]
struct Properties {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Region", default)]
    region: String,
    #[serde(rename = "Size", default)]
    size: u64,
    #[serde(flatten)]
    extra: BTreeMap<String, serde_json::Value>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

fn fnv_value(h: u64, v: &serde_json::Value) -> u64 {
    match v {
        serde_json::Value::Null => fnv(h, b"null"),
        serde_json::Value::Bool(b) => fnv(h, &[u8::from(*b)]),
        serde_json::Value::Number(n) => fnv(h, n.to_string().as_bytes()),
        serde_json::Value::String(s) => fnv(h, s.as_bytes()),
        serde_json::Value::Array(a) => a.iter().fold(h, fnv_value),
        serde_json::Value::Object(o) => o
            .iter()
            .fold(h, |h, (k, v)| fnv_value(fnv(h, k.as_bytes()), v)),
    }
}

/// The ID `provision` returns for `spec`.
pub fn instance_id(spec: &Spec) -> Result<String> {
    let props: Properties = match &spec.properties {
        Some(p) => serde_json::from_str(p.as_str())
            .map_err(|e| Error::InvalidInput(format!("invalid properties: {e}")))?,
        None => return Err(Error::InvalidInput("no properties".into())),
    };
    let mut h = fnv(FNV_OFFSET, props.name.as_bytes());
    h = fnv(h, props.region.as_bytes());
    h = fnv(h, &props.size.to_le_bytes());
    for (k, v) in &props.extra {
        h = fnv_value(fnv(h, k.as_bytes()), v);
    }
    for (k, v) in &spec.tags {
        h = fnv(fnv(h, k.as_bytes()), v.as_bytes());
    }
    Ok(format!("i-{h:016x}"))
}

impl InstancePlugin for BenchInstance {
    fn validate(&self, _properties: &Json) -> Result<()> {
        Ok(())
    }

    fn provision(&self, spec: Spec) -> Result<String> {
        let id = instance_id(&spec)?;
        if let Some(ms) = spec.tags.get(SLEEP_TAG) {
            let ms: u64 = ms
                .parse()
                .map_err(|_| Error::InvalidInput(format!("{SLEEP_TAG}: not a number")))?;
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        Ok(id)
    }

    fn label(&self, _id: &str, _labels: Tags) -> Result<()> {
        Ok(())
    }

    fn destroy(&self, id: &str, _reason: DestroyReason) -> Result<()> {
        if id == "trap" {
            panic!("bench: asked to trap");
        }
        Ok(())
    }

    fn describe_instances(&self, tags: &Tags, _properties: bool) -> Result<Vec<Description>> {
        Ok((0..DESCRIBED)
            .map(|i| {
                let mut t = tags.clone();
                t.insert("bench.index".into(), i.to_string());
                Description {
                    id: format!("i-{i:016x}"),
                    logical_id: None,
                    tags: t,
                    properties: None,
                }
            })
            .collect())
    }
}

export_plugin!(BenchInstance: instance);
