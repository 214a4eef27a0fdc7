//! One hosted plugin as an InfraKit JSON-RPC object: the handshakes, the `Type` demux, and `/info/api.json`.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use super::jsonrpc::RpcError;
use super::server::Service;
use crate::spi::{Spi, SpiSet};
use crate::{Host, wire};

/// The InfraKit interface name and version each SPI is served as.
pub fn interface(spi: Spi) -> (&'static str, &'static str) {
    match spi {
        Spi::Instance => ("Instance", "0.6.1"),
        Spi::Flavor => ("Flavor", "0.1.1"),
        Spi::Group => ("Group", "0.1.1"),
    }
}

/// `Name/Version`, the key of `Handshake.Hello`'s objects.
pub fn interface_key(spi: Spi) -> String {
    let (name, version) = interface(spi);
    format!("{name}/{version}")
}

/// The service for plugin `name` of `host`. Every request looks the plugin up
/// again, so a reloaded plugin answers with its new version at once.
pub fn plugin_service(host: &Host, name: &str) -> Service {
    let rpc = {
        let (host, name) = (host.clone(), name.to_owned());
        Arc::new(move |method: &str, params: &str| dispatch(&host, &name, method, params))
    };
    let info = {
        let (host, name) = (host.clone(), name.to_owned());
        Arc::new(move || api_info(&host, &name).to_string())
    };
    Service {
        rpc,
        info: Some(info),
    }
}

/// Answers one JSON-RPC method for plugin `name`.
pub fn dispatch(host: &Host, name: &str, method: &str, params: &str) -> Result<String, RpcError> {
    let Some(spis) = host.spis_of(name) else {
        return Err(RpcError::Failed(format!("plugin '{name}' is not loaded")));
    };
    let _span = tracing::debug_span!("rpc", plugin = %name, method).entered();
    match method.split_once('.') {
        Some(("Handshake", "Hello")) => Ok(json!({ "Objects": objects(spis) }).to_string()),
        Some(("Handshake", "Implements") | ("Plugin", "Implements")) => {
            Ok(json!({ "APIs": apis(spis) }).to_string())
        }
        Some(("Handshake", "Types")) => {
            let types: serde_json::Map<String, Value> = spis
                .to_vec()
                .into_iter()
                .map(|spi| (interface_key(spi), json!(["."])))
                .collect();
            Ok(json!({ "Types": types }).to_string())
        }
        Some(("Instance", m)) if spis.contains(Spi::Instance) => {
            check_type(params)?;
            let plugin = host.instance(name).map_err(failed)?;
            Ok(wire::call_instance(plugin.as_ref(), m, params)?)
        }
        Some(("Flavor", m)) if spis.contains(Spi::Flavor) => {
            check_type(params)?;
            let plugin = host.flavor(name).map_err(failed)?;
            Ok(wire::call_flavor(plugin.as_ref(), m, params)?)
        }
        // A socket serves one group object, and InfraKit's keyed lookup
        // matches the only object whatever `Name` says.
        Some(("Group", m)) if spis.contains(Spi::Group) => {
            let plugin = host.group(name).map_err(failed)?;
            Ok(wire::call_group(plugin.as_ref(), m, params)?)
        }
        _ => Err(RpcError::unknown_service(method)),
    }
}

fn failed(e: crate::Error) -> RpcError {
    RpcError::Failed(e.to_string())
}

/// `{"Instance/0.6.1": [{"Name": ".", "ProxyFor": ""}], …}`.
fn objects(spis: SpiSet) -> serde_json::Map<String, Value> {
    spis.to_vec()
        .into_iter()
        .map(|spi| (interface_key(spi), json!([{ "Name": ".", "ProxyFor": "" }])))
        .collect()
}

/// `[{"Name": "Instance", "Version": "0.6.1"}, …]`.
fn apis(spis: SpiSet) -> Vec<Value> {
    spis.to_vec()
        .into_iter()
        .map(|spi| {
            let (name, version) = interface(spi);
            json!({ "Name": name, "Version": version })
        })
        .collect()
}

/// Refuses a `Type` other than the default object, as InfraKit's typed servers do.
fn check_type(params: &str) -> Result<(), RpcError> {
    #[derive(Deserialize)]
    struct Typed {
        #[serde(rename = "Type", default)]
        kind: Option<String>,
    }
    let trimmed = params.trim_start();
    let kind = if trimmed.starts_with('[') {
        serde_json::from_str::<Vec<Typed>>(trimmed)
            .ok()
            .and_then(|v| v.into_iter().next())
    } else {
        serde_json::from_str::<Typed>(trimmed).ok()
    }
    .and_then(|t| t.kind);
    match kind.as_deref() {
        None | Some("" | ".") => Ok(()),
        Some(other) => Err(RpcError::Failed(format!("no-plugin:{other}"))),
    }
}

