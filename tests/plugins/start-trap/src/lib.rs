//! An instance plugin whose component traps while it is being instantiated, before any call.
//!
//! A Rust `cdylib` for wasm32-wasip2 exports no `_initialize` of its own
//! (static constructors run lazily, on the first exported call). When the core
//! module does export `_initialize`, wasm-component-ld (0.5.21 in Rust 1.95)
//! adds a start function that calls it while the component is instantiated;
//! this one panics, which traps because guests are built with `panic = "abort"`.

use deploykit_sdk::{
    Description, DestroyReason, InstancePlugin, Json, Result, Spec, Tags, export_plugin,
};

/// The reactor initialiser, called by the component's start function.
#[cfg(target_arch = "wasm32")]
#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    panic!("start-trap traps while it is being instantiated");
}

/// An instance plugin that never gets to run.
#[derive(Debug, Default)]
pub struct StartTrap;

impl InstancePlugin for StartTrap {
    fn validate(&self, _properties: &Json) -> Result<()> {
        Ok(())
    }

    fn provision(&self, _spec: Spec) -> Result<String> {
        Ok("i-unreachable".into())
    }

    fn label(&self, _id: &str, _labels: Tags) -> Result<()> {
        Ok(())
    }

    fn destroy(&self, _id: &str, _reason: DestroyReason) -> Result<()> {
        Ok(())
    }

    fn describe_instances(&self, _tags: &Tags, _properties: bool) -> Result<Vec<Description>> {
        Ok(Vec::new())
    }
}

export_plugin!(StartTrap: instance);
