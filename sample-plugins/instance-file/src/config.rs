//! The plugin's configuration: which directory holds the instance files.

use deploykit_sdk::Result;
use serde::Deserialize;

/// The `[config]` table of the plugin's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The directory of instance files, as the plugin sees it.
    pub dir: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            dir: "/instances".into(),
        }
    }
}

impl Config {
    /// Reads the configuration the host gave the plugin.
    pub fn load() -> Result<Config> {
        deploykit_sdk::config::parse()
    }
}
