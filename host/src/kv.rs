//! Where the `kv` import keeps each plugin's keys: a store trait, and an in-memory store.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Durable key-value storage with one namespace per plugin. The `kv` import
/// passes the calling plugin's name as `namespace`, so one plugin never sees
/// another's keys. Errors are messages the plugin sees as `unavailable`.
pub trait KvStore: Send + Sync {
    /// The value of `key`, if any.
    fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// Sets `key` to `value`.
    fn set(&self, namespace: &str, key: &str, value: &[u8]) -> Result<(), String>;
    /// Removes `key`; true when it was there.
    fn delete(&self, namespace: &str, key: &str) -> Result<bool, String>;
    /// The keys starting with `prefix`, sorted.
    fn list_keys(&self, namespace: &str, prefix: &str) -> Result<Vec<String>, String>;
}

/// A [`KvStore`] in memory: for tests and hosts that need no durability.
#[derive(Debug, Default)]
pub struct MemoryKv {
    map: Mutex<BTreeMap<(String, String), Vec<u8>>>,
}

impl MemoryKv {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Vec<u8>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl KvStore for MemoryKv {
    fn get(&self, namespace: &str, key: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self
            .lock()
            .get(&(namespace.to_owned(), key.to_owned()))
            .cloned())
    }

    fn set(&self, namespace: &str, key: &str, value: &[u8]) -> Result<(), String> {
        self.lock()
            .insert((namespace.to_owned(), key.to_owned()), value.to_vec());
        Ok(())
    }

    fn delete(&self, namespace: &str, key: &str) -> Result<bool, String> {
        Ok(self
            .lock()
            .remove(&(namespace.to_owned(), key.to_owned()))
            .is_some())
    }

    fn list_keys(&self, namespace: &str, prefix: &str) -> Result<Vec<String>, String> {
        let start = (namespace.to_owned(), prefix.to_owned());
        Ok(self
            .lock()
            .range(start..)
            .take_while(|((ns, k), _)| ns == namespace && k.starts_with(prefix))
            .map(|((_, k), _)| k.clone())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_separate_and_prefixes_list() {
        let kv = MemoryKv::default();
        kv.set("a", "i/1", b"x").unwrap();
        kv.set("a", "i/2", b"y").unwrap();
        kv.set("a", "j/1", b"z").unwrap();
        kv.set("b", "i/3", b"w").unwrap();
        assert_eq!(kv.list_keys("a", "i/").unwrap(), ["i/1", "i/2"]);
        assert_eq!(kv.get("b", "i/1").unwrap(), None);
        assert!(kv.delete("a", "i/1").unwrap());
        assert!(!kv.delete("a", "i/1").unwrap());
        assert_eq!(kv.list_keys("a", "").unwrap(), ["i/2", "j/1"]);
    }
}
