//! The directory of instance files, with errors worded like Go's `os` package.

use std::fs;
use std::io;

use deploykit_sdk::fs as sdk_fs;
use deploykit_sdk::{Error, Result};

use crate::record::Record;

/// The directory that holds one file per instance.
pub struct Store {
    dir: String,
}

impl Store {
    /// A store over `dir`, as the plugin sees it.
    pub fn new(dir: String) -> Self {
        Store { dir }
    }

    fn path(&self, id: &str) -> String {
        format!("{}/{id}", self.dir.trim_end_matches('/'))
    }

    /// A hidden temporary file beside the instance file, for atomic writes.
    fn temp_path(&self, id: &str) -> String {
        format!("{}/.{id}.tmp", self.dir.trim_end_matches('/'))
    }

    /// Writes `record` to its temporary file; a concurrent `list` never sees
    /// a half-written instance file, because the real name only ever appears
    /// complete (by a link or a rename of this file).
    fn write_temp(&self, record: &Record, missing: Missing) -> Result<String> {
        let temp = self.temp_path(&record.id);
        let text = encode(record)?;
        sdk_fs::write(&temp, &text).map_err(|e| fs_error("open", &temp, &e, missing))?;
        Ok(temp)
    }

    /// Writes a new instance file atomically; refuses to overwrite one.
    pub fn create(&self, record: &Record) -> Result<()> {
        let path = self.path(&record.id);
        let temp = self.write_temp(record, Missing::Directory)?;
        // A hard link fails if the name exists: no overwrite, and no window
        // in which the file exists half-written.
        let linked = fs::hard_link(&temp, &path)
            .map_err(|e| fs_error("create", &path, &e, Missing::Directory));
        let _ = fs::remove_file(&temp);
        linked
    }

    /// Reads one instance file.
    pub fn read(&self, id: &str) -> Result<Record> {
        let path = self.path(id);
        let text =
            sdk_fs::read(&path).map_err(|e| fs_error("open", &path, &e, Missing::Instance))?;
        serde_json::from_slice(&text)
            .map_err(|e| Error::Internal(format!("{path}: not an instance record: {e}")))
    }

    /// Rewrites an existing instance file.
    pub fn replace(&self, record: &Record) -> Result<()> {
        let path = self.path(&record.id);
        let temp = self.write_temp(record, Missing::Instance)?;
        fs::rename(&temp, &path).map_err(|e| fs_error("write", &path, &e, Missing::Instance))
    }

    /// Deletes an instance file.
    pub fn remove(&self, id: &str) -> Result<()> {
        let path = self.path(id);
        fs::remove_file(&path).map_err(|e| fs_error("remove", &path, &e, Missing::Instance))
    }

    /// Every instance record in the directory; other files are skipped with a warning.
    ///
    /// `deploykit_sdk::fs` lists and reads with a third of the host calls of
    /// `std::fs`: a describe reads every instance file.
    pub fn list(&self) -> Result<Vec<Record>> {
        // An entry that went away between the host listing the directory
        // and reading its metadata is left out, as Go's `Readdir` does.
        let entries = sdk_fs::read_dir(&self.dir)
            .map_err(|e| fs_error("open", &self.dir, &e, Missing::Directory))?;
        let mut records = Vec::new();
        for entry in entries {
            if entry.name.starts_with('.') || entry.kind != sdk_fs::EntryKind::File {
                continue;
            }
            let path = self.path(&entry.name);
            match sdk_fs::read(&path).map(|text| serde_json::from_slice::<Record>(&text)) {
                Ok(Ok(record)) => records.push(record),
                Ok(Err(e)) => deploykit_sdk::warn!("skipping {path}: cannot decode: {e}"),
                Err(e) => deploykit_sdk::warn!("skipping {path}: {e}"),
            }
        }
        Ok(records)
    }
}

fn encode(record: &Record) -> Result<Vec<u8>> {
    serde_json::to_vec(record)
        .map_err(|e| Error::Internal(format!("cannot encode {}: {e}", record.id)))
}

/// What a missing path means for an operation.
#[derive(Clone, Copy)]
enum Missing {
    /// The instance does not exist: `not-found`.
    Instance,
    /// The directory does not exist, so the plugin's grant is wrong: `unavailable`.
    Directory,
}

/// `<op> <path>: <reason>` like Go's `*os.PathError`.
fn fs_error(op: &str, path: &str, e: &io::Error, missing: Missing) -> Error {
    match (e.kind(), missing) {
        (io::ErrorKind::NotFound, Missing::Instance) => {
            Error::NotFound(format!("{op} {path}: no such file or directory"))
        }
        (io::ErrorKind::NotFound, Missing::Directory) => Error::Unavailable(format!(
            "{op} {path}: no such file or directory (is the directory granted to the plugin?)"
        )),
        (io::ErrorKind::PermissionDenied, _) => {
            Error::Unavailable(format!("{op} {path}: permission denied"))
        }
        _ => Error::Internal(format!("{op} {path}: {e}")),
    }
}
