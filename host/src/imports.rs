//! The host imports' behaviour, shared by every WIT version's bindings: `log` and `kv`.

use crate::bindings::wit;
use crate::state::StoreData;

/// The longest log message kept from a plugin, in bytes.
const MAX_LOG_MESSAGE: usize = 4096;

/// Writes a plugin's log message into the host's log, tagged with its name.
pub(crate) fn log(data: &StoreData, level: tracing::Level, message: &str) {
    let mut end = message.len().min(MAX_LOG_MESSAGE);
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let message = &message[..end];
    let plugin = &*data.plugin;
    match level {
        tracing::Level::TRACE => tracing::trace!(plugin, "{message}"),
        tracing::Level::DEBUG => tracing::debug!(plugin, "{message}"),
        tracing::Level::INFO => tracing::info!(plugin, "{message}"),
        tracing::Level::WARN => tracing::warn!(plugin, "{message}"),
        tracing::Level::ERROR => tracing::error!(plugin, "{message}"),
    }
}

/// Runs `f` on the host's kv store in the plugin's namespace.
fn with_kv<T>(
    data: &StoreData,
    f: impl FnOnce(&dyn crate::KvStore, &str) -> Result<T, String>,
) -> Result<T, wit::Error> {
    let Some(kv) = &data.kv else {
        return Err(wit::Error::Unavailable(
            "the host has no state store for kv (start it with a state directory)".into(),
        ));
    };
    f(kv.as_ref(), &data.plugin).map_err(|e| {
        tracing::warn!(plugin = %data.plugin, "kv store error: {e}");
        wit::Error::Unavailable(format!("kv store: {e}"))
    })
}

pub(crate) fn kv_get(data: &StoreData, key: &str) -> Result<Option<Vec<u8>>, wit::Error> {
    with_kv(data, |kv, ns| kv.get(ns, key))
}

pub(crate) fn kv_set(data: &StoreData, key: &str, value: &[u8]) -> Result<(), wit::Error> {
    with_kv(data, |kv, ns| kv.set(ns, key, value))
}

pub(crate) fn kv_delete(data: &StoreData, key: &str) -> Result<bool, wit::Error> {
    with_kv(data, |kv, ns| kv.delete(ns, key))
}

pub(crate) fn kv_list(data: &StoreData, prefix: &str) -> Result<Vec<String>, wit::Error> {
    with_kv(data, |kv, ns| kv.list_keys(ns, prefix))
}
