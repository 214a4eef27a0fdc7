//! One integration test binary, one module per concern.

/// instance-aws against moto's EC2 emulator, and the outbound HTTP grants around it.
mod aws;
/// The InfraKit JSON-RPC bridge: wire samples on our sockets, bad requests, remote InfraKit plugins.
#[cfg(unix)]
mod bridge;
/// Plugins calling plugins: combo over vanilla, the depth limit, the kv-backed simulator in a group.
mod composition;
/// The built-in group controller over a simulator, a restarted host, and the wasm samples.
mod groups;
/// Faults in one plugin: precise errors, recovery, and no harm to others.
mod isolation;
/// The precompiled cache: hits, misses, tampering.
mod lifecycle;
/// Loading a folder with bad files, unknown plugins, missing SPIs.
mod loading;
/// The Python and JavaScript samples: same behaviour as the Rust ones, guest errors, traps.
mod polyglot;
/// Hot reload: swaps under load, the folder watcher, broken upgrades.
mod reload;
/// Every SPI operation of the samples, and the InfraKit wire samples as golden cases.
mod spis;
/// WIT 0.1.0 and 0.2.0 plugins side by side, 0.3.0 refused, and the kv import.
mod versions;
