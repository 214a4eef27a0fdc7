//! Raw JSON text passed through untouched, with typed parsing that names the failing field.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::Error;

/// Raw JSON text, carried byte for byte like InfraKit's `types.Any`.
///
/// Plugins receive their properties as `Json` and turn them into their own
/// serde types with [`Json::parse`]; a malformed document becomes an
/// [`Error::InvalidInput`] that names the field at fault.
#[derive(Clone)]
pub struct Json(Text);

/// Where a [`Json`]'s text was checked.
#[derive(Clone)]
enum Text {
    /// Checked here: built by [`Json::new`], decoded or encoded by serde_json.
    Checked(Box<RawValue>),
    /// Handed to a plugin by the host, which checks every JSON text before it
    /// passes it on (and every one a plugin returns), so a plugin does not
    /// scan the same text a second time on each call.
    #[cfg_attr(
        not(any(feature = "guest", test)),
        expect(
            dead_code,
            reason = "only the guest bindings receive text from the host"
        )
    )]
    FromHost(Box<str>),
}

impl Json {
    /// Wraps JSON text after checking that it is one well-formed JSON value.
    pub fn new(text: impl Into<String>) -> Result<Self, Error> {
        RawValue::from_string(text.into())
            .map(|raw| Json(Text::Checked(raw)))
            .map_err(|e| Error::InvalidInput(format!("not valid JSON: {e}")))
    }

    /// JSON text that the host has already checked (see [`Text::FromHost`]).
    #[cfg(any(feature = "guest", test))]
    pub(crate) fn from_host(text: String) -> Self {
        Json(Text::FromHost(text.into_boxed_str()))
    }

    /// Encodes any serialisable value.
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Result<Self, Error> {
        serde_json::value::to_raw_value(value)
            .map(|raw| Json(Text::Checked(raw)))
            .map_err(|e| Error::Internal(format!("cannot encode JSON: {e}")))
    }

    /// The JSON `null`.
    pub fn null() -> Self {
        Json(Text::Checked(RawValue::NULL.to_owned()))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Text::Checked(raw) => raw.get(),
            Text::FromHost(text) => text,
        }
    }

    /// True for the JSON `null` (InfraKit's absent properties).
    pub fn is_null(&self) -> bool {
        self.as_str().trim() == "null"
    }

    /// Parses into `T`; errors name the path of the field that failed, as in
    /// `invalid properties: Init[1]: invalid type: integer `3`, expected a string`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        parse_json(self.as_str())
    }

    /// Parses into `T`, treating `null` as `T::default()`.
    pub fn parse_or_default<T: DeserializeOwned + Default>(&self) -> Result<T, Error> {
        if self.is_null() {
            Ok(T::default())
        } else {
            self.parse()
        }
    }
}

/// Parses JSON text into `T`, naming the failing field in the error.
pub fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            Error::InvalidInput(format!("invalid properties: {inner}"))
        } else {
            Error::InvalidInput(format!("invalid properties: {path}: {inner}"))
        }
    })?;
    de.end()
        .map_err(|e| Error::InvalidInput(format!("invalid properties: {e}")))?;
    Ok(value)
}

impl Default for Json {
    fn default() -> Self {
        Json::null()
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Json {}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Text::Checked(raw) => raw.serialize(serializer),
            // serde_json embeds only a `RawValue`; borrowing one checks the
            // text here, the one place a plugin relies on it being JSON.
            Text::FromHost(text) => serde_json::from_str::<&RawValue>(text)
                .map_err(serde::ser::Error::custom)?
                .serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(|raw| Json(Text::Checked(raw)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code, reason = "fields are read through Debug only")]
    struct Props {
        #[serde(rename = "Init")]
        init: Vec<String>,
    }

    #[test]
    fn parse_error_names_the_field() {
        let json = Json::new(r#"{"Init": ["a", 3]}"#).unwrap();
        let err = json.parse::<Props>().unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput(m) if m.starts_with("invalid properties: Init[1]: invalid type: integer `3`")),
            "{err:?}"
        );
    }

    #[test]
    fn malformed_text_is_refused() {
        assert!(matches!(Json::new("{nope"), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn host_text_serialises_as_raw_json_and_parses_like_checked_text() {
        let text = r#"{"Init": ["a", 3]}"#;
        let host = Json::from_host(text.into());
        assert_eq!(host, Json::new(text).unwrap());
        #[derive(Serialize)]
        struct Wrapper<'a> {
            p: &'a Json,
        }
        let wrapped = serde_json::to_string(&Wrapper { p: &host }).unwrap();
        assert_eq!(wrapped, r#"{"p":{"Init": ["a", 3]}}"#);
        let err = host.parse::<Props>().unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput(m) if m.contains("Init[1]")),
            "{err:?}"
        );
    }

    #[test]
    fn host_text_that_is_not_json_fails_to_serialise() {
        let err = serde_json::to_string(&Json::from_host("{oops".into())).unwrap_err();
        assert!(err.to_string().contains("key must be a string"), "{err}");
    }

    #[test]
    fn text_passes_through_untouched() {
        let text = r#"{ "b":1,  "a":[2] }"#;
        assert_eq!(Json::new(text).unwrap().as_str(), text);
    }
}
