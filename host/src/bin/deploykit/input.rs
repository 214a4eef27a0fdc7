//! Reads request params from a file or stdin, and parses `k=v` arguments.

use std::io::Read;

use anyhow::{Result, anyhow, bail};
use deploykit_host::Tags;

/// Reads JSON text from `path`, or stdin for `-`.
pub fn read_json(path: &str) -> Result<String> {
    let text = if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| anyhow!("cannot read stdin: {e}"))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| anyhow!("cannot read {path}: {e}"))?
    };
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&text) {
        bail!(
            "{} is not valid JSON: {e}",
            if path == "-" { "stdin" } else { path }
        );
    }
    Ok(text)
}

/// Whether an argument names params (a file or `-`) rather than an ID.
pub fn is_params_source(arg: &str) -> bool {
    arg == "-" || arg.ends_with(".json") || std::path::Path::new(arg).is_file()
}

/// Parses `k=v` arguments into tags.
pub fn parse_tags(args: &[String]) -> Result<Tags> {
    let mut tags = Tags::new();
    for arg in args {
        let Some((k, v)) = arg.split_once('=') else {
            bail!("'{arg}' is not a tag: expected key=value");
        };
        if k.is_empty() {
            bail!("'{arg}' has an empty key");
        }
        tags.insert(k.to_owned(), v.to_owned());
    }
    Ok(tags)
}
