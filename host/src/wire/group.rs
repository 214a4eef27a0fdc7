//! `Group.*` params and results (InfraKit `Group/0.1.1`): every result echoes `Name` and `ID`.

use deploykit_sdk::{GroupDescription, GroupSpec, InstanceId};
use serde::{Deserialize, Serialize};

use super::{WireError, params, result};
use crate::{Error, Group};

#[derive(Deserialize)]
struct CommitParams {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "Spec", default)]
    spec: GroupSpec,
    #[serde(rename = "Pretend", default)]
    pretend: bool,
}

#[derive(Serialize)]
struct CommitResult<'a> {
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "ID")]
    id: &'a str,
    #[serde(rename = "Details")]
    details: String,
}

#[derive(Deserialize)]
struct IdParams {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "ID", default)]
    id: String,
}

/// `{"Name", "ID"}`: the result of methods that return only an error.
#[derive(Serialize)]
struct IdResult<'a> {
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "ID")]
    id: &'a str,
}

#[derive(Serialize)]
struct DescribeResult<'a> {
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "ID")]
    id: &'a str,
    #[serde(rename = "Description")]
    description: GroupDescription,
}

#[derive(Serialize)]
struct InspectResult<'a> {
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "ID")]
    id: &'a str,
    /// `null` when no group is committed, as Go writes a nil slice.
    #[serde(rename = "Groups")]
    groups: Option<Vec<GroupSpec>>,
}

#[derive(Deserialize)]
struct DestroyInstancesParams {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(rename = "Instances", default)]
    instances: Option<Vec<InstanceId>>,
}

#[derive(Serialize)]
struct SizeResult<'a> {
    #[serde(rename = "Name")]
    name: &'a str,
    #[serde(rename = "ID")]
    id: &'a str,
    #[serde(rename = "Size")]
    size: u32,
}

#[derive(Deserialize)]
struct SetSizeParams {
    #[serde(rename = "Name", default)]
    name: String,
    #[serde(rename = "ID", default)]
    id: String,
    #[serde(rename = "Size", default)]
    size: i64,
}

/// Calls `Group.<method>` (`CommitGroup`, `FreeGroup`, `DescribeGroup`,
/// `DestroyGroup`, `InspectGroups`, `DestroyInstances`, `Size`, `SetSize`)
/// with InfraKit's params JSON; returns the result JSON.
pub fn call_group(
    backend: &dyn Group,
    method: &str,
    params_json: &str,
) -> Result<String, WireError> {
    let full = format!("Group.{method}");
    let done = |name: &str, id: &str| result(&IdResult { name, id });
    Ok(match method {
        "CommitGroup" => {
            let p: CommitParams = params(&full, params_json)?;
            let details = backend.commit_group(&p.spec, p.pretend)?;
            result(&CommitResult {
                name: &p.name,
                id: &p.spec.id,
                details,
            })
        }
        "FreeGroup" => {
            let p: IdParams = params(&full, params_json)?;
            backend.free_group(&p.id)?;
            done(&p.name, &p.id)
        }
        "DescribeGroup" => {
            let p: IdParams = params(&full, params_json)?;
            let description = backend.describe_group(&p.id)?;
            result(&DescribeResult {
                name: &p.name,
                id: &p.id,
                description,
            })
        }
        "DestroyGroup" => {
            let p: IdParams = params(&full, params_json)?;
            backend.destroy_group(&p.id)?;
            done(&p.name, &p.id)
        }
        "InspectGroups" => {
            let p: IdParams = params(&full, params_json)?;
            let groups = backend.inspect_groups()?;
            result(&InspectResult {
                name: &p.name,
                id: "",
                groups: (!groups.is_empty()).then_some(groups),
            })
        }
        "DestroyInstances" => {
            let p: DestroyInstancesParams = params(&full, params_json)?;
            backend.destroy_instances(&p.id, &p.instances.unwrap_or_default())?;
            done(&p.name, &p.id)
        }
        "Size" => {
            let p: IdParams = params(&full, params_json)?;
            let size = backend.size(&p.id)?;
            result(&SizeResult {
                name: &p.name,
                id: &p.id,
                size,
            })
        }
        "SetSize" => {
            let p: SetSizeParams = params(&full, params_json)?;
            let size = u32::try_from(p.size).map_err(|_| {
                Error::Group(if p.size < 0 {
                    "size cannot be negative".into()
                } else {
                    format!("size {} is too large", p.size)
                })
            })?;
            backend.set_size(&p.id, size)?;
            done(&p.name, &p.id)
        }
        _ => return Err(WireError::UnknownMethod(full)),
    })
}
