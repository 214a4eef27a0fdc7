//! JSON-RPC 2.0 over HTTP/1.1 on unix sockets, as InfraKit's plugins speak it.
//!
//! [`jsonrpc`] turns a request body into a response body with InfraKit's
//! rules (ids echoed byte for byte, `-32000` for a plugin's error, empty
//! bodies for notifications); [`server`] serves a handler on a socket, with
//! owner-only permissions and stale-socket recovery; [`client`] calls one.

pub mod jsonrpc;

#[cfg(unix)]
pub mod client;
#[cfg(unix)]
pub mod server;
