//! Serves a JSON-RPC handler on a unix socket: HTTP/1.1 `POST /`, InfraKit's status codes and headers.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::UnixListener;

use super::jsonrpc::{RpcError, respond};

/// A method handler: `(method, params JSON) -> result JSON`. It runs on a
/// blocking thread, so it may call plugins.
pub type Handler = Arc<dyn Fn(&str, &str) -> Result<String, RpcError> + Send + Sync>;

/// Produces the `GET /info/api.json` document. It runs on a blocking thread.
pub type Info = Arc<dyn Fn() -> String + Send + Sync>;

/// What a socket serves: JSON-RPC on `POST /`, and, for plugin sockets,
/// InfraKit's metadata document on `GET /info/api.json`.
#[derive(Clone)]
pub struct Service {
    /// Answers `POST /`.
    pub rpc: Handler,
    /// Answers `GET /info/api.json`; without it that path is a 404.
    pub info: Option<Info>,
}

impl From<Handler> for Service {
    fn from(rpc: Handler) -> Self {
        Service { rpc, info: None }
    }
}

/// An oversized body up to this size is read and dropped before the 413
/// answer, so the client reads the answer instead of a reset connection.
const DRAIN_LIMIT: u64 = 64 << 20;

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
    bind_with_mode(path, 0o600)
}

/// Binds `path` like [`bind`], with the permission bits `mode` (such as
/// `0o660` to let a group's members call).
pub fn bind_with_mode(path: &Path, mode: u32) -> Result<UnixListener, ServeError> {
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
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| {
        ServeError::Bind {
            path: path.to_owned(),
            source,
        }
    })?;
    Ok(listener)
}

/// Accepts connections on `listener` until `shutdown` resolves, answering
/// each request with `service`. A bad or dropped connection affects only itself.
pub async fn serve(
    listener: UnixListener,
    service: impl Into<Service>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let handler = service.into();
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
    service: Service,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() == Method::GET
        && req.uri().path() == "/info/api.json"
        && let Some(info) = service.info
    {
        let body = tokio::task::spawn_blocking(move || info())
            .await
            .unwrap_or_default();
        // text/plain like every other answer: InfraKit's server lets Go sniff it.
        return Ok(reply(StatusCode::OK, body.into_bytes()));
    }
    // gorilla/mux routes only `/` (and the info paths) to the RPC server.
    if req.uri().path() != "/" {
        return Ok(reply(
            StatusCode::NOT_FOUND,
            b"404 page not found\n".to_vec(),
        ));
    }
    if req.method() != Method::POST {
        let text = format!("rpc: POST method required, received {}", req.method());
        return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, text.into_bytes()));
    }
    // gorilla/rpc's rule: the media type before any `;` must be a registered
    // codec (only JSON); with no Content-Type at all, the one codec is used.
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or_default();
    if !media.is_empty() && !media.eq_ignore_ascii_case("application/json") {
        let text = format!("rpc: unrecognized Content-Type: {media}");
        return Ok(reply(StatusCode::UNSUPPORTED_MEDIA_TYPE, text.into_bytes()));
    }
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        // Refuse it, but read (and drop) what the client is still sending
        // first, up to a bound: closing on unread data resets the connection
        // and the client would never see the answer.
        if declared.is_some_and(|n| n <= DRAIN_LIMIT) {
            let mut body = req.into_body();
            while let Some(Ok(_)) = body.frame().await {}
        }
        return Ok(reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over {MAX_BODY} bytes\n").into_bytes(),
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
    let handler = service.rpc;
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
