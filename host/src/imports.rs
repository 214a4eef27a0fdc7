//! The host imports' behaviour, shared by every WIT version's bindings: `log`, `kv` and `plugins`.

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

/// Why a routed call failed, before it becomes the WIT error the caller sees.
pub(crate) enum RouteError {
    /// The callee (or the conversion of its arguments) failed with a plugin error.
    Plugin(deploykit_sdk::Error),
    /// The host failed the call: unknown plugin, fault, depth, and so on.
    Host(crate::Error),
}

impl From<deploykit_sdk::Error> for RouteError {
    fn from(e: deploykit_sdk::Error) -> Self {
        RouteError::Plugin(e)
    }
}

impl From<crate::Error> for RouteError {
    fn from(e: crate::Error) -> Self {
        RouteError::Host(e)
    }
}

/// JSON text from the calling plugin, checked.
pub(crate) fn json(text: String) -> Result<deploykit_sdk::Json, RouteError> {
    Ok(deploykit_sdk::Json::new(text)?)
}

/// Runs a `plugins` import call through the host's router. The callee's own
/// error keeps its kind; host failures become `not-found` (unknown plugin),
/// `invalid-input` (missing SPI) or `unavailable` (faults, depth, quarantine).
pub(crate) fn routed<T>(
    data: &StoreData,
    f: impl FnOnce(&crate::Host) -> Result<T, RouteError>,
) -> Result<T, wit::Error> {
    let Some(host) = data.router.upgrade() else {
        return Err(wit::Error::Unavailable("the host is shutting down".into()));
    };
    f(&host).map_err(|e| match e {
        RouteError::Plugin(e) => crate::bindings::error_to_wit(e),
        RouteError::Host(crate::Error::Plugin { source, .. }) => {
            crate::bindings::error_to_wit(source)
        }
        RouteError::Host(e @ crate::Error::UnknownPlugin { .. }) => {
            wit::Error::NotFound(e.to_string())
        }
        RouteError::Host(e @ crate::Error::MissingSpi { .. }) => {
            wit::Error::InvalidInput(e.to_string())
        }
        RouteError::Host(e) => {
            tracing::warn!(plugin = %data.plugin, "routed call failed: {e}");
            wit::Error::Unavailable(e.to_string())
        }
    })
}
