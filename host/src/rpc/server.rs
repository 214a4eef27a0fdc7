//! Serves a JSON-RPC handler on a unix socket: HTTP/1.1 `POST /`, InfraKit's status codes and headers.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::UnixListener;

use super::jsonrpc::{RpcError, respond};

/// A method handler: `(method, params JSON) -> result JSON`. It runs on a
/// blocking thread, so it may call plugins.
pub type Handler = Arc<dyn Fn(&str, &str) -> Result<String, RpcError> + Send + Sync>;

/// The largest request body accepted, in bytes.
pub const MAX_BODY: usize = 4 << 20;

/// Why a socket could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Another process answers on the socket: it is never taken over.
    #[error("{} is in use by a live server; not taking it over", .0.display())]
    InUse(PathBuf),
    /// The socket could not be created.
    #[error("cannot listen on {}: {source}", path.display())]
    Bind {
        /// The socket path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Binds `path`, replacing a stale socket file that nothing answers on, and
/// makes it owner-only (0600).
pub fn bind(path: &Path) -> Result<UnixListener, ServeError> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(ServeError::InUse(path.to_owned()));
        }
        tracing::warn!(socket = %path.display(), "removing a stale socket left by a crash");
        std::fs::remove_file(path).map_err(|source| ServeError::Bind {
            path: path.to_owned(),
            source,
        })?;
    }
    let listener = UnixListener::bind(path).map_err(|source| ServeError::Bind {
        path: path.to_owned(),
        source,
    })?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        ServeError::Bind {
            path: path.to_owned(),
            source,
        }
    })?;
    Ok(listener)
}

/// Accepts connections on `listener` until `shutdown` resolves, answering
/// each request with `handler`. A bad or dropped connection affects only itself.
pub async fn serve(
    listener: UnixListener,
    handler: Handler,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
        };
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| answer(req, handler.clone()));
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
}

async fn answer(
    req: Request<Incoming>,
    handler: Handler,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != Method::POST {
        let text = format!("rpc: POST method required, received {}", req.method());
        return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, text.into_bytes()));
    }
    if req.uri().path() != "/" {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            b"404 page not found\n".to_vec(),
        ));
    }
    let json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return Ok(reply(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            b"rpc: unrecognized Content-Type\n".to_vec(),
        ));
    }
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body over {MAX_BODY} bytes\n").into_bytes(),
            ));
        }
    };
    let out = tokio::task::spawn_blocking(move || respond(&body, |m, p| handler(m, p)))
        .await
        .unwrap_or_default();
    Ok(reply(StatusCode::OK, out))
}

/// Every answer is `text/plain; charset=utf-8`, as InfraKit's server writes them.
fn reply(status: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
