//! JSON-RPC 2.0 bodies with InfraKit's conventions: raw ids, `-32000` errors, silent notifications.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Why a method failed, as the client will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RpcError {
    /// The method failed: code `-32000` with the message (InfraKit's plugin errors).
    Failed(String),
    /// The params are not the method's request (`-32600`).
    InvalidParams(String),
    /// No such service or method. gorilla/rpc answers these through its
    /// generic error path, so the code is `-32000` too, with messages such as
    /// `rpc: can't find service "Instance.Nope"`.
    UnknownMethod(String),
}

impl RpcError {
    fn code(&self) -> i64 {
        match self {
            RpcError::Failed(_) | RpcError::UnknownMethod(_) => -32000,
            RpcError::InvalidParams(_) => -32600,
        }
    }

    /// gorilla/rpc's answer to a method the service lacks.
    pub fn unknown_method(method: &str) -> RpcError {
        RpcError::UnknownMethod(format!("rpc: can't find method {method:?}"))
    }

    /// gorilla/rpc's answer to a service the server does not have, or to a
    /// method name without a dot.
    pub fn unknown_service(method: &str) -> RpcError {
        if method.contains('.') {
            RpcError::UnknownMethod(format!("rpc: can't find service {method:?}"))
        } else {
            RpcError::UnknownMethod(format!(
                "rpc: service/method request ill-formed: {method:?}"
            ))
        }
    }

    fn message(&self) -> &str {
        match self {
            RpcError::Failed(m) | RpcError::InvalidParams(m) | RpcError::UnknownMethod(m) => m,
        }
    }
}

impl From<crate::wire::WireError> for RpcError {
    fn from(e: crate::wire::WireError) -> Self {
        match e {
            crate::wire::WireError::Params { .. } => RpcError::InvalidParams(e.to_string()),
            crate::wire::WireError::UnknownMethod(m) => RpcError::unknown_method(&m),
            crate::wire::WireError::Call(crate::Error::Plugin { source, .. }) => {
                RpcError::Failed(source.message().to_owned())
            }
            other => RpcError::Failed(other.to_string()),
        }
    }
}

#[derive(Deserialize)]
struct Request<'a> {
    #[serde(default, borrow)]
    jsonrpc: Option<&'a RawValue>,
    #[serde(default)]
    method: String,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
}

#[derive(Serialize)]
struct Success<'a> {
    jsonrpc: &'static str,
    result: &'a RawValue,
    id: &'a RawValue,
}

#[derive(Serialize)]
struct Failure<'a> {
    jsonrpc: &'static str,
    error: ErrorBody<'a>,
    id: &'a RawValue,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: i64,
    message: &'a str,
    data: Option<&'a RawValue>,
}

/// Answers one request body. `dispatch(method, params)` returns the result
/// object's JSON text. Returns the response body: empty for a notification
/// (no `id`) and for unparseable JSON, as InfraKit's server does.
pub fn respond(
    body: &[u8],
    dispatch: impl FnOnce(&str, &str) -> Result<String, RpcError>,
) -> Vec<u8> {
    let Ok(request) = serde_json::from_slice::<Request<'_>>(body) else {
        return Vec::new();
    };
    let Some(id) = request.id.filter(|id| id.get() != "null") else {
        // A notification: run it, answer nothing.
        let params = request.params.map_or("{}", RawValue::get);
        let _ = dispatch(&request.method, params);
        return Vec::new();
    };
    if request.jsonrpc.map(RawValue::get) != Some("\"2.0\"") {
        let echo = std::str::from_utf8(body)
            .ok()
            .and_then(|b| RawValue::from_string(b.to_owned()).ok());
        return failure(id, -32600, "jsonrpc must be 2.0", echo.as_deref());
    }
    let params = request.params.map_or("{}", RawValue::get);
    match dispatch(&request.method, params) {
        Ok(result) => match RawValue::from_string(result) {
            Ok(raw) => line(&Success {
                jsonrpc: "2.0",
                result: &raw,
                id,
            }),
            Err(e) => failure(id, -32000, &format!("result is not JSON: {e}"), None),
        },
        Err(e) => failure(id, e.code(), e.message(), None),
    }
}

