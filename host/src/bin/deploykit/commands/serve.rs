//! `deploykit serve`: runs the group controllers, reloads plugins as files change, serves every plugin on an InfraKit socket, and answers the control socket.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use deploykit_host::rpc::jsonrpc::RpcError;
use deploykit_host::rpc::server::{Handler, ServeError, bind, serve};
use deploykit_host::rpc::sockets::{Bridge, BridgeOptions};
use deploykit_host::{GroupController, GroupOptions, Host, NativePlugin, wire};
use serde::Deserialize;

use crate::state::State;

/// Run until Ctrl-C (or SIGTERM): group controllers, hot reload, InfraKit sockets, control socket.
#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  deploykit --plugins ./plugins --state ./.deploykit --sockets ~/.infrakit/plugins serve\n\nEvery loaded plugin, and the group controller as `group`, gets a socket named\nafter it in the sockets folder, speaking InfraKit's JSON-RPC; InfraKit's CLI and\nmanagers can call them. While it runs, `deploykit group …` and `deploykit plugins\nreload` on the same state folder are sent to it through STATE/deploykit.sock."
)]
pub struct ServeArgs {
    /// Permission bits of the plugin sockets, in octal (0600: owner only).
    #[arg(long, value_name = "MODE", default_value = "600", value_parser = parse_mode)]
    socket_mode: u32,
    /// Serve no InfraKit sockets (the control socket still runs).
    #[arg(long)]
    no_sockets: bool,
    /// How often every group is reconciled.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration, env = "INFRAKIT_GROUP_POLL_INTERVAL")]
    poll_interval: Duration,
    /// At most this many provisions or destroys of a group at once (0: no limit).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 8,
        env = "INFRAKIT_GROUP_MAX_PARALLEL_NUM"
    )]
    max_parallel: usize,
}

impl ServeArgs {
    pub fn execute(self, plugins: &Path, state: &Arc<State>) -> Result<()> {
        let socket = state.control_socket();
        // Another serve owns this state folder: say so before touching its state.
        if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
            return Err(ServeError::InUse(socket).into());
        }
        let store = state.store()?;
        let host = super::load(plugins, state)?;
        let _watcher = host.watch(plugins)?;
        let options = GroupOptions::default()
            .poll_interval(self.poll_interval)
            .max_parallel(self.max_parallel);
        let controller = GroupController::start(&host, store, options)?;
        host.register_native(
            GroupController::NAME,
            NativePlugin::new().with_group(controller.clone()),
        );
        let bridge = if self.no_sockets {
            None
        } else {
            let options = BridgeOptions {
                mode: self.socket_mode,
            };
            let sockets = state.sockets_dir();
            let bridge = Bridge::start(&host, sockets, options)
                .with_context(|| format!("cannot serve plugin sockets in {}", sockets.display()))?;
            for (name, reason) in bridge.refused() {
                eprintln!("deploykit serve: no socket for {name}: {reason}");
            }
            Some(bridge)
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        let served = runtime.block_on(async {
            let listener = bind(&socket)?;
            let loaded = host.plugins().iter().filter(|p| p.error.is_none()).count();
            eprintln!(
                "deploykit serve: {loaded} plugins from {}, control socket {}; Ctrl-C stops",
                plugins.display(),
                socket.display()
            );
            if let Some(bridge) = &bridge {
                eprintln!(
                    "deploykit serve: {} InfraKit sockets in {}",
                    bridge.sockets().len(),
                    state.sockets_dir().display()
                );
            }
            let handler: Handler = {
                let (host, controller, dir) =
                    (host.clone(), controller.clone(), plugins.to_owned());
                Arc::new(move |method, params| control(&host, &controller, &dir, method, params))
            };
            serve(listener, handler, stop_signal()).await;
            anyhow::Ok(())
        });
        // Close the plugin sockets (and remove their files), then stop
        // reconciling: every store write is a finished transaction.
        drop(bridge);
        controller.shutdown();
        let _ = std::fs::remove_file(&socket);
        served?;
        eprintln!("deploykit serve: stopped");
        Ok(())
    }
}

/// Reads an octal permission mode such as `600` or `0660`.
fn parse_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text.trim_start_matches("0o"), 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("{text:?} is not an octal permission mode such as 600"))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
    }
}

#[derive(Deserialize, Default)]
struct NameParam {
    #[serde(rename = "Name", default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct IdParam {
    #[serde(rename = "ID")]
    id: String,
}

/// The control socket's methods: InfraKit's `Group.*` on the built-in
/// controller, and `Deploykit.Ping`, `Deploykit.Reload`, `Deploykit.GroupStatus`.
fn control(
    host: &Host,
    controller: &Arc<GroupController>,
    dir: &Path,
    method: &str,
    params: &str,
) -> Result<String, RpcError> {
    let bad = |e: serde_json::Error| RpcError::InvalidParams(e.to_string());
    match method.split_once('.') {
        Some(("Group", m)) => Ok(wire::call_group(controller.as_ref(), m, params)?),
        Some(("Deploykit", "Ping")) => Ok("{}".into()),
        Some(("Deploykit", "Reload")) => {
            let p: NameParam = serde_json::from_str(params).map_err(bad)?;
            let (plugins, failures) = host
                .reload(dir, p.name.as_deref())
                .map_err(|e| RpcError::Failed(e.to_string()))?;
            let failures: Vec<String> = failures.iter().map(ToString::to_string).collect();
            Ok(serde_json::json!({ "Plugins": plugins, "Failures": failures }).to_string())
        }
        Some(("Deploykit", "GroupStatus")) => {
            let p: IdParam = serde_json::from_str(params).map_err(bad)?;
            let status = controller
                .status(&p.id)
                .map_err(|e| RpcError::Failed(e.to_string()))?;
            serde_json::to_string(&status).map_err(|e| RpcError::Failed(e.to_string()))
        }
        _ => Err(RpcError::unknown_service(method)),
    }
}
