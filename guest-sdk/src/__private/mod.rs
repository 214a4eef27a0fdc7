//! Support for the code that [`export_plugin!`](crate::export_plugin) expands to; not a public API.
//!
//! The expansion implements the generated `Guest` traits by forwarding each
//! call to the glue functions here, which convert between the WIT types and
//! the SDK's plain types and call the plugin's trait method.

pub mod flavor;
pub mod group;
pub mod instance;

pub(crate) mod convert;

/// The bindings generator, re-exported so plugin crates need no direct dependency.
pub use wit_bindgen;

/// The WIT `types` interface, as the glue functions take and return it.
pub use crate::wit::deploykit::plugin::types as t;

/// Runs a plugin call and turns its error into the WIT error.
fn call<T>(f: impl FnOnce() -> crate::Result<T>) -> Result<T, t::Error> {
    f().map_err(convert::error_out)
}

/// A WIT error from a host import as the SDK's error.
pub fn error_in(e: t::Error) -> crate::Error {
    convert::error_in(e)
}

/// `metadata.vendor-info`.
pub fn vendor_info(vendor: Option<crate::VendorInfo>) -> Option<t::Vendor> {
    vendor.map(|v| t::Vendor {
        name: v.name,
        version: v.version,
        url: v.url,
    })
}

/// `<spi>.example-properties`.
pub fn example_properties(json: Option<crate::Json>) -> Option<t::Json> {
    json.map(|j| j.as_str().to_owned())
}
