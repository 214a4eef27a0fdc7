//! Support for the code that [`export_plugin!`](crate::export_plugin) expands to; not a public API.
//!
//! The expansion implements the generated `Guest` traits by forwarding each
//! call to the glue functions here, which convert between the WIT types and
//! the SDK's plain types and call the plugin's trait method.

pub mod flavor;
pub mod group;
pub mod instance;

mod convert;

/// The bindings generator, re-exported so plugin crates need no direct dependency.
pub use wit_bindgen;

/// The WIT `types` interface, as the glue functions take and return it.
pub use crate::wit::deploykit::plugin::types as t;

/// Runs a plugin call and turns its error into the WIT error.
fn call<T>(f: impl FnOnce() -> crate::Result<T>) -> Result<T, t::Error> {
    f().map_err(convert::error_out)
}
