//! The misbehaviours `provision` can be asked for, read from the spec's properties.

use deploykit_sdk::{Error, Json, Result};
use serde::Deserialize;

/// What `provision` does, from `{"act": "<name>", …}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "act", rename_all = "kebab-case")]
pub enum Act {
    /// Returns `Ok("i-ok")`.
    Ok,
    /// Returns `Error::NotFound("nothing here")`.
    Error,
    /// Panics with `message` (a trap: the release profile aborts on panic).
    Panic {
        /// The panic message.
        #[serde(default = "default_message")]
        message: String,
    },
    /// Spins forever.
    Loop,
    /// Recurses until the stack is exhausted.
    Recurse,
    /// Allocates and touches `mib` MiB; returns the count as the ID.
    Alloc {
        /// How many MiB.
        mib: usize,
    },
    /// Returns an ID of `mib` MiB.
    HugeString {
        /// How many MiB.
        mib: usize,
    },
    /// Returns the file's contents as the ID.
    ReadFile {
        /// The path, as the plugin sees it.
        path: String,
    },
    /// Writes `content` to `path`; returns `"written"`.
    WriteFile {
        /// The path, as the plugin sees it.
        path: String,
        /// What to write.
        #[serde(default)]
        content: String,
    },
    /// Appends `content` to `path`, creating it; returns `"appended"`.
    AppendFile {
        /// The path, as the plugin sees it.
        path: String,
        /// What to append.
        #[serde(default)]
        content: String,
    },
    /// Returns the environment variable, or `not-found`.
    Env {
        /// The variable's name.
        name: String,
    },
    /// Returns the number of environment variables.
    EnvCount,
    /// Opens a TCP connection; returns `"connected"` or the error.
    Connect {
        /// `host:port`, for example `127.0.0.1:1`.
        addr: String,
    },
    /// Sleeps `ms` milliseconds; returns `"slept"`.
    Sleep {
        /// How long.
        ms: u64,
    },
    /// Writes `text` to stdout and stderr; returns `"printed"`.
    Print {
        /// What to write.
        text: String,
    },
    /// Logs `text` at info level; returns `"logged"`.
    Log {
        /// What to log.
        text: String,
    },
    /// Returns the plugin configuration's JSON text.
    Config,
    /// Store `value` under `key` in the host's kv store.
    KvSet { key: String, value: String },
    /// Read `key` from the host's kv store.
    KvGet { key: String },
    /// Keeps `text` in the instance's memory and returns what the previous
    /// `remember` of this instance kept (empty on a fresh instance).
    Remember {
        /// What to keep.
        text: String,
    },
    /// Provision on instance plugin `plugin` with properties `props`, through the host.
    CallInstance {
        plugin: String,
        props: serde_json::Value,
    },
}

fn default_message() -> String {
    "misbehave was asked to panic".into()
}

impl Act {
    /// Reads the act from a spec's properties; none is an `invalid-input` error.
    pub fn from_properties(properties: Option<&Json>) -> Result<Act> {
        match properties {
            Some(p) if !p.is_null() => p.parse(),
            _ => Err(Error::InvalidInput(
                "properties must be {\"act\": …}".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(text: &str) -> Result<Act> {
        Act::from_properties(Some(&Json::new(text).unwrap()))
    }

    #[test]
    fn acts_use_kebab_case_names() {
        assert_eq!(act(r#"{"act":"ok"}"#).unwrap(), Act::Ok);
        assert_eq!(
            act(r#"{"act":"huge-string","mib":2}"#).unwrap(),
            Act::HugeString { mib: 2 }
        );
        assert_eq!(act(r#"{"act":"env-count"}"#).unwrap(), Act::EnvCount);
        assert_eq!(
            act(r#"{"act":"panic"}"#).unwrap(),
            Act::Panic {
                message: default_message()
            }
        );
    }

    #[test]
    fn unknown_or_missing_acts_are_invalid_input() {
        assert!(matches!(
            act(r#"{"act":"fly"}"#),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            act(r#"{"act":"alloc"}"#),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            Act::from_properties(None),
            Err(Error::InvalidInput(_))
        ));
    }
}
