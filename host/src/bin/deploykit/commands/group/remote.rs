//! Group commands sent to a running `deploykit serve` over its control socket.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use deploykit_host::GroupStatus;
use deploykit_host::rpc::client::{CallError, call};

use super::Backend;
use crate::state::State;

/// How long one control call may take.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A `serve` answering on the state folder's control socket.
pub struct Remote(PathBuf);

impl Remote {
    /// The running `serve` of this state folder, if one answers.
    pub fn find(state: &State) -> Option<Remote> {
        let socket = state.control_socket();
        if !socket.exists() {
            return None;
        }
        match call(&socket, "Deploykit.Ping", "{}", Duration::from_secs(5)) {
            Ok(_) => Some(Remote(socket)),
            Err(CallError::Connect { .. }) => None,
            Err(e) => {
                tracing::warn!(
                    "the control socket did not answer properly ({e}); working on the state directly"
                );
                None
            }
        }
    }
}

impl Backend for Remote {
    fn call(&self, method: &str, params: &str) -> Result<String> {
        Ok(call(&self.0, &format!("Group.{method}"), params, TIMEOUT)?)
    }

    fn status(&self, id: &str) -> Result<GroupStatus> {
        let params = serde_json::json!({ "ID": id }).to_string();
        let text = call(&self.0, "Deploykit.GroupStatus", &params, TIMEOUT)?;
        Ok(serde_json::from_str(&text)?)
    }
}
