//! A plugin served by another process over InfraKit's JSON-RPC, behind the same SPI traits as hosted plugins.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use deploykit_sdk::{
    Allocation, Description, DestroyReason, GroupDescription, GroupSpec, Health, Index, InstanceId,
    Json, Spec, Tags,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::bridge::{interface, interface_key};
use super::client::{CallError, Client, Endpoint};
use crate::spi::{Flavor, Group, Instance, Spi, SpiSet};
use crate::{Error, PluginError, Result};

/// InfraKit's client timeout (`INFRAKIT_CLIENT_TIMEOUT`'s default).
pub const DEFAULT_TIMEOUT: Duration = super::DEFAULT_CLIENT_TIMEOUT;

/// One object of a remote plugin server: the socket `lookup`, object `kind`
/// (`""` for the default object), reached at `endpoint`.
pub struct RemotePlugin {
    /// The full name calls use, such as `simulator/compute`.
    name: String,
    /// The object's type, sent as `Type` (the part after `/`).
    kind: String,
    client: Client,
    /// The server's `Handshake.Hello` objects, once a handshake succeeded.
    hello: Mutex<Option<BTreeMap<String, Vec<HelloObject>>>>,
}

#[derive(Debug, Clone, Deserialize)]
struct HelloObject {
    #[serde(rename = "Name", default)]
    name: String,
}

#[derive(Deserialize)]
struct HelloResult {
    #[serde(rename = "Objects", default)]
    objects: Option<BTreeMap<String, Vec<HelloObject>>>,
}

#[derive(Deserialize)]
struct ImplementsResult {
    #[serde(rename = "APIs", default)]
    apis: Option<Vec<Api>>,
}

#[derive(Deserialize)]
struct Api {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Version")]
    version: String,
}

impl RemotePlugin {
    /// The object `name` (`lookup` or `lookup/type`) at `endpoint`.
    pub fn new(name: &str, endpoint: Endpoint, timeout: Duration) -> RemotePlugin {
        let kind = name.split_once('/').map(|(_, t)| t).unwrap_or_default();
        RemotePlugin {
            name: name.to_owned(),
            kind: kind.to_owned(),
            client: Client::new(endpoint, timeout),
            hello: Mutex::new(None),
        }
    }

    /// Where the server listens.
    pub fn endpoint(&self) -> &Endpoint {
        self.client.endpoint()
    }

    /// The SPIs the server announces for this object, handshaking if needed.
    pub fn spis(&self) -> Result<SpiSet> {
        let objects = self.handshake()?;
        let object = if self.kind.is_empty() {
            "."
        } else {
            &self.kind
        };
        Ok(Spi::ALL
            .into_iter()
            .filter(|spi| {
                objects.get(&interface_key(*spi)).is_some_and(|objs| {
                    objs.is_empty() || objs.iter().any(|o| o.name == object || o.name == ".")
                })
            })
            .fold(SpiSet::default(), SpiSet::with))
    }

    /// Checks that the server serves `spi` at the exact version this host speaks,
    /// with InfraKit's client's messages when it does not.
    pub fn require(&self, spi: Spi) -> Result<()> {
        let objects = self.handshake()?;
        let (iface, version) = interface(spi);
        if objects.contains_key(&interface_key(spi)) {
            return Ok(());
        }
        let offered = objects
            .keys()
            .filter_map(|k| k.split_once('/'))
            .find(|(name, _)| *name == iface);
        let reason = match offered {
            Some((_, other)) => format!(
                "Plugin supports {iface} interface version {other}, client requires {version}"
            ),
            None => format!("Plugin does not support interface {iface}/{version}"),
        };
        Err(self.remote_error(reason))
    }

    /// `Handshake.Hello`, cached after the first success. A server too old for
    /// Hello is asked `Handshake.Implements`, then `Plugin.Implements`.
    fn handshake(&self) -> Result<BTreeMap<String, Vec<HelloObject>>> {
        let mut cached = self.hello.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(objects) = cached.as_ref() {
            return Ok(objects.clone());
        }
        let objects = match self.client.call("Handshake.Hello", "{}") {
            Ok(raw) => {
                let hello: HelloResult = serde_json::from_str(&raw).map_err(|e| {
                    self.remote_error(format!("malformed Handshake.Hello result: {e}"))
                })?;
                hello.objects.unwrap_or_default()
            }
            Err(CallError::Remote { .. }) => self.older_handshake()?,
            Err(e) => return Err(self.remote_error(e.to_string())),
        };
        *cached = Some(objects.clone());
        Ok(objects)
    }

