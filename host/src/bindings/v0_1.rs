//! Bindings of `deploykit:plugin@0.1.0`, frozen: its records are the latest version's (`with:`), so only the calls differ.

use wasmtime::component::{HasSelf, Linker};

use crate::state::StoreData;

mod generated {
    wasmtime::component::bindgen!({
        world: "any-plugin",
        path: "../wit/since_v0.1.0",
        with: {
            // Unchanged records: 0.1.0's types are 0.2.0's, so one set of
            // conversions serves both versions.
            "deploykit:plugin/types@0.1.0": crate::bindings::v0_2::types,
        },
    });
}

pub(crate) use generated::exports::deploykit::plugin::{flavor, group, instance};

/// Adds this version's host imports (`log`, `config`) to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    // The aliased `types` interface registers under 0.2.0; 0.1.0 plugins
    // import it under its own name (it holds only types).
    linker.instance("deploykit:plugin/types@0.1.0")?;
    generated::AnyPlugin::add_to_linker::<StoreData, HasSelf<StoreData>>(linker, |s| s)
}

impl generated::deploykit::plugin::log::Host for StoreData {
    fn log(&mut self, level: generated::deploykit::plugin::log::Level, message: String) {
        use generated::deploykit::plugin::log::Level;
        crate::imports::log(self, super::tracing_level!(level, Level), &message);
    }
}

impl generated::deploykit::plugin::config::Host for StoreData {
    fn get(&mut self) -> String {
        self.config.to_string()
    }
}
