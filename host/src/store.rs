//! The host's durable state: one embedded database file in a state folder, one table per kind of record.
//!
//! We use `redb`: a pure-Rust, single-file embedded database with ACID
//! transactions and crash safety (copy-on-write pages and checksummed
//! commits), so a host killed in the middle of a commit keeps either the old
//! or the new spec, never half of one. It needs no C toolchain (the Windows
//! cross-build stays simple), no server and no schema migrations for
//! key/value records, and it locks the file so that two hosts can never
//! manage the same groups at once.
//!
//! Records live in named tables of string keys and byte values. The group
//! controller keeps its committed specs in the table `groups`; a later
//! key/value import for plugins gets one table per plugin (`kv/<plugin>`) in
//! the same file, so each plugin's namespace is separate but every update
//! stays one transaction of one database.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableHandle};

use crate::{Error, Result};

/// The table of schema facts about the file itself.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// The schema version this host writes and understands.
const SCHEMA: &[u8] = b"1";

/// The host's state database (`<dir>/state.redb`), shared by the built-in
/// controllers. Opening it locks the file: a second host over the same
/// folder gets a clear error until the first one has dropped its store.
pub struct StateStore {
    db: Database,
    path: PathBuf,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateStore")
            .field("path", &self.path)
            .finish()
    }
}

impl StateStore {
    /// The database's file name inside the state folder.
    pub const FILE: &'static str = "state.redb";

    /// Opens (or creates) the store in `dir`, creating the folder if needed.
    /// A file that is not a readable database of this schema is an error
    /// naming the file; nothing is ever discarded to make an open succeed.
    pub fn open(dir: impl AsRef<Path>) -> Result<StateStore> {
        let dir = dir.as_ref();
        let path = dir.join(Self::FILE);
        std::fs::create_dir_all(dir).map_err(|e| Error::State {
            path: path.clone(),
            reason: format!("cannot create the state folder {}: {e}", dir.display()),
        })?;
        let db = Database::builder()
            // Corruption becomes an error instead of a panic or a silent repair.
            .set_check_integrity_on_open(true)
            .create(&path)
            .map_err(|e| Error::State {
                path: path.clone(),
                reason: match e {
                    redb::DatabaseError::DatabaseAlreadyOpen => {
                        "it is in use by another deploykit host (the file is locked)".to_owned()
                    }
                    other => format!("cannot open the state database: {other}"),
                },
            })?;
        let store = StateStore { db, path };
        store.check_schema()?;
        Ok(store)
    }

    /// A store that lives in memory only: nothing survives the process.
    pub fn in_memory() -> Result<StateStore> {
        let path = PathBuf::from("<memory>");
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| Error::State {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let store = StateStore { db, path };
        store.check_schema()?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, what: &str, e: impl std::fmt::Display) -> Error {
        Error::State {
            path: self.path.clone(),
            reason: format!("{what}: {e}"),
        }
    }

    /// Writes the schema version into a new file, and refuses a file of another version.
    fn check_schema(&self) -> Result<()> {
        match self.get(META.name(), "schema")? {
            Some(v) if v == SCHEMA => Ok(()),
            Some(v) => Err(self.error(
                "unsupported schema",
                format!(
                    "version {} (this deploykit understands {})",
                    String::from_utf8_lossy(&v),
                    String::from_utf8_lossy(SCHEMA)
                ),
            )),
            None => self.put(META.name(), "schema", SCHEMA),
        }
    }

    /// The value of `key` in `table`, if any.
    pub(crate) fn get(&self, table: &str, key: &str) -> Result<Option<Vec<u8>>> {
        let read = self.db.begin_read().map_err(|e| self.error("read", e))?;
        let table_def = TableDefinition::<&str, &[u8]>::new(table);
        let t = match read.open_table(table_def) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.error(&format!("table {table}"), e)),
        };
        let value = t
            .get(key)
            .map_err(|e| self.error(&format!("table {table}, key {key}"), e))?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    /// Every record of `table`, in key order.
    pub(crate) fn list(&self, table: &str) -> Result<Vec<(String, Vec<u8>)>> {
        let read = self.db.begin_read().map_err(|e| self.error("read", e))?;
        let table_def = TableDefinition::<&str, &[u8]>::new(table);
        let t = match read.open_table(table_def) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.error(&format!("table {table}"), e)),
        };
        let mut out = Vec::new();
        for entry in t
            .iter()
            .map_err(|e| self.error(&format!("table {table}"), e))?
        {
            let (k, v) = entry.map_err(|e| self.error(&format!("table {table}"), e))?;
            out.push((k.value().to_owned(), v.value().to_vec()));
        }
        Ok(out)
    }

    /// Sets `key` to `value` in `table`, durably, in one transaction.
    pub(crate) fn put(&self, table: &str, key: &str, value: &[u8]) -> Result<()> {
        self.write(table, |t| t.insert(key, value).map(drop))
    }

    /// Removes `key` from `table`, durably; a missing key is not an error.
    pub(crate) fn remove(&self, table: &str, key: &str) -> Result<()> {
        self.write(table, |t| t.remove(key).map(drop))
    }

    fn write(
        &self,
        table: &str,
        f: impl FnOnce(&mut redb::Table<&str, &[u8]>) -> std::result::Result<(), redb::StorageError>,
    ) -> Result<()> {
        let txn = self.db.begin_write().map_err(|e| self.error("write", e))?;
        {
            let mut t = txn
                .open_table(TableDefinition::<&str, &[u8]>::new(table))
                .map_err(|e| self.error(&format!("table {table}"), e))?;
            f(&mut t).map_err(|e| self.error(&format!("table {table}"), e))?;
        }
        txn.commit().map_err(|e| self.error("commit", e))
    }
}

