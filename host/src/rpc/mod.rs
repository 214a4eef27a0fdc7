//! JSON-RPC 2.0 over HTTP/1.1 on unix sockets, as InfraKit's plugins speak it.
//!
//! [`jsonrpc`] turns a request body into a response body with InfraKit's
//! rules (ids echoed byte for byte, `-32000` for a plugin's error, empty
//! bodies for notifications); [`server`] serves a handler on a socket, with
//! owner-only permissions and stale-socket recovery; [`client`] calls one.
//!
//! On top of those: [`bridge`] answers InfraKit's methods for one hosted
//! plugin, [`sockets`] keeps one socket per hosted plugin in the plugin
//! directory as plugins come and go, and [`discovery`] with [`remote`] let
//! the router reach plugins other processes serve there.

#[cfg(unix)]
pub mod bridge;
pub mod jsonrpc;

#[cfg(unix)]
pub mod client;
#[cfg(unix)]
pub mod discovery;
#[cfg(unix)]
pub mod remote;
#[cfg(unix)]
pub mod server;
#[cfg(unix)]
pub mod sockets;

use std::path::PathBuf;
use std::time::Duration;

/// How long a call to a plugin of another process may take by default
/// (InfraKit's `INFRAKIT_CLIENT_TIMEOUT` default).
pub const DEFAULT_CLIENT_TIMEOUT: Duration = Duration::from_secs(15);

/// The plugin directory InfraKit uses: `$INFRAKIT_PLUGINS_DIR`, else
/// `$INFRAKIT_HOME/plugins`, else `~/.infrakit/plugins`.
pub fn default_plugins_dir() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var("INFRAKIT_PLUGINS_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(home) = var("INFRAKIT_HOME") {
        return PathBuf::from(home).join("plugins");
    }
    let home = var("HOME")
        .or_else(|| var("USERPROFILE"))
        .unwrap_or_default();
    PathBuf::from(home).join(".infrakit").join("plugins")
}
