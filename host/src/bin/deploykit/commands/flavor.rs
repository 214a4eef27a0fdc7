//! `deploykit flavor …`: the Flavor SPI's methods, with InfraKit's params and results.

use anyhow::Result;
use clap::Subcommand;
use deploykit_host::{Host, wire};
use serde_json::Value;

use crate::input::read_json;
use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum FlavorCommand {
    /// Validate flavor properties: params {"Properties","Allocation"} from FILE or -.
    Validate { plugin: String, params: String },
    /// Prepare a spec: params {"Properties","Spec","Allocation","Index"} from FILE or -.
    #[command(after_help = "Example:\n  deploykit flavor prepare flavor-vanilla prepare.json")]
    Prepare { plugin: String, params: String },
    /// Judge an instance's health: params {"Properties","Instance"} from FILE or -.
    Healthy { plugin: String, params: String },
    /// Drain an instance before destroy: params {"Properties","Instance"} from FILE or -.
    Drain { plugin: String, params: String },
}

impl FlavorCommand {
    pub fn execute(self, host: &Host, out: &Output) -> Result<()> {
        let (plugin, method, params) = match self {
            FlavorCommand::Validate { plugin, params } => (plugin, "Validate", params),
            FlavorCommand::Prepare { plugin, params } => (plugin, "Prepare", params),
            FlavorCommand::Healthy { plugin, params } => (plugin, "Healthy", params),
            FlavorCommand::Drain { plugin, params } => (plugin, "Drain", params),
        };
        let params = read_json(&params)?;
        let backend = host.flavor(&plugin)?;
        let result = wire::call_flavor(backend.as_ref(), method, &params)?;
        if out.json {
            return out.line(&result);
        }
        let value: Value = serde_json::from_str(&result)?;
        match method {
            "Prepare" => out.line(&serde_json::to_string_pretty(&value["Spec"])?),
            "Healthy" => out.line(match value["Health"].as_u64() {
                Some(1) => "healthy",
                Some(2) => "unhealthy",
                _ => "unknown",
            }),
            _ => out.line("ok"),
        }
    }
}
