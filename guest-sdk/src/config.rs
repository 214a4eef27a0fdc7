//! The plugin's configuration: the `config` table of its manifest, as JSON.
//!
//! Inside a component the host supplies it through the `config` import.
//! Natively (an author's `cargo test`) it is a per-thread value set with
//! [`testing::set_config`](crate::testing::set_config), `{}` until then.

use serde::de::DeserializeOwned;

use crate::{Error, Json, Result, parse_json};

/// The whole configuration as JSON: an object, `{}` when the manifest has none.
///
/// Text that is not JSON (a host bug) is logged as an error and read as `{}`;
/// [`parse`] reports it instead.
pub fn get() -> Json {
    let text = backend::raw();
    if is_blank(&text) {
        return empty();
    }
    Json::new(text).unwrap_or_else(|e| {
        crate::error!("ignoring the plugin configuration: {e}");
        empty()
    })
}

/// Parses the configuration into `T`.
///
/// An absent or empty configuration (`{}`, `null`, nothing) gives
/// `T::default()`; otherwise every field `T` requires must be present, so
/// mark optional fields `#[serde(default)]`. A mismatch is an
/// [`Error::InvalidInput`] that names the field, as in
/// `invalid config: dir: invalid type: integer `1`, expected a string`.
pub fn parse<T: DeserializeOwned + Default>() -> Result<T> {
    parse_text(&backend::raw())
}

fn parse_text<T: DeserializeOwned + Default>(text: &str) -> Result<T> {
    if is_blank(text) || is_empty_object(text) {
        return Ok(T::default());
    }
    parse_json(text).map_err(|e| {
        Error::InvalidInput(
            e.message()
                .replacen("invalid properties", "invalid config", 1),
        )
    })
}

fn empty() -> Json {
    Json::new("{}").unwrap_or_default()
}

fn is_blank(text: &str) -> bool {
    let text = text.trim();
    text.is_empty() || text == "null"
}

fn is_empty_object(text: &str) -> bool {
    text.chars().filter(|c| !c.is_whitespace()).eq("{}".chars())
}

#[cfg(all(feature = "guest", target_arch = "wasm32"))]
mod backend {
    pub(super) fn raw() -> String {
        crate::wit::deploykit::plugin::config::get()
    }
}

#[cfg(not(all(feature = "guest", target_arch = "wasm32")))]
pub(crate) mod backend {
    use std::cell::RefCell;

    thread_local! {
        static CONFIG: RefCell<String> = const { RefCell::new(String::new()) };
    }

    pub(crate) fn raw() -> String {
        CONFIG.with(|c| c.borrow().clone())
    }

    pub(crate) fn set(text: String) {
        CONFIG.with(|c| *c.borrow_mut() = text);
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::testing::set_config;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(default)]
    struct Config {
        dir: String,
        retries: u32,
    }

    impl Default for Config {
        fn default() -> Self {
            Config {
                dir: "/instances".into(),
                retries: 3,
            }
        }
    }

    #[test]
    fn unset_config_is_an_empty_object() {
        set_config("");
        assert_eq!(get().as_str(), "{}");
        assert_eq!(parse::<Config>().unwrap(), Config::default());
    }

    #[test]
    fn empty_object_gives_the_default() {
        set_config(" { } ");
        assert_eq!(parse::<Config>().unwrap(), Config::default());
        set_config("null");
        assert_eq!(parse::<Config>().unwrap(), Config::default());
    }

    #[test]
    fn fields_override_defaults() {
        set_config(r#"{"dir":"/data"}"#);
        assert_eq!(get().as_str(), r#"{"dir":"/data"}"#);
        assert_eq!(
            parse::<Config>().unwrap(),
            Config {
                dir: "/data".into(),
                retries: 3
            }
        );
    }

    #[test]
    fn a_bad_field_is_named() {
        set_config(r#"{"dir":1}"#);
        let err = parse::<Config>().unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput(m) if m.starts_with("invalid config: dir: invalid type: integer `1`")),
            "{err:?}"
        );
    }

    #[test]
    fn text_that_is_not_json() {
        set_config("{nope");
        assert_eq!(get().as_str(), "{}");
        assert!(matches!(parse::<Config>(), Err(Error::InvalidInput(_))));
    }
}
