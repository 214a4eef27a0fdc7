//! The command tree: global flags, then one module per noun.

mod flavor;
mod instance;
mod plugins;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use deploykit_host::Host;

/// Run deploykit plugins: WebAssembly components that manage infrastructure.
#[derive(Debug, Parser)]
#[command(
    name = "deploykit",
    version,
    after_help = "Examples:
  deploykit plugins ls
  deploykit instance provision instance-file spec.json
  deploykit instance describe instance-file --tags tier=web --properties
  deploykit flavor prepare flavor-vanilla prepare.json

Exit codes: 0 success, 1 any error (one line on stderr)."
)]
pub struct Cli {
    /// The plugin folder.
    #[arg(
        long,
        global = true,
        env = "DEPLOYKIT_PLUGINS",
        default_value = "./plugins"
    )]
    pub plugins: PathBuf,

    /// Print InfraKit's JSON result objects instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    /// Log more (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List and check plugins.
    #[command(subcommand)]
    Plugins(plugins::PluginsCommand),
    /// Call an instance plugin (InfraKit Instance/0.6.1).
    #[command(subcommand)]
    Instance(instance::InstanceCommand),
    /// Call a flavor plugin (InfraKit Flavor/0.1.1).
    #[command(subcommand)]
    Flavor(flavor::FlavorCommand),
}

impl Cli {
    /// Runs the command.
    pub fn run(self) -> Result<()> {
        let out = crate::output::Output { json: self.json };
        match self.command {
            Command::Plugins(c) => c.execute(&self.plugins, &out),
            Command::Instance(c) => c.execute(&load(&self.plugins)?, &out),
            Command::Flavor(c) => c.execute(&load(&self.plugins)?, &out),
        }
    }
}

/// Loads the plugin folder.
fn load(dir: &std::path::Path) -> Result<Host> {
    Host::builder()
        .plugin_dir(dir)
        .build()
        .with_context(|| format!("cannot load plugins from {}", dir.display()))
}
