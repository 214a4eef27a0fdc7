//! A plugin's optional sidecar manifest `<name>.toml`: its name, limits, grants and config.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::limits::LimitsOverride;
use crate::{Error, Result};

/// A parsed manifest. Every field is optional; an absent manifest grants nothing.
///
/// ```toml
/// name = "instance-file"          # default: the .wasm file's stem
/// [limits]
/// fuel = 1_000_000_000
/// deadline = "5s"
/// memory-mib = 64
/// pool-size = 2
/// [[dirs]]
/// host = "instances"              # relative to the manifest's folder
/// guest = "/instances"
/// mode = "read-write"             # or "read-only" (the default)
/// [env]
/// REGION = "eu-west-1"
/// [http]
/// allow = [
///     "https://ec2.*.amazonaws.com",  # scheme://host[:port]; a * is one DNS label
///     "http://127.0.0.1:*",           # any port; no port means 443 (https) or 80 (http)
/// ]
/// max-response-kib = 8192             # response bodies above this fail (default 8 MiB)
/// [config]
/// dir = "/instances"
/// ```
///
/// `[http]` grants outbound HTTP(S) (`wasi:http/outgoing-handler`): a request
/// whose scheme, host and port match no `allow` entry fails inside the
/// plugin with `HTTP-request-denied`, and the host logs the plugin and the
/// host it asked for. See [`EndpointPattern`](crate::EndpointPattern) for the
/// pattern syntax. Credentials a plugin needs belong in its `[config]` or
/// `[env]`: a plugin never sees the host's environment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The plugin's name in the router.
    pub name: Option<String>,
    /// Limits that replace the host's defaults.
    #[serde(default)]
    pub limits: LimitsOverride,
    /// Directories the plugin may use.
    #[serde(default)]
    pub dirs: Vec<DirGrant>,
    /// Environment variables the plugin sees; no other variable is visible.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Outbound HTTP endpoints the plugin may call.
    #[serde(default)]
    pub http: crate::HttpGrants,
    /// The plugin's configuration, handed to it as JSON by the `config` import.
    #[serde(default)]
    pub config: toml::Table,
}

/// A host directory made visible to the plugin at a guest path.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirGrant {
    /// The host directory; relative paths are resolved against the manifest's folder.
    pub host: PathBuf,
    /// Where the plugin sees it, such as `/data`.
    pub guest: String,
    /// Whether the plugin may write.
    #[serde(default)]
    pub mode: DirMode,
}

/// Access to a granted directory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DirMode {
    /// Read files and list directories.
    #[default]
    ReadOnly,
    /// Also create, write and delete.
    ReadWrite,
}

impl Manifest {
    /// Reads the manifest beside `wasm` (`x.wasm` -> `x.toml`), if there is one.
    pub fn for_wasm(wasm: &Path) -> Result<Option<(PathBuf, Manifest)>> {
        let path = wasm.with_extension("toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => Manifest::parse(&path, &text).map(|m| Some((path, m))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Manifest {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Parses manifest text; `path` is for messages and for resolving relative directories.
    pub fn parse(path: &Path, text: &str) -> Result<Manifest> {
        let mut manifest: Manifest = toml::from_str(text).map_err(|e| Error::Manifest {
            path: path.to_owned(),
            reason: e.message().to_owned() + &location(text, e.span()),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for grant in &mut manifest.dirs {
            if !grant.guest.starts_with('/') {
                return Err(Error::Manifest {
                    path: path.to_owned(),
                    reason: format!("guest path '{}' must be absolute", grant.guest),
                });
            }
            if grant.host.is_relative() {
                grant.host = base.join(&grant.host);
            }
        }
        if let Some(name) = &manifest.name
            && (name.is_empty() || name.contains(['/', '\\']))
        {
            return Err(Error::Manifest {
                path: path.to_owned(),
                reason: format!("name '{name}' must be non-empty and contain no '/'"),
            });
        }
        Ok(manifest)
    }

    /// The `config` table as JSON text (`{}` when empty).
    pub fn config_json(&self) -> String {
        serde_json::to_string(&self.config).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// ` at line L` for a TOML error span.
fn location(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    span.map(|s| {
        let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
        format!(" (line {line})")
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_manifest_parses() {
        let text = r#"
name = "files"
[limits]
deadline = "2s"
[[dirs]]
host = "state"
guest = "/data"
mode = "read-write"
[env]
A = "1"
[http]
allow = ["https://ec2.*.amazonaws.com", "http://127.0.0.1:*"]
max-response-kib = 64
[config]
dir = "/data"
n = 3
"#;
        let m = Manifest::parse(Path::new("/p/files.toml"), text).unwrap();
        assert_eq!(m.name.as_deref(), Some("files"));
        assert_eq!(m.dirs[0].host, Path::new("/p/state"));
        assert_eq!(m.dirs[0].mode, DirMode::ReadWrite);
        assert_eq!(m.env["A"], "1");
        assert_eq!(m.config_json(), r#"{"dir":"/data","n":3}"#);
        let allow: Vec<String> = m.http.allow.iter().map(|p| p.to_string()).collect();
        assert_eq!(allow, ["https://ec2.*.amazonaws.com", "http://127.0.0.1:*"]);
        assert_eq!(m.http.max_response_kib, 64);
    }

    #[test]
    fn no_http_table_grants_no_endpoint() {
        let m = Manifest::parse(Path::new("x.toml"), "").unwrap();
        assert!(m.http.allow.is_empty());
        assert_eq!(m.http.max_response_kib, crate::DEFAULT_MAX_RESPONSE_KIB);
    }

    #[test]
    fn a_bad_http_grant_is_named_with_its_line() {
        let err = Manifest::parse(
            Path::new("x.toml"),
            "[http]\nallow = [\n  \"https://ok.test\",\n  \"ec2.amazonaws.com\",\n]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("http grant 'ec2.amazonaws.com': expected scheme://host[:port]"),
            "{err}"
        );
        assert!(err.contains("line 2"), "the line of the allow list: {err}");
    }

    #[test]
    fn errors_name_the_problem_and_line() {
        let err = Manifest::parse(Path::new("x.toml"), "name = \"a\"\n[dirs]\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("invalid manifest x.toml: invalid type"),
            "{text}"
        );
        assert!(text.contains("line 2"), "{text}");
        let err = Manifest::parse(
            Path::new("x.toml"),
            "[[dirs]]\nhost = \"a\"\nguest = \"rel\"\n",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("guest path 'rel' must be absolute"),
            "{err}"
        );
    }
}
