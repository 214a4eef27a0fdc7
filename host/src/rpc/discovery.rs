//! Finds plugin servers in an InfraKit plugin directory: unix sockets and `<name>.listen` files, as `pkg/discovery/local` does.

use std::path::Path;

use super::client::Endpoint;

pub use super::default_plugins_dir;

/// Every plugin server in `dir`, sorted by name: each unix socket under its
/// file name, and each `X.listen` file under `X` with the URL it holds. A
/// missing directory has none. Like InfraKit, the directory is read on every call.
pub fn list(dir: &Path) -> Vec<(String, Endpoint)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, Endpoint)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| endpoint_of(&e.path()))
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found.dedup_by(|a, b| a.0 == b.0);
    found
}

/// The server named `name` in `dir`: the socket `dir/name`, else the URL in `dir/name.listen`.
pub fn find(dir: &Path, name: &str) -> Option<Endpoint> {
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return None;
    }
    endpoint_of(&dir.join(name))
        .or_else(|| endpoint_of(&dir.join(format!("{name}.listen"))))
        .map(|(_, endpoint)| endpoint)
}

/// The name and endpoint a directory entry stands for, if it is a plugin server.
fn endpoint_of(path: &Path) -> Option<(String, Endpoint)> {
    let file = path.file_name()?.to_str()?;
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if meta.file_type().is_socket() {
            return Some((file.to_owned(), Endpoint::Unix(path.to_owned())));
        }
    }
    let name = file.strip_suffix(".listen")?;
    if !meta.is_file() || name.is_empty() {
        return None;
    }
    let url = std::fs::read_to_string(path).ok()?;
    match Endpoint::parse(&url) {
        Ok(endpoint) => Some((name.to_owned(), endpoint)),
        Err(reason) => {
            tracing::warn!(plugin = %name, file = %path.display(), "ignoring a .listen file: {reason}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_and_listen_files_are_plugins() {
        let dir = tempfile::tempdir().unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(dir.path().join("file")).unwrap();
        std::fs::write(dir.path().join("remote.listen"), "tcp://127.0.0.1:24864\n").unwrap();
        std::fs::write(dir.path().join("file.pid"), "123").unwrap();
        std::fs::write(dir.path().join("junk.listen"), "ftp://x").unwrap();
        std::fs::create_dir(dir.path().join("subdir")).unwrap();
        let names: Vec<String> = list(dir.path()).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["file", "remote"]);
        assert_eq!(
            find(dir.path(), "remote"),
            Some(Endpoint::Tcp("127.0.0.1:24864".into()))
        );
        assert_eq!(
            find(dir.path(), "file"),
            Some(Endpoint::Unix(dir.path().join("file")))
        );
        assert_eq!(find(dir.path(), "file.pid"), None);
        assert_eq!(find(dir.path(), "../file"), None);
        assert_eq!(find(dir.path(), "nope"), None);
        assert!(list(&dir.path().join("missing")).is_empty());
    }
}
