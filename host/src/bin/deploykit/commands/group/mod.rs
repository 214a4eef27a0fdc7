//! `deploykit group …`: the built-in group controller, run in-process over the state folder.

mod print;
#[cfg(unix)]
mod remote;
mod wait;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use deploykit_host::{GroupController, GroupOptions, NativePlugin, wire};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::input::read_json;
use crate::output::Output;
use crate::state::State;

#[derive(Debug, Args)]
pub struct GroupArgs {
    /// How often groups are reconciled while a command waits for one.
    #[arg(long, global = true, value_name = "DURATION", env = "INFRAKIT_GROUP_POLL_INTERVAL", default_value = "10s", value_parser = humantime::parse_duration)]
    poll_interval: Duration,
    /// At most this many provisions or destroys of a group at once (0: no limit).
    #[arg(
        long,
        global = true,
        value_name = "N",
        env = "INFRAKIT_GROUP_MAX_PARALLEL_NUM",
        default_value_t = 8
    )]
    max_parallel: usize,
    /// How long commit, size N and destroy-instances wait for the group to converge.
    #[arg(long, global = true, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    timeout: Duration,
    #[command(subcommand)]
    command: GroupCommand,
}

#[derive(Debug, Subcommand)]
enum GroupCommand {
    /// Commit a group spec {"ID","Properties"} (or CommitGroup params) from FILE or -, then reconcile until it converges.
    #[command(
        after_help = "Example:\n  deploykit group commit cattle.json\n  deploykit group commit cattle.json --pretend"
    )]
    Commit {
        file: String,
        /// Only print the plan; change nothing.
        #[arg(long)]
        pretend: bool,
    },
    /// List a group's members and whether it has converged.
    Describe { id: String },
    /// Print the committed specs, in InfraKit's normalized form.
    Inspect,
    /// Stop managing a group; its instances are left alone.
    Free { id: String },
    /// Stop managing a group, then drain and destroy every member.
    Destroy { id: String },
    /// Print a group's target size, or set it to N and reconcile.
    Size { id: String, size: Option<u32> },
    /// Destroy some members and shrink the group by as many IDs as are given.
    DestroyInstances {
        id: String,
        #[arg(required = true)]
        instances: Vec<String>,
    },
}

impl GroupArgs {
    pub fn execute(
        self,
        plugins: &std::path::Path,
        state: &Arc<State>,
        out: &Output,
    ) -> Result<()> {
        // With a `deploykit serve` running on this state folder, it owns the
        // state: send the command to it instead of opening the state twice.
        #[cfg(unix)]
        if let Some(remote) = remote::Remote::find(state) {
            return self.run(&remote, out);
        }
        let host = super::load(plugins, state)?;
        let host = &host;
        let store = state.store()?;
        // One-shot: only the group this command changes is reconciled.
        let options = GroupOptions::default()
            .poll_interval(self.poll_interval)
            .max_parallel(self.max_parallel)
            .resume(false);
        let controller = GroupController::start(host, store, options)?;
        host.register_native(
            GroupController::NAME,
            NativePlugin::new().with_group(controller.clone()),
        );
        let outcome = self.run(&Local(controller.clone()), out);
        controller.shutdown();
        outcome
    }

    fn run(self, backend: &dyn Backend, out: &Output) -> Result<()> {
        let status = |id: &str| backend.status(id);
        let call = |method: &str, params: String| -> Result<Value> {
            let result = backend.call(method, &params)?;
            if out.json {
                out.line(&result)?;
            }
            Ok(serde_json::from_str(&result)?)
        };
        let timeout = self.timeout;
        match self.command {
            GroupCommand::Commit { file, pretend } => {
                let (params, id, pretend) = commit_params(&file, pretend)?;
                let result = call("CommitGroup", params)?;
                if !out.json {
                    out.line(result["Details"].as_str().unwrap_or_default())?;
                }
                if !pretend {
                    wait::converged(&status, &id, timeout)?;
                }
            }
            GroupCommand::Describe { id } => {
                let result = call("DescribeGroup", json!({ "ID": id }).to_string())?;
                if !out.json {
                    print::description(&result["Description"], out)?;
                }
            }
            GroupCommand::Inspect => {
                let result = call("InspectGroups", json!({}).to_string())?;
                if !out.json {
                    print::specs(&result["Groups"], out)?;
                }
            }
            GroupCommand::Free { id } => {
                ok(call("FreeGroup", json!({ "ID": id }).to_string())?, out)?
            }
            GroupCommand::Destroy { id } => {
                ok(call("DestroyGroup", json!({ "ID": id }).to_string())?, out)?
            }
            GroupCommand::Size { id, size: None } => {
                let result = call("Size", json!({ "ID": id }).to_string())?;
                if !out.json {
                    out.line(&result["Size"].to_string())?;
                }
            }
            GroupCommand::Size { id, size: Some(n) } => {
                ok(
                    call("SetSize", json!({ "ID": id, "Size": n }).to_string())?,
                    out,
                )?;
                wait::converged(&status, &id, timeout)?;
            }
            GroupCommand::DestroyInstances { id, instances } => {
                let params = json!({ "ID": id, "Instances": instances });
                ok(call("DestroyInstances", params.to_string())?, out)?;
                wait::converged(&status, &id, timeout)?;
            }
        }
        Ok(())
    }
}

/// Where group commands go: a controller in this process, or a running `serve`.
trait Backend {
    /// Calls `Group.<method>` with InfraKit's params; returns the result JSON.
    fn call(&self, method: &str, params: &str) -> Result<String>;
    /// Where group `id` stands.
    fn status(&self, id: &str) -> Result<deploykit_host::GroupStatus>;
}

/// A controller started by this command.
struct Local(Arc<GroupController>);

impl Backend for Local {
    fn call(&self, method: &str, params: &str) -> Result<String> {
        Ok(wire::call_group(self.0.as_ref(), method, params)?)
    }

    fn status(&self, id: &str) -> Result<deploykit_host::GroupStatus> {
        Ok(self.0.status(id)?)
    }
}

fn ok(_result: Value, out: &Output) -> Result<()> {
    if out.json { Ok(()) } else { out.line("ok") }
}

/// Reads a group spec `{"ID","Properties"}` or CommitGroup params
/// `{"Spec","Pretend"}` into CommitGroup params, the group's ID, and whether
/// to pretend (`--pretend` forces it). The spec's text is passed on
/// untouched, so its key order survives into the store as InfraKit's does.
fn commit_params(source: &str, pretend: bool) -> Result<(String, String, bool)> {
    let text = read_json(source)?;
    let Ok(object) = serde_json::from_str::<BTreeMap<String, Box<RawValue>>>(&text) else {
        bail!("commit expects a JSON object: a group spec {{\"ID\", \"Properties\"}}");
    };
    let spec = match object.get("Spec") {
        Some(spec) => spec.get(),
        None => text.as_str(),
    };
    let pretend = pretend
        || object
            .get("Pretend")
            .is_some_and(|p| p.get().trim() == "true");
    let id = serde_json::from_str::<Value>(spec)?["ID"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((
        format!(r#"{{"Spec":{spec},"Pretend":{pretend}}}"#),
        id,
        pretend,
    ))
}