/// The `kv` import's storage: one table per plugin (`kv/<plugin>`) in the
/// same database as the group specs.
impl crate::KvStore for StateStore {
    fn get(&self, namespace: &str, key: &str) -> std::result::Result<Option<Vec<u8>>, String> {
        StateStore::get(self, &kv_table(namespace), key).map_err(|e| e.to_string())
    }

    fn set(&self, namespace: &str, key: &str, value: &[u8]) -> std::result::Result<(), String> {
        self.put(&kv_table(namespace), key, value)
            .map_err(|e| e.to_string())
    }

    fn delete(&self, namespace: &str, key: &str) -> std::result::Result<bool, String> {
        let table = kv_table(namespace);
        let existed = StateStore::get(self, &table, key)
            .map_err(|e| e.to_string())?
            .is_some();
        self.remove(&table, key).map_err(|e| e.to_string())?;
        Ok(existed)
    }

    fn list_keys(&self, namespace: &str, prefix: &str) -> std::result::Result<Vec<String>, String> {
        let all = self.list(&kv_table(namespace)).map_err(|e| e.to_string())?;
        Ok(all
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| k.starts_with(prefix))
            .collect())
    }
}

/// The table holding one plugin's keys.
fn kv_table(namespace: &str) -> String {
    format!("kv/{namespace}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_a_reopen_and_removal_is_durable() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = StateStore::open(dir.path()).unwrap();
            store.put("groups", "a", b"1").unwrap();
            store.put("groups", "b", b"2").unwrap();
            store.put("kv/other", "a", b"x").unwrap();
            store.remove("groups", "b").unwrap();
            store.remove("groups", "missing").unwrap();
        }
        let store = StateStore::open(dir.path()).unwrap();
        assert_eq!(
            store.list("groups").unwrap(),
            vec![("a".into(), b"1".to_vec())]
        );
        assert_eq!(store.get("kv/other", "a").unwrap(), Some(b"x".to_vec()));
        assert!(store.list("never-written").unwrap().is_empty());
    }

    #[test]
    fn a_second_open_of_the_same_folder_is_refused_while_the_first_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let _first = StateStore::open(dir.path()).unwrap();
        let err = StateStore::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("in use"), "{err}");
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(StateStore::FILE);
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let err = StateStore::open(dir.path()).unwrap_err();
        assert!(
            matches!(&err, Error::State { path: p, .. } if *p == path),
            "{err:?}"
        );
        assert!(err.to_string().contains("state.redb"), "{err}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            vec![0x5a; 8192],
            "left untouched"
        );
    }

    #[test]
    fn in_memory_stores_work() {
        let store = StateStore::in_memory().unwrap();
        store.put("groups", "g", b"{}").unwrap();
        assert_eq!(store.list("groups").unwrap().len(), 1);
    }
}
