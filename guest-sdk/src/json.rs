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
pub struct Json(Box<RawValue>);

impl Json {
    /// Wraps JSON text after checking that it is one well-formed JSON value.
    pub fn new(text: impl Into<String>) -> Result<Self, Error> {
        RawValue::from_string(text.into())
            .map(Json)
            .map_err(|e| Error::InvalidInput(format!("not valid JSON: {e}")))
    }

    /// Encodes any serialisable value.
    pub fn from_value<T: Serialize + ?Sized>(value: &T) -> Result<Self, Error> {
        serde_json::value::to_raw_value(value)
            .map(Json)
            .map_err(|e| Error::Internal(format!("cannot encode JSON: {e}")))
    }

    /// The JSON `null`.
    pub fn null() -> Self {
        Json(RawValue::NULL.to_owned())
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        self.0.get()
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
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Json)
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
    fn text_passes_through_untouched() {
        let text = r#"{ "b":1,  "a":[2] }"#;
        assert_eq!(Json::new(text).unwrap().as_str(), text);
    }
}
