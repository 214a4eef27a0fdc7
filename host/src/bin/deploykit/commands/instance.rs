//! `deploykit instance …`: the Instance SPI's methods, with InfraKit's params and results.

use anyhow::{Result, bail};
use clap::Subcommand;
use deploykit_host::{Host, wire};
use serde_json::{Value, json};

use crate::input::{is_params_source, parse_tags, read_json};
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Validate instance properties: params {"Properties": …} from FILE or -.
    #[command(
        after_help = "Example:\n  echo '{\"Properties\":{\"note\":\"hi\"}}' | deploykit instance validate instance-file -"
    )]
    Validate { plugin: String, params: String },
    /// Provision an instance: params {"Spec": …}, or a bare Spec, from FILE or -.
    #[command(after_help = "Example:\n  deploykit instance provision instance-file spec.json")]
    Provision { plugin: String, params: String },
    /// Merge tags into an instance: ID k=v…, or params {"Instance","Labels"} from FILE or -.
    #[command(
        after_help = "Example:\n  deploykit instance label instance-file instance-123 owner=me tier=web"
    )]
    Label {
        plugin: String,
        target: String,
        labels: Vec<String>,
    },
    /// Destroy an instance: ID, or params {"Instance","Context"} from FILE or -.
    #[command(
        after_help = "Example:\n  deploykit instance destroy instance-file instance-123 --reason terminate"
    )]
    Destroy {
        plugin: String,
        target: String,
        /// Why: terminate or rolling_update.
        #[arg(long, default_value = "terminate")]
        reason: String,
    },
    /// Describe instances matching every tag given.
    #[command(
        after_help = "Example:\n  deploykit instance describe instance-file --tags tier=web --properties"
    )]
    Describe {
        plugin: String,
        /// Params {"Tags","Properties"} from FILE or - instead of flags.
        params: Option<String>,
        /// A tag to match, k=v; repeatable.
        #[arg(long = "tags", value_name = "K=V")]
        tags: Vec<String>,
        /// Include each instance's properties.
        #[arg(long)]
        properties: bool,
    },
}

impl InstanceCommand {
    pub fn execute(self, host: &Host, out: &Output) -> Result<()> {
        let (plugin, method, params) = match self {
            InstanceCommand::Validate { plugin, params } => {
                (plugin, "Validate", read_json(&params)?)
            }
            InstanceCommand::Provision { plugin, params } => {
                (plugin, "Provision", provision_params(&params)?)
            }
            InstanceCommand::Label {
                plugin,
                target,
                labels,
            } => {
                let params = if labels.is_empty() && is_params_source(&target) {
                    read_json(&target)?
                } else {
                    json!({"Instance": target, "Labels": parse_tags(&labels)?}).to_string()
                };
                (plugin, "Label", params)
            }
            InstanceCommand::Destroy {
                plugin,
                target,
                reason,
            } => {
                let params = if is_params_source(&target) {
                    read_json(&target)?
                } else {
                    let reason: deploykit_host::DestroyReason = reason.parse()?;
                    json!({"Instance": target, "Context": {"Reason": reason}}).to_string()
                };
                (plugin, "Destroy", params)
            }
            InstanceCommand::Describe {
                plugin,
                params,
                tags,
                properties,
            } => {
                let params = match params {
                    Some(p) => read_json(&p)?,
                    None => {
                        json!({"Tags": parse_tags(&tags)?, "Properties": properties}).to_string()
                    }
                };
                (plugin, "DescribeInstances", params)
            }
        };
        let backend = host.instance(&plugin)?;
        let result = wire::call_instance(backend.as_ref(), method, &params)?;
        if out.json {
            return out.line(&result);
        }
        let value: Value = serde_json::from_str(&result)?;
        match method {
            "Provision" => out.line(value["ID"].as_str().unwrap_or_default()),
            "DescribeInstances" => describe_table(&value, out),
            _ => out.line("ok"),
        }
    }
}

/// Accepts `{"Spec": …}` params or a bare Spec (InfraKit's `provision` takes a Spec).
fn provision_params(source: &str) -> Result<String> {
    let text = read_json(source)?;
    let value: Value = serde_json::from_str(&text)?;
    let Some(object) = value.as_object() else {
        bail!("provision expects a JSON object: {{\"Spec\": …}} or a Spec");
    };
    if object.contains_key("Spec") {
        Ok(text)
    } else {
        Ok(format!("{{\"Spec\":{text}}}"))
    }
}

fn describe_table(value: &Value, out: &Output) -> Result<()> {
    let empty = Vec::new();
    let rows: Vec<Vec<String>> = value["Descriptions"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|d| {
            let tags = d["Tags"]
                .as_object()
                .map(|t| {
                    t.iter()
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            vec![
                d["ID"].as_str().unwrap_or_default().to_owned(),
                d["LogicalID"].as_str().unwrap_or("-").to_owned(),
                tags,
            ]
        })
        .collect();
    out.table(&["ID", "LOGICAL ID", "TAGS"], &rows)
}