/// The `GET /info/api.json` document: vendor, interfaces, and an example
/// request for every method, built from zero values and the plugin's
/// example properties, as InfraKit's `pkg/rpc/server/info.go` does.
pub fn api_info(host: &Host, name: &str) -> Value {
    let Some(plugin) = host.plugin(name) else {
        return json!({ "Vendor": null, "Implements": [], "Interfaces": [] });
    };
    let mut implements = Vec::new();
    let mut interfaces = Vec::new();
    for spi in plugin.spis.iter().copied() {
        let (iface, version) = interface(spi);
        implements.push(json!({ "Name": iface, "Version": version }));
        let example = match spi {
            Spi::Instance => host
                .instance(name)
                .ok()
                .and_then(|p| p.example_properties().ok()),
            Spi::Flavor => host
                .flavor(name)
                .ok()
                .and_then(|p| p.example_properties().ok()),
            Spi::Group => host
                .group(name)
                .ok()
                .and_then(|p| p.example_properties().ok()),
        }
        .flatten()
        .and_then(|j| serde_json::to_value(j).ok())
        .unwrap_or(Value::Null);
        let methods: Vec<Value> = examples(spi, &example)
            .into_iter()
            .map(|(method, params, result)| {
                json!({
                    "Request": { "jsonrpc": "2.0", "method": format!("{iface}.{method}"), "params": params, "id": "1" },
                    "Response": { "result": result, "id": "1" },
                })
            })
            .collect();
        interfaces.push(json!({ "Name": iface, "Version": version, "Methods": methods }));
    }
    json!({
        "Vendor": plugin.vendor.as_ref().map(|v| json!({ "Name": v.name, "Version": v.version, "URL": v.url })),
        "Implements": implements,
        "Interfaces": interfaces,
    })
}

/// `(method, example params, example result)` for every method of `spi`.
fn examples(spi: Spi, properties: &Value) -> Vec<(&'static str, Value, Value)> {
    let spec = json!({ "Properties": properties, "Tags": null, "Init": "", "LogicalID": null, "Attachments": null });
    let allocation = json!({ "Size": 0, "LogicalIDs": null });
    let description = json!({ "ID": "", "LogicalID": null, "Tags": null });
    let typed_ok = json!({ "Type": "", "OK": false });
    match spi {
        Spi::Instance => vec![
            (
                "Validate",
                json!({ "Type": "", "Properties": properties }),
                typed_ok.clone(),
            ),
            (
                "Provision",
                json!({ "Type": "", "Spec": spec }),
                json!({ "Type": "", "ID": null }),
            ),
            (
                "Label",
                json!({ "Type": "", "Instance": "", "Labels": null }),
                typed_ok.clone(),
            ),
            (
                "Destroy",
                json!({ "Type": "", "Instance": "", "Context": { "Reason": "terminate" } }),
                typed_ok,
            ),
            (
                "DescribeInstances",
                json!({ "Type": "", "Tags": null, "Properties": false }),
                json!({ "Type": "", "Descriptions": null }),
            ),
        ],
        Spi::Flavor => vec![
            (
                "Validate",
                json!({ "Type": "", "Properties": properties, "Allocation": allocation }),
                typed_ok.clone(),
            ),
            (
                "Prepare",
                json!({ "Type": "", "Properties": properties, "Spec": spec, "Allocation": allocation, "Index": { "Group": "", "Sequence": 0 } }),
                json!({ "Type": "", "Spec": spec }),
            ),
            (
                "Healthy",
                json!({ "Type": "", "Properties": properties, "Instance": description }),
                json!({ "Type": "", "Health": 0 }),
            ),
            (
                "Drain",
                json!({ "Type": "", "Properties": properties, "Instance": description }),
                typed_ok,
            ),
        ],
        Spi::Group => {
            let id = json!({ "Name": "", "ID": "" });
            vec![
                (
                    "CommitGroup",
                    json!({ "Name": "", "Spec": { "ID": "", "Properties": properties }, "Pretend": false }),
                    json!({ "Name": "", "ID": "", "Details": "" }),
                ),
                ("FreeGroup", id.clone(), id.clone()),
                (
                    "DescribeGroup",
                    id.clone(),
                    json!({ "Name": "", "ID": "", "Description": { "Instances": null, "Converged": false } }),
                ),
                ("DestroyGroup", id.clone(), id.clone()),
                (
                    "InspectGroups",
                    json!({ "Name": "" }),
                    json!({ "Name": "", "ID": "", "Groups": null }),
                ),
                (
                    "DestroyInstances",
                    json!({ "Name": "", "ID": "", "Instances": null }),
                    id.clone(),
                ),
                (
                    "Size",
                    id.clone(),
                    json!({ "Name": "", "ID": "", "Size": 0 }),
                ),
                ("SetSize", json!({ "Name": "", "ID": "", "Size": 0 }), id),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_default_object_is_served() {
        assert!(check_type(r#"{"Type":"","Spec":{}}"#).is_ok());
        assert!(check_type(r#"{"Type":".","Spec":{}}"#).is_ok());
        assert!(check_type(r#"{"Spec":{}}"#).is_ok());
        assert!(check_type(r#"[{"Type":""}]"#).is_ok());
        assert_eq!(
            check_type(r#"{"Type":"nope","Spec":{}}"#),
            Err(RpcError::Failed("no-plugin:nope".into()))
        );
        assert_eq!(
            check_type(r#"[{"Type":"disk"}]"#),
            Err(RpcError::Failed("no-plugin:disk".into()))
        );
    }

    #[test]
    fn handshake_objects_name_each_interface() {
        let spis = SpiSet::default().with(Spi::Instance).with(Spi::Flavor);
        assert_eq!(
            json!({ "Objects": objects(spis) }).to_string(),
            r#"{"Objects":{"Flavor/0.1.1":[{"Name":".","ProxyFor":""}],"Instance/0.6.1":[{"Name":".","ProxyFor":""}]}}"#
        );
        assert_eq!(
            json!(apis(spis)).to_string(),
            r#"[{"Name":"Instance","Version":"0.6.1"},{"Name":"Flavor","Version":"0.1.1"}]"#
        );
    }
}
