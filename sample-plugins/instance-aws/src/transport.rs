//! Sends one HTTP POST: through `wasi:http/outgoing-handler` inside a component; a stand-in natively.

use deploykit_sdk::{Error, Result};

use crate::config::Endpoint;

/// An HTTP response: its status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

/// Sends POST requests. The plugin uses [`WasiHttp`]; tests use a fake.
pub trait Transport {
    /// POSTs `body` with `headers` to `endpoint`; an `Err` is an HTTP-level failure.
    fn post(
        &self,
        endpoint: &Endpoint,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Response>;
}

/// The host's `wasi:http`, which sends only what the plugin's manifest grants.
#[derive(Debug, Default, Clone, Copy)]
pub struct WasiHttp;

#[cfg(target_arch = "wasm32")]
impl Transport for WasiHttp {
    fn post(
        &self,
        endpoint: &Endpoint,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Response> {
        wasi::post(endpoint, headers, body)
            .map_err(|e| Error::Unavailable(format!("POST {endpoint} failed: {e}")))
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Transport for WasiHttp {
    fn post(&self, endpoint: &Endpoint, _: &[(String, String)], _: &[u8]) -> Result<Response> {
        Err(Error::Unavailable(format!(
            "POST {endpoint}: outbound HTTP needs the plugin to run as a component (wasi:http)"
        )))
    }
}

#[cfg(target_arch = "wasm32")]
mod wasi {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{
        ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme,
    };
    use wasip2::io::streams::StreamError;

    use super::Response;
    use crate::config::Endpoint;

    /// The most bytes `blocking-write-and-flush` takes at once.
    const WRITE_CHUNK: usize = 4096;

    pub(super) fn post(
        endpoint: &Endpoint,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Response, String> {
        let mut fields: Vec<(String, Vec<u8>)> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect();
        fields.push(("content-length".into(), body.len().to_string().into_bytes()));
        let fields = Fields::from_list(&fields).map_err(|e| format!("bad header: {e:?}"))?;
        let request = OutgoingRequest::new(fields);
        let scheme = if endpoint.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        request
            .set_method(&Method::Post)
            .map_err(|()| "bad method")?;
        request
            .set_scheme(Some(&scheme))
            .map_err(|()| "bad scheme")?;
        request
            .set_authority(Some(&endpoint.authority))
            .map_err(|()| format!("bad host '{}'", endpoint.authority))?;
        request
            .set_path_with_query(Some(&endpoint.path))
            .map_err(|()| format!("bad path '{}'", endpoint.path))?;
        let outgoing = request.body().map_err(|()| "the request body was taken")?;
        let future = outgoing_handler::handle(request, None).map_err(describe)?;
        // A request the host refuses (or cannot send) closes the body stream:
        // its reason is the response's error, so wait for that first.
        let sent = write_body(outgoing, body);
        // Blocks in wasi:io/poll, which the host ends at the call's deadline.
        future.subscribe().block();
        let response = match future.get() {
            Some(Ok(Ok(response))) => response,
            Some(Ok(Err(code))) => return Err(describe(code)),
            Some(Err(())) => return Err("the response was already taken".into()),
            None => return Err("no response after waiting".into()),
        };
        sent?;
        let status = response.status();
        let incoming = response
            .consume()
            .map_err(|()| "the response body was taken")?;
        let mut bytes = Vec::new();
        {
            let stream = incoming
                .stream()
                .map_err(|()| "the response stream was taken")?;
            loop {
                match stream.blocking_read(64 * 1024) {
                    Ok(chunk) => bytes.extend_from_slice(&chunk),
                    Err(StreamError::Closed) => break,
                    Err(e) => return Err(stream_error("reading the response", e)),
                }
            }
        }
        drop(IncomingBody::finish(incoming));
        Ok(Response {
            status,
            body: bytes,
        })
    }

    /// Writes the request body and finishes it.
    fn write_body(outgoing: OutgoingBody, body: &[u8]) -> Result<(), String> {
        {
            let stream = outgoing.write().map_err(|()| "the body stream was taken")?;
            for chunk in body.chunks(WRITE_CHUNK) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| stream_error("sending the body", e))?;
            }
        }
        OutgoingBody::finish(outgoing, None).map_err(describe)
    }

    fn stream_error(doing: &str, e: StreamError) -> String {
        match e {
            StreamError::Closed => format!("{doing}: the connection closed"),
            StreamError::LastOperationFailed(e) => match wasip2::http::types::http_error_code(&e) {
                Some(code) => format!("{doing}: {}", describe(code)),
                None => format!("{doing}: {}", e.to_debug_string()),
            },
        }
    }

    /// An HTTP error code in words, with the host's reason where it has one.
    fn describe(code: ErrorCode) -> String {
        match code {
            ErrorCode::HttpRequestDenied => {
                "HTTP request denied by the host: the plugin's manifest \
                 has no [http] allow entry for this endpoint"
                    .into()
            }
            ErrorCode::HttpResponseBodySize(n) => format!(
                "the response body is larger than the host allows (max-response-kib; {n:?} bytes)"
            ),
            ErrorCode::ConnectionRefused => "connection refused".into(),
            ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout => {
                "timed out waiting for the endpoint".into()
            }
            other => format!("{other:?}"),
        }
    }
}
