//! The command tree: global flags, then one module per noun.

mod flavor;
mod group;
mod instance;
mod plugins;
#[cfg(unix)]
mod serve;

use std::path::PathBuf;

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use deploykit_host::Host;

use crate::state::{PoolSetting, State};

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
  deploykit group commit cattle.json
  deploykit group describe cattle

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

    /// The state folder: committed group specs live in its database.
    #[arg(
        long,
        global = true,
        env = "DEPLOYKIT_STATE",
        default_value = "./.deploykit"
    )]
    pub state: PathBuf,

    /// InfraKit's plugin directory: `serve` puts one socket per plugin there,
    /// and plugin names this host does not load are looked up there (sockets
    /// and `<name>.listen` files of InfraKit's own plugins). Default:
    /// $INFRAKIT_HOME/plugins, else ~/.infrakit/plugins.
    #[arg(long, global = true, env = "INFRAKIT_PLUGINS_DIR", value_name = "DIR")]
    pub sockets: Option<PathBuf>,

    /// How long a call to a plugin of another process may take.
    #[arg(long, global = true, env = "INFRAKIT_CLIENT_TIMEOUT", value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    pub client_timeout: std::time::Duration,

    /// Plugin instances come from a pool of N pre-reserved slots (default
    /// 1000): at most N live at once, and each slot reserves 4 GiB of
    /// address space up front. `off` maps each instance's memory when it is
    /// created instead: no cap, but a fresh instance (after a trap) costs
    /// about three times as much.
    #[arg(
        long,
        global = true,
        env = "DEPLOYKIT_INSTANCE_POOL",
        value_name = "N|off"
    )]
    pub instance_pool: Option<PoolSetting>,

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
    /// Manage groups with the built-in controller (InfraKit Group/0.1.1).
    Group(group::GroupArgs),
    /// Run until Ctrl-C: group controllers, hot reload of the plugin folder, control socket.
    #[cfg(unix)]
    Serve(serve::ServeArgs),
}

impl Cli {
    /// Runs the command.
    pub fn run(self) -> Result<()> {
        let sockets = self
            .sockets
            .clone()
            .unwrap_or_else(deploykit_host::rpc::default_plugins_dir);
        let state = Arc::new(
            State::new(&self.state)
                .with_sockets(sockets, self.client_timeout)
                .with_instance_pool(self.instance_pool),
        );
        let out = crate::output::Output { json: self.json };
        match self.command {
            Command::Plugins(c) => c.execute(&self.plugins, &state, &out),
            Command::Instance(c) => c.execute(&load(&self.plugins, &state)?, &out),
            Command::Flavor(c) => c.execute(&load(&self.plugins, &state)?, &out),
            Command::Group(c) => c.execute(&self.plugins, &state, &out),
            #[cfg(unix)]
            Command::Serve(c) => c.execute(&self.plugins, &state),
        }
    }
}

/// Loads the plugin folder, with the compiled-plugin cache and the kv store of the state folder.
pub(crate) fn load(dir: &std::path::Path, state: &Arc<State>) -> Result<Host> {
    // Compiling many new plugins takes seconds: show progress on a terminal.
    let started = std::time::Instant::now();
    let show = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress: deploykit_host::Progress = Arc::new(move |done, total, _path| {
        if show && started.elapsed() > std::time::Duration::from_secs(1) {
            eprint!("\rloading plugins: {done}/{total}");
            if done == total {
                eprintln!();
            }
        }
    });
    let mut builder = Host::builder();
    match state.instance_pool() {
        Some(PoolSetting::Slots(instances)) => {
            builder = builder.instance_pool(deploykit_host::InstancePool {
                instances,
                ..Default::default()
            });
        }
        Some(PoolSetting::Off) => builder = builder.on_demand_instances(),
        None => {}
    }
    builder
        .remote_dir(state.sockets_dir())
        .client_timeout(state.client_timeout())
        .progress(progress)
        .cache_dir(state.cache_dir())
        .kv_store(state.clone())
        .plugin_dir(dir)
        .build()
        .with_context(|| format!("cannot load plugins from {}", dir.display()))
}