fn failure(id: &RawValue, code: i64, message: &str, data: Option<&RawValue>) -> Vec<u8> {
    line(&Failure {
        jsonrpc: "2.0",
        error: ErrorBody {
            code,
            message,
            data,
        },
        id,
    })
}

/// The JSON followed by a newline, as Go's encoder writes it.
fn line<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec(value).expect("response types serialise");
    out.push(b'\n');
    out
}

/// Builds a request body for `method` with raw `params` and a numeric id.
pub fn request(method: &str, params: &str, id: u64) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","method":{},"params":{params},"id":{id}}}"#,
        serde_json::to_string(method).expect("a string")
    )
}

/// Reads a response body: the raw result, or the error's code and message.
pub fn parse_response(body: &str) -> Result<String, (i64, String)> {
    #[derive(Deserialize)]
    struct Response<'a> {
        #[serde(borrow)]
        result: Option<&'a RawValue>,
        error: Option<Err>,
    }
    #[derive(Deserialize)]
    struct Err {
        code: i64,
        message: String,
    }
    let response: Response<'_> =
        serde_json::from_str(body).map_err(|e| (0, format!("malformed response: {e}")))?;
    match (response.result, response.error) {
        (_, Some(e)) => Err((e.code, e.message)),
        (Some(r), None) if r.get() != "null" => Ok(r.get().to_owned()),
        _ => Err((0, "the server returned a null result".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(body: Vec<u8>) -> String {
        String::from_utf8(body).unwrap()
    }

    #[test]
    fn ids_are_echoed_byte_for_byte() {
        let body = br#"{"jsonrpc":"2.0","method":"M","params":{},"id":8013013879344048126}"#;
        let out = text(respond(body, |_, _| Ok(r#"{"OK":true}"#.into())));
        assert_eq!(
            out,
            "{\"jsonrpc\":\"2.0\",\"result\":{\"OK\":true},\"id\":8013013879344048126}\n"
        );
        let out = text(respond(
            br#"{"jsonrpc":"2.0","method":"M","id":"abc"}"#,
            |_, p| {
                assert_eq!(p, "{}");
                Ok("{}".into())
            },
        ));
        assert!(out.ends_with("\"id\":\"abc\"}\n"), "{out}");
    }

    #[test]
    fn errors_use_infrakit_codes() {
        let out = text(respond(
            br#"{"jsonrpc":"2.0","method":"M","id":1}"#,
            |_, _| Err(RpcError::Failed("boom".into())),
        ));
        assert_eq!(
            out,
            "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"boom\",\"data\":null},\"id\":1}\n"
        );
        let out = text(respond(
            br#"{"jsonrpc":"1.0","method":"M","id":2}"#,
            |_, _| unreachable!(),
        ));
        assert!(
            out.contains(
                "\"code\":-32600,\"message\":\"jsonrpc must be 2.0\",\"data\":{\"jsonrpc\":\"1.0\""
            ),
            "{out}"
        );
    }

    #[test]
    fn notifications_and_garbage_get_empty_bodies() {
        let mut ran = false;
        assert!(
            respond(br#"{"jsonrpc":"2.0","method":"M"}"#, |_, _| {
                ran = true;
                Ok("{}".into())
            })
            .is_empty()
        );
        assert!(ran, "a notification still runs");
        assert!(respond(b"{nope", |_, _| unreachable!()).is_empty());
    }

    #[test]
    fn responses_parse_back() {
        assert_eq!(
            parse_response("{\"jsonrpc\":\"2.0\",\"result\":{\"a\":1},\"id\":1}").unwrap(),
            "{\"a\":1}"
        );
        assert_eq!(
            parse_response("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"x\",\"data\":null},\"id\":1}").unwrap_err(),
            (-32000, "x".into())
        );
    }
}
