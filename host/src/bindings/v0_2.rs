//! Bindings of `deploykit:plugin@0.2.0`, the latest version: its types are the ones core code uses.

use wasmtime::component::{HasSelf, Linker};

use crate::state::StoreData;

mod generated {
    wasmtime::component::bindgen!({
        world: "any-plugin",
        path: "../wit/since_v0.2.0",
    });
}

pub use generated::deploykit::plugin::types;
pub(crate) use generated::exports::deploykit::plugin::{flavor, group, instance, metadata};

/// Adds this version's host imports (`log`, `config`, `kv`) to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    generated::AnyPlugin::add_to_linker::<StoreData, HasSelf<StoreData>>(linker, |s| s)
}

impl generated::deploykit::plugin::types::Host for StoreData {}

impl generated::deploykit::plugin::log::Host for StoreData {
    fn log(&mut self, level: generated::deploykit::plugin::log::Level, message: String) {
        use generated::deploykit::plugin::log::Level;
        let level = match level {
            Level::Trace => tracing::Level::TRACE,
            Level::Debug => tracing::Level::DEBUG,
            Level::Info => tracing::Level::INFO,
            Level::Warn => tracing::Level::WARN,
            Level::Error => tracing::Level::ERROR,
        };
        crate::imports::log(self, level, &message);
    }
}

impl generated::deploykit::plugin::config::Host for StoreData {
    fn get(&mut self) -> String {
        self.config.to_string()
    }
}

impl generated::deploykit::plugin::kv::Host for StoreData {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, types::Error> {
        crate::imports::kv_get(self, &key)
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), types::Error> {
        crate::imports::kv_set(self, &key, &value)
    }

    fn delete(&mut self, key: String) -> Result<bool, types::Error> {
        crate::imports::kv_delete(self, &key)
    }

    fn list_keys(&mut self, prefix: String) -> Result<Vec<String>, types::Error> {
        crate::imports::kv_list(self, &prefix)
    }
}
