//! The plugin's own durable key-value store, kept by the host (WIT `kv`, since 0.2.0).
//!
//! Each plugin has its own namespace: keys of other plugins are invisible.
//! Values are bytes; store JSON with [`set_json`] and read it with
//! [`get_json`]. Instances are pooled and discarded by the host at any time,
//! so state that must survive a call belongs here, not in memory.
//!
//! ```no_run
//! use deploykit_sdk::kv;
//!
//! kv::set("instance/i-1", b"{\"ID\":\"i-1\"}")?;
//! assert!(kv::get("instance/i-1")?.is_some());
//! for key in kv::list_keys("instance/")? {
//!     kv::delete(&key)?;
//! }
//! # Ok::<(), deploykit_sdk::Error>(())
//! ```
//!
//! A host started without a state store answers every call with
//! [`Error::Unavailable`](crate::Error::Unavailable). Natively (an author's
//! `cargo test`) the store is an in-memory map per thread.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// The value of `key`, or `None`.
pub fn get(key: &str) -> Result<Option<Vec<u8>>> {
    backend::get(key)
}

/// Sets `key` to `value`.
pub fn set(key: &str, value: &[u8]) -> Result<()> {
    backend::set(key, value)
}

/// Removes `key`; true when it was there.
pub fn delete(key: &str) -> Result<bool> {
    backend::delete(key)
}

/// The keys starting with `prefix`, sorted.
pub fn list_keys(prefix: &str) -> Result<Vec<String>> {
    backend::list_keys(prefix)
}

/// Reads `key` as JSON into `T`.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>> {
    get(key)?
        .map(|bytes| {
            serde_json::from_slice(&bytes)
                .map_err(|e| Error::Internal(format!("kv value of '{key}' is not valid JSON: {e}")))
        })
        .transpose()
}

/// Stores `value` as JSON under `key`.
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| Error::Internal(format!("cannot encode '{key}': {e}")))?;
    set(key, &bytes)
}

#[cfg(all(feature = "guest", target_arch = "wasm32"))]
mod backend {
    use crate::wit::deploykit::plugin::kv;
    use crate::{Error, Result};

    fn err(e: crate::__private::t::Error) -> Error {
        crate::__private::error_in(e)
    }

    pub(super) fn get(key: &str) -> Result<Option<Vec<u8>>> {
        kv::get(key).map_err(err)
    }

    pub(super) fn set(key: &str, value: &[u8]) -> Result<()> {
        kv::set(key, value).map_err(err)
    }

    pub(super) fn delete(key: &str) -> Result<bool> {
        kv::delete(key).map_err(err)
    }

    pub(super) fn list_keys(prefix: &str) -> Result<Vec<String>> {
        kv::list_keys(prefix).map_err(err)
    }
}

#[cfg(not(all(feature = "guest", target_arch = "wasm32")))]
pub(crate) mod backend {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    use crate::Result;

    thread_local! {
        static STORE: RefCell<BTreeMap<String, Vec<u8>>> = const { RefCell::new(BTreeMap::new()) };
    }

    pub(super) fn get(key: &str) -> Result<Option<Vec<u8>>> {
        Ok(STORE.with(|s| s.borrow().get(key).cloned()))
    }

    pub(super) fn set(key: &str, value: &[u8]) -> Result<()> {
        STORE.with(|s| s.borrow_mut().insert(key.to_owned(), value.to_vec()));
        Ok(())
    }

    pub(super) fn delete(key: &str) -> Result<bool> {
        Ok(STORE.with(|s| s.borrow_mut().remove(key).is_some()))
    }

    pub(super) fn list_keys(prefix: &str) -> Result<Vec<String>> {
        Ok(STORE.with(|s| {
            s.borrow()
                .range(prefix.to_owned()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, _)| k.clone())
                .collect()
        }))
    }

    pub(crate) fn clear() {
        STORE.with(|s| s.borrow_mut().clear());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_store_lists_by_prefix() {
        set("a/1", b"x").unwrap();
        set("a/2", b"y").unwrap();
        set("b/1", b"z").unwrap();
        assert_eq!(list_keys("a/").unwrap(), ["a/1", "a/2"]);
        assert!(delete("a/1").unwrap());
        assert_eq!(get("a/1").unwrap(), None);
        set_json("j", &[1, 2]).unwrap();
        assert_eq!(get_json::<Vec<u32>>("j").unwrap(), Some(vec![1, 2]));
    }
}
