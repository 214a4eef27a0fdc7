//! Write deploykit infrastructure plugins in Rust, as WebAssembly components.
//!
//! A plugin is a type that implements `Default` and one or more of the SPI
//! traits [`InstancePlugin`], [`FlavorPlugin`] and [`GroupPlugin`] (the
//! InfraKit SPIs), exported with [`export_plugin!`]. It reads its
//! configuration with [`config`], logs with [`info!`] and friends, reads and
//! writes small files in granted directories cheaply with [`fs`], and never
//! sees the WebAssembly bindings.
//!
//! ```no_run
//! # #[cfg(feature = "guest")] // The macro needs the default `guest` feature.
//! # mod example {
//! use deploykit_sdk::{
//!     export_plugin, Description, DestroyReason, Error, InstancePlugin, Json, Result, Spec, Tags,
//! };
//! use serde::Deserialize;
//!
//! /// The `[config]` table of the plugin's manifest.
//! #[derive(Deserialize)]
//! #[serde(default)]
//! struct Config {
//!     prefix: String,
//! }
//!
//! impl Default for Config {
//!     fn default() -> Self {
//!         Config { prefix: "vm".into() }
//!     }
//! }
//!
//! /// The instance properties this plugin accepts.
//! #[derive(Deserialize)]
//! struct Properties {
//!     #[serde(rename = "Size")]
//!     size: String,
//! }
//!
//! /// Names machines but never makes one; it keeps no state.
//! #[derive(Default)]
//! struct Namer;
//!
//! impl InstancePlugin for Namer {
//!     fn validate(&self, properties: &Json) -> Result<()> {
//!         properties.parse::<Properties>().map(drop)
//!     }
//!
//!     fn provision(&self, spec: Spec) -> Result<String> {
//!         let config: Config = deploykit_sdk::config::parse()?;
//!         let size = spec.properties.unwrap_or_default().parse::<Properties>()?.size;
//!         let id = format!("{}-{size}-{}", config.prefix, spec.logical_id.as_deref().unwrap_or("any"));
//!         deploykit_sdk::info!("provisioned {id}");
//!         Ok(id)
//!     }
//!
//!     fn label(&self, id: &str, _labels: Tags) -> Result<()> {
//!         Err(Error::NotFound(format!("no instance {id}")))
//!     }
//!
//!     fn destroy(&self, id: &str, _reason: DestroyReason) -> Result<()> {
//!         Err(Error::NotFound(format!("no instance {id}")))
//!     }
//!
//!     fn describe_instances(&self, _tags: &Tags, _properties: bool) -> Result<Vec<Description>> {
//!         Ok(Vec::new())
//!     }
//! }
//!
//! export_plugin!(Namer: instance);
//!
//! #[cfg(test)]
//! mod tests {
//!     use super::*;
//!
//!     #[test]
//!     fn provision_uses_the_configured_prefix() {
//!         deploykit_sdk::testing::set_config(r#"{"prefix": "web"}"#);
//!         let spec = Spec {
//!             properties: Some(Json::new(r#"{"Size": "small"}"#).unwrap()),
//!             logical_id: Some("10.0.0.1".into()),
//!             ..Spec::default()
//!         };
//!         assert_eq!(Namer.provision(spec).unwrap(), "web-small-10.0.0.1");
//!     }
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! The plugin crate is a `cdylib` (add `rlib` too so its unit tests run
//! natively) that depends on `deploykit-sdk` and `serde`. Build it with
//!
//! ```text
//! cargo build --target wasm32-wasip2 --release
//! ```
//!
//! and copy `target/wasm32-wasip2/release/<crate>.wasm` into the host's
//! plugin folder as `<name>.wasm`; the plugin is then known as `<name>`. An
//! optional `<name>.toml` manifest beside it grants directories and holds
//! the plugin's configuration:
//!
//! ```toml
//! [[dirs]]
//! host = "data"        # relative to the plugin folder
//! guest = "/data"
//! mode = "read-write"
//!
//! [config]
//! prefix = "web"
//! ```
//!
//! Methods take `&self`: the host may keep an instance of the component warm
//! between calls or start a fresh one, so keep durable state outside the
//! plugin's memory (in a granted directory, for example). The plugin type must
//! be `Send + Sync` because it lives in a `static`.

#![deny(missing_docs)]

pub mod config;
mod error;
mod flavor;
pub mod fs;
mod group;
mod instance;
mod json;
pub mod kv;
pub mod log;
pub mod plugins;
#[cfg(not(all(feature = "guest", target_arch = "wasm32")))]
pub mod testing;
mod types;

#[cfg(feature = "guest")]
#[doc(hidden)]
pub mod wit;

#[cfg(feature = "guest")]
#[doc(hidden)]
pub mod __private;

pub use error::{Error, Result};
pub use flavor::FlavorPlugin;
pub use group::GroupPlugin;
pub use instance::InstancePlugin;
pub use json::{Json, parse_json};
pub use types::{
    Allocation, Attachment, Description, DestroyReason, GroupDescription, GroupSpec, Health, Index,
    InstanceId, LogicalId, Spec, Tags, VendorInfo,
};

/// Exports a plugin type as a component implementing the named SPIs.
///
/// ```text
/// deploykit_sdk::export_plugin!(MyPlugin: instance);
/// deploykit_sdk::export_plugin!(crate::plugin::MyPlugin: instance, flavor);
/// ```
///
/// Give the path of a type that implements `Default + Send + Sync + 'static`
/// and the trait of each SPI named after the colon: `instance`
/// ([`InstancePlugin`]), `flavor` ([`FlavorPlugin`]), `group`
/// ([`GroupPlugin`]). Invoke it once per crate, at module level (not inside
/// a function) where the type is in scope.
///
/// The plugin value is made with `Default::default()` on the first call
/// and kept in a `static` for as long as the host keeps the component
/// instance. JSON from the host that is not well formed is refused with
/// [`Error::InvalidInput`] before the plugin sees it.
///
/// The expansion generates the export bindings in the plugin crate, so the
/// component exports exactly the SPIs named; the dependency must keep its
/// name `deploykit_sdk`.
#[cfg(feature = "guest")]
pub use deploykit_sdk_macros::export_plugin;
