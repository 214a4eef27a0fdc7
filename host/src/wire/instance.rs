//! `Instance.*` params and results (InfraKit `Instance/0.6.1`).

use deploykit_sdk::{Description, DestroyReason, Json, Spec, Tags};
use serde::{Deserialize, Serialize};

use super::{Ok, WireError, params, result};
use crate::Instance;

#[derive(Deserialize)]
struct ValidateParams {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Properties", default)]
    properties: Json,
}

#[derive(Deserialize)]
struct ProvisionParams {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Spec")]
    spec: Spec,
}

#[derive(Serialize)]
struct ProvisionResult<'a> {
    #[serde(rename = "Type")]
    kind: &'a str,
    #[serde(rename = "ID")]
    id: String,
}

#[derive(Deserialize)]
struct LabelParams {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Instance")]
    instance: String,
    #[serde(rename = "Labels", default)]
    labels: Option<Tags>,
}

#[derive(Deserialize, Default)]
struct Context {
    #[serde(rename = "Reason", default)]
    reason: Option<DestroyReason>,
}

#[derive(Deserialize)]
struct DestroyParams {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Instance")]
    instance: String,
    #[serde(rename = "Context", default)]
    context: Option<Context>,
}

#[derive(Deserialize)]
struct DescribeParams {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Tags", default)]
    tags: Option<Tags>,
    #[serde(rename = "Properties", default)]
    properties: bool,
}

#[derive(Serialize)]
struct DescribeResult<'a> {
    #[serde(rename = "Type")]
    kind: &'a str,
    #[serde(rename = "Descriptions")]
    descriptions: Vec<Description>,
}

/// Calls `Instance.<method>` (`Validate`, `Provision`, `Label`, `Destroy`,
/// `DescribeInstances`) with InfraKit's params JSON; returns the result JSON.
pub fn call_instance(
    backend: &dyn Instance,
    method: &str,
    params_json: &str,
) -> Result<String, WireError> {
    let full = format!("Instance.{method}");
    Ok(match method {
        "Validate" => {
            let p: ValidateParams = params(&full, params_json)?;
            backend.validate(&p.properties)?;
            result(&Ok {
                kind: &p.kind,
                ok: true,
            })
        }
        "Provision" => {
            let p: ProvisionParams = params(&full, params_json)?;
            let id = backend.provision(&p.spec)?;
            result(&ProvisionResult { kind: &p.kind, id })
        }
        "Label" => {
            let p: LabelParams = params(&full, params_json)?;
            backend.label(&p.instance, &p.labels.unwrap_or_default())?;
            result(&Ok {
                kind: &p.kind,
                ok: true,
            })
        }
        "Destroy" => {
            let p: DestroyParams = params(&full, params_json)?;
            let reason = p.context.unwrap_or_default().reason.unwrap_or_default();
            backend.destroy(&p.instance, reason)?;
            result(&Ok {
                kind: &p.kind,
                ok: true,
            })
        }
        "DescribeInstances" => {
            let p: DescribeParams = params(&full, params_json)?;
            let descriptions =
                backend.describe_instances(&p.tags.unwrap_or_default(), p.properties)?;
            result(&DescribeResult {
                kind: &p.kind,
                descriptions,
            })
        }
        _ => return Err(WireError::UnknownMethod(full)),
    })
}
