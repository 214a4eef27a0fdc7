//! `Flavor.*` params and results (InfraKit `Flavor/0.1.1`).

use deploykit_sdk::{Allocation, Description, Health, Index, Json, Spec};
use serde::{Deserialize, Serialize};

use super::{Ok, WireError, params, result};
use crate::Flavor;

#[derive(Deserialize)]
struct ValidateParams {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Properties", default)]
    properties: Json,
    #[serde(rename = "Allocation", default)]
    allocation: Allocation,
}

#[derive(Deserialize)]
struct PrepareParams {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Properties", default)]
    properties: Json,
    #[serde(rename = "Spec", default)]
    spec: Spec,
    #[serde(rename = "Allocation", default)]
    allocation: Allocation,
    #[serde(rename = "Index", default)]
    index: Index,
}

#[derive(Serialize)]
struct PrepareResult<'a> {
    #[serde(rename = "Type")]
    kind: &'a str,
    #[serde(rename = "Spec")]
    spec: Spec,
}

#[derive(Deserialize)]
struct InstanceParams {
    #[serde(rename = "Type", default)]
    kind: String,
    #[serde(rename = "Properties", default)]
    properties: Json,
    #[serde(rename = "Instance")]
    instance: Description,
}

#[derive(Serialize)]
struct HealthyResult<'a> {
    #[serde(rename = "Type")]
    kind: &'a str,
    #[serde(rename = "Health")]
    health: Health,
}

/// Calls `Flavor.<method>` (`Validate`, `Prepare`, `Healthy`, `Drain`) with
/// InfraKit's params JSON; returns the result JSON.
pub fn call_flavor(
    backend: &dyn Flavor,
    method: &str,
    params_json: &str,
) -> Result<String, WireError> {
    let full = format!("Flavor.{method}");
    Ok(match method {
        "Validate" => {
            let p: ValidateParams = params(&full, params_json)?;
            backend.validate(&p.properties, &p.allocation)?;
            result(&Ok {
                kind: &p.kind,
                ok: true,
            })
        }
        "Prepare" => {
            let p: PrepareParams = params(&full, params_json)?;
            let spec = backend.prepare(&p.properties, &p.spec, &p.allocation, &p.index)?;
            result(&PrepareResult {
                kind: &p.kind,
                spec,
            })
        }
        "Healthy" => {
            let p: InstanceParams = params(&full, params_json)?;
            let health = backend.healthy(&p.properties, &p.instance)?;
            result(&HealthyResult {
                kind: &p.kind,
                health,
            })
        }
        "Drain" => {
            let p: InstanceParams = params(&full, params_json)?;
            backend.drain(&p.properties, &p.instance)?;
            result(&Ok {
                kind: &p.kind,
                ok: true,
            })
        }
        _ => return Err(WireError::UnknownMethod(full)),
    })
}
