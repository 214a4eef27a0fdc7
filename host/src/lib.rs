//! Hosts deploykit infrastructure plugins as sandboxed WebAssembly components.
//!
//! A [`Host`] loads every `*.wasm` component of a plugin folder, each with an
//! optional `<name>.toml` [`Manifest`], and routes calls to plugins by name
//! through one Rust trait per SPI: [`Instance`], [`Flavor`] and [`Group`].
//! Every call runs in its plugin's own sandbox: a fuel budget, a wall-clock
//! deadline, a memory cap, and WASI capabilities that are denied unless the
//! manifest grants them. A trap, a panic or a runaway plugin ends only its own
//! call, with an [`Error::Fault`] that names the cause.
//!
//! # Examples
//!
//! ```no_run
//! use deploykit_host::{DestroyReason, Host, Spec, Tags};
//!
//! let host = Host::builder().plugin_dir("plugins").build()?;
//! let files = host.instance("instance-file")?;
//! let id = files.provision(&Spec::default())?;
//! for d in files.describe_instances(&Tags::new(), false)? {
//!     println!("{} {:?}", d.id, d.tags);
//! }
//! files.destroy(&id, DestroyReason::Terminate)?;
//! # Ok::<(), deploykit_host::Error>(())
//! ```
#![deny(missing_docs)]

mod bindings;
mod cache;
mod call_chain;
mod capture;
mod deadline_io;
mod engine;
mod error;
mod fault;
mod file_writes;
mod group;
mod host;
mod imports;
mod instance_pool;
mod kv;
mod limits;
mod loader;
mod manifest;
mod outbound_http;
mod quarantine;
pub mod rpc;
mod sandbox;
mod slot_waiters;
mod spi;
mod state;
mod store;
mod watch;
pub mod wire;

pub use cache::CacheOutcome;
pub use deploykit_sdk::{
    Allocation, Attachment, Description, DestroyReason, GroupDescription, GroupSpec, Health, Index,
    InstanceId, Json, LogicalId, Spec, Tags, VendorInfo,
};
pub use error::{Error, Result};
pub use fault::Fault;
pub use group::{
    BOOTSTRAP_HASH, CONFIG_HASH_TAG, GROUP_TAG, GroupController, GroupOptions, GroupStatus,
    LOGICAL_ID_TAG,
};
pub use host::{Host, HostBuilder, LimitsInfo, PluginInfo, PluginState, Progress};
pub use instance_pool::InstancePool;
pub use kv::{KvStore, MemoryKv};
pub use limits::{Limits, LimitsOverride};
pub use manifest::{DirGrant, DirMode, Manifest};
pub use outbound_http::{DEFAULT_MAX_RESPONSE_KIB, EndpointPattern, HttpGrants};
pub use quarantine::QuarantinePolicy;
pub use spi::{Flavor, Group, Instance, NativePlugin, Spi, SpiSet};
pub use store::StateStore;
pub use watch::{PluginWatcher, SETTLE};

/// The plugin's own error type, shared with the guest SDK.
pub use deploykit_sdk::Error as PluginError;
