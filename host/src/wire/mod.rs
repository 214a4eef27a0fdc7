//! InfraKit's JSON-RPC params and results for each method, so any front end speaks InfraKit's JSON.
//!
//! The CLI reads these params from files and prints these results; the
//! JSON-RPC bridge carries them over sockets. Field names and order are
//! InfraKit's (`{"Type":"","ID":"…"}`), so an existing InfraKit file or
//! client works unchanged.

mod flavor;
mod group;
mod instance;

pub use flavor::call_flavor;
pub use group::call_group;
pub use instance::call_instance;

/// Why a request could not be answered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The params are not the method's request object.
    #[error("invalid params for {method}: {reason}")]
    Params {
        /// The method, such as `Instance.Provision`.
        method: String,
        /// What is wrong.
        reason: String,
    },
    /// The SPI has no such method.
    #[error("unknown method {0}")]
    UnknownMethod(String),
    /// The plugin or the host failed the call.
    #[error(transparent)]
    Call(#[from] crate::Error),
}

/// Parses `params` as `T`, naming the method and field on failure.
fn params<T: serde::de::DeserializeOwned>(method: &str, params: &str) -> Result<T, WireError> {
    // A one-element array is accepted too, as gorilla/rpc does.
    let trimmed = params.trim_start();
    let text = if trimmed.starts_with('[') {
        let items: Vec<Box<serde_json::value::RawValue>> =
            serde_json::from_str(trimmed).map_err(|e| WireError::Params {
                method: method.to_owned(),
                reason: e.to_string(),
            })?;
        match items.as_slice() {
            [one] => one.get().to_owned(),
            _ => {
                return Err(WireError::Params {
                    method: method.to_owned(),
                    reason: "expected one params object".into(),
                });
            }
        }
    } else {
        params.to_owned()
    };
    deploykit_sdk::parse_json(&text).map_err(|e| WireError::Params {
        method: method.to_owned(),
        reason: e
            .message()
            .trim_start_matches("invalid properties: ")
            .to_owned(),
    })
}

/// Serialises a result object (struct field order is kept).
fn result<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("result types always serialise")
}

/// `{"Type": t, "OK": true}`, the result of methods that return only an error.
#[derive(serde::Serialize)]
struct Ok<'a> {
    #[serde(rename = "Type")]
    kind: &'a str,
    #[serde(rename = "OK")]
    ok: bool,
}
