//! The host library's one error type: every variant names the plugin and the phase that failed.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::fault::Fault;
use crate::spi::Spi;

/// Everything that can go wrong when loading or calling plugins.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No plugin of that name is loaded.
    #[error("unknown plugin '{name}'")]
    UnknownPlugin {
        /// The name asked for.
        name: String,
    },

    /// The plugin is loaded but does not export the SPI asked for.
    #[error("plugin '{name}' does not implement the {spi} SPI")]
    MissingSpi {
        /// The plugin's name.
        name: String,
        /// The SPI asked for.
        spi: Spi,
    },

    /// A plugin file could not be loaded.
    #[error("plugin '{name}' failed to load from {}: {reason}", path.display())]
    Load {
        /// The plugin's name (from its manifest, else the file stem).
        name: String,
        /// The `.wasm` file.
        path: PathBuf,
        /// Why, in one sentence.
        reason: String,
    },

    /// A plugin's manifest is malformed.
    #[error("invalid manifest {}: {reason}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The plugin folder could not be read.
    #[error("cannot read plugin folder {}: {source}", path.display())]
    PluginDir {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The plugin ran and returned an error of its own.
    #[error("plugin '{plugin}' {spi}.{op}: {source}")]
    Plugin {
        /// The plugin's name.
        plugin: String,
        /// The SPI called.
        spi: Spi,
        /// The operation called.
        op: &'static str,
        /// The plugin's error, with its kind.
        source: deploykit_sdk::Error,
    },

    /// The call was ended by a trap or a sandbox limit; the instance was discarded.
    #[error("plugin '{plugin}' {spi}.{op} failed: {fault}")]
    Fault {
        /// The plugin's name.
        plugin: String,
        /// The SPI called.
        spi: Spi,
        /// The operation called.
        op: &'static str,
        /// What ended the call.
        fault: Fault,
    },

    /// A fresh instance could not be created (for example, its start function trapped).
    #[error("plugin '{plugin}' could not be instantiated: {fault}")]
    Instantiate {
        /// The plugin's name.
        plugin: String,
        /// What ended the instantiation.
        fault: Fault,
    },

    /// The plugin faulted repeatedly and is resting; calls fail fast until `until`.
    #[error("plugin '{plugin}' is quarantined until {}: last fault {last_fault}", humantime::format_rfc3339_seconds(*until))]
    Quarantined {
        /// The plugin's name.
        plugin: String,
        /// When calls are let through again.
        until: SystemTime,
        /// The fault that started the quarantine.
        last_fault: Fault,
    },

    /// Plugins called plugins more deeply than the host allows.
    #[error("plugin '{plugin}' not called: plugin calls nested deeper than {limit} ({chain})")]
    CallDepth {
        /// The plugin that would have been called.
        plugin: String,
        /// The chain of plugins, outermost first.
        chain: String,
        /// The depth limit.
        limit: usize,
    },

    /// A plugin called from another plugin had no free instance before the caller's deadline.
    #[error("plugin '{plugin}' has no free instance before its caller's deadline")]
    Busy {
        /// The plugin's name.
        plugin: String,
    },

    /// The host's instance pool has no slot for a new instance: every slot
    /// holds an instance that is running a call (idle ones were dropped to
    /// make room). Not the plugin's fault: it is not quarantined for it.
    #[error(
        "plugin '{plugin}' has no instance slot: the host's instance pool is full of running calls ({reason})"
    )]
    PoolFull {
        /// The plugin's name.
        plugin: String,
        /// wasmtime's account of the limit reached.
        reason: String,
    },

    /// A plugin served by another process (InfraKit's JSON-RPC) could not be
    /// reached, failed the handshake, or answered malformed JSON.
    #[error("remote plugin '{plugin}' at {address}: {reason}")]
    Remote {
        /// The plugin's name.
        plugin: String,
        /// Where it listens, such as `unix:///home/me/.infrakit/plugins/file`.
        address: String,
        /// What went wrong.
        reason: String,
    },

    /// The wasmtime engine could not be configured.
    #[error("cannot configure the WebAssembly engine: {0}")]
    Engine(String),

    /// The group controller refused a request; the message is InfraKit's own
    /// (for example `Group 'x' is not being watched`).
    #[error("{0}")]
    Group(String),

    /// The state store (the committed group specs) could not be read or written.
    #[error("state file {}: {reason}", path.display())]
    State {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl Error {
    /// The plugin's own error, when the plugin returned one.
    pub fn plugin_error(&self) -> Option<&deploykit_sdk::Error> {
        match self {
            Error::Plugin { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The fault that ended a call or an instantiation, if that is what happened.
    pub fn fault(&self) -> Option<&Fault> {
        match self {
            Error::Fault { fault, .. } | Error::Instantiate { fault, .. } => Some(fault),
            _ => None,
        }
    }
}

/// The host library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