    fn older_handshake(&self) -> Result<BTreeMap<String, Vec<HelloObject>>> {
        let mut last = String::new();
        for method in ["Handshake.Implements", "Plugin.Implements"] {
            match self.client.call(method, "{}") {
                Ok(raw) => {
                    let result: ImplementsResult = serde_json::from_str(&raw).map_err(|e| {
                        self.remote_error(format!("malformed {method} result: {e}"))
                    })?;
                    return Ok(result
                        .apis
                        .unwrap_or_default()
                        .into_iter()
                        .map(|a| (format!("{}/{}", a.name, a.version), Vec::new()))
                        .collect());
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(self.remote_error(format!("handshake failed: {last}")))
    }

    fn remote_error(&self, reason: String) -> Error {
        Error::Remote {
            plugin: self.name.clone(),
            address: self.endpoint().to_string(),
            reason,
        }
    }

    /// Calls `Service.Method` after checking the handshake, and reads the result as `R`.
    fn call<R: DeserializeOwned>(
        &self,
        spi: Spi,
        op: &'static str,
        method: &str,
        params: Value,
    ) -> Result<R> {
        let _span = tracing::debug_span!("remote call", plugin = %self.name, method, endpoint = %self.endpoint()).entered();
        self.require(spi)?;
        let (iface, _) = interface(spi);
        let full = format!("{iface}.{method}");
        match self.client.call(&full, &params.to_string()) {
            Ok(raw) => serde_json::from_str(&raw)
                .map_err(|e| self.remote_error(format!("malformed {full} result: {e}"))),
            Err(CallError::Remote { message, .. }) => Err(Error::Plugin {
                plugin: self.name.clone(),
                spi,
                op,
                source: PluginError::Internal(message),
            }),
            Err(e) => Err(self.remote_error(e.to_string())),
        }
    }
}

#[derive(Deserialize)]
struct Ignored {}

#[derive(Deserialize)]
struct IdResult {
    #[serde(rename = "ID")]
    id: InstanceId,
}

#[derive(Deserialize)]
struct DescribeResult {
    #[serde(rename = "Descriptions", default)]
    descriptions: Option<Vec<Description>>,
}

#[derive(Deserialize)]
struct PrepareResult {
    #[serde(rename = "Spec")]
    spec: Spec,
}

#[derive(Deserialize)]
struct HealthResult {
    #[serde(rename = "Health")]
    health: Health,
}

#[derive(Deserialize)]
struct CommitResult {
    #[serde(rename = "Details", default)]
    details: String,
}

#[derive(Deserialize)]
struct GroupDescribeResult {
    #[serde(rename = "Description")]
    description: GroupDescription,
}

#[derive(Deserialize)]
struct InspectResult {
    #[serde(rename = "Groups", default)]
    groups: Option<Vec<GroupSpec>>,
}

#[derive(Deserialize)]
struct SizeResult {
    #[serde(rename = "Size")]
    size: u32,
}

impl Instance for RemotePlugin {
    fn validate(&self, properties: &Json) -> Result<()> {
        let params = json!({ "Type": self.kind, "Properties": properties });
        self.call::<Ignored>(Spi::Instance, "validate", "Validate", params)
            .map(drop)
    }

    fn provision(&self, spec: &Spec) -> Result<InstanceId> {
        let params = json!({ "Type": self.kind, "Spec": spec });
        self.call::<IdResult>(Spi::Instance, "provision", "Provision", params)
            .map(|r| r.id)
    }

    fn label(&self, id: &str, labels: &Tags) -> Result<()> {
        let params = json!({ "Type": self.kind, "Instance": id, "Labels": labels });
        self.call::<Ignored>(Spi::Instance, "label", "Label", params)
            .map(drop)
    }

    fn destroy(&self, id: &str, reason: DestroyReason) -> Result<()> {
        let params = json!({ "Type": self.kind, "Instance": id, "Context": { "Reason": reason } });
        self.call::<Ignored>(Spi::Instance, "destroy", "Destroy", params)
            .map(drop)
    }

    fn describe_instances(&self, tags: &Tags, properties: bool) -> Result<Vec<Description>> {
        let params = json!({ "Type": self.kind, "Tags": tags, "Properties": properties });
        self.call::<DescribeResult>(
            Spi::Instance,
            "describe-instances",
            "DescribeInstances",
            params,
        )
        .map(|r| r.descriptions.unwrap_or_default())
    }
}

impl Flavor for RemotePlugin {
    fn validate(&self, properties: &Json, allocation: &Allocation) -> Result<()> {
        let params =
            json!({ "Type": self.kind, "Properties": properties, "Allocation": allocation });
        self.call::<Ignored>(Spi::Flavor, "validate", "Validate", params)
            .map(drop)
    }

    fn prepare(
        &self,
        properties: &Json,
        spec: &Spec,
        allocation: &Allocation,
        index: &Index,
    ) -> Result<Spec> {
        let params = json!({
            "Type": self.kind, "Properties": properties, "Spec": spec,
            "Allocation": allocation, "Index": index,
        });
        self.call::<PrepareResult>(Spi::Flavor, "prepare", "Prepare", params)
            .map(|r| r.spec)
    }

    fn healthy(&self, properties: &Json, instance: &Description) -> Result<Health> {
        let params = json!({ "Type": self.kind, "Properties": properties, "Instance": instance });
        self.call::<HealthResult>(Spi::Flavor, "healthy", "Healthy", params)
            .map(|r| r.health)
    }

    fn drain(&self, properties: &Json, instance: &Description) -> Result<()> {
        let params = json!({ "Type": self.kind, "Properties": properties, "Instance": instance });
        self.call::<Ignored>(Spi::Flavor, "drain", "Drain", params)
            .map(drop)
    }
}

impl Group for RemotePlugin {
    fn commit_group(&self, spec: &GroupSpec, pretend: bool) -> Result<String> {
        let params = json!({ "Name": self.name, "Spec": spec, "Pretend": pretend });
        self.call::<CommitResult>(Spi::Group, "commit-group", "CommitGroup", params)
            .map(|r| r.details)
    }

    fn free_group(&self, id: &str) -> Result<()> {
        let params = json!({ "Name": self.name, "ID": id });
        self.call::<Ignored>(Spi::Group, "free-group", "FreeGroup", params)
            .map(drop)
    }

    fn describe_group(&self, id: &str) -> Result<GroupDescription> {
        let params = json!({ "Name": self.name, "ID": id });
        self.call::<GroupDescribeResult>(Spi::Group, "describe-group", "DescribeGroup", params)
            .map(|r| r.description)
    }

    fn destroy_group(&self, id: &str) -> Result<()> {
        let params = json!({ "Name": self.name, "ID": id });
        self.call::<Ignored>(Spi::Group, "destroy-group", "DestroyGroup", params)
            .map(drop)
    }

    fn inspect_groups(&self) -> Result<Vec<GroupSpec>> {
        let params = json!({ "Name": self.name });
        self.call::<InspectResult>(Spi::Group, "inspect-groups", "InspectGroups", params)
            .map(|r| r.groups.unwrap_or_default())
    }

    fn destroy_instances(&self, id: &str, instances: &[InstanceId]) -> Result<()> {
        let params = json!({ "Name": self.name, "ID": id, "Instances": instances });
        self.call::<Ignored>(Spi::Group, "destroy-instances", "DestroyInstances", params)
            .map(drop)
    }

    fn size(&self, id: &str) -> Result<u32> {
        let params = json!({ "Name": self.name, "ID": id });
        self.call::<SizeResult>(Spi::Group, "size", "Size", params)
            .map(|r| r.size)
    }

    fn set_size(&self, id: &str, size: u32) -> Result<()> {
        let params = json!({ "Name": self.name, "ID": id, "Size": size });
        self.call::<Ignored>(Spi::Group, "set-size", "SetSize", params)
            .map(drop)
    }
}
