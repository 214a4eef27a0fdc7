//! A stand-in for InfraKit's Go plugins: a small JSON-RPC server over HTTP/1.1, on a unix socket or TCP, with an in-memory instance plugin behind it.
//!
//! It is written from the wire format alone (no code shared with the host's
//! server), answers with chunked bodies past 2 KiB as Go's `net/http` does,
//! and records every request so tests can check what the host sent.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// Go's `net/http` switches to chunked encoding once a handler writes more than this.
const CHUNKING_THRESHOLD: usize = 2048;

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `Service.Method`.
    pub method: String,
    /// The params object.
    pub params: Value,
}

/// The fake plugin's state: its instances and what it was asked.
#[derive(Default)]
pub struct FakeState {
    /// Instance ID to its description (`ID`, `LogicalID`, `Tags`).
    pub instances: BTreeMap<String, Value>,
    /// Every request, in order.
    pub seen: Vec<Seen>,
}

/// A fake InfraKit instance plugin serving until dropped.
pub struct FakeInstancePlugin {
    /// Its state, shared with the server thread.
    pub state: Arc<Mutex<FakeState>>,
    stop: Arc<AtomicBool>,
    wake: Box<dyn Fn() + Send>,
    socket: Option<PathBuf>,
}

impl FakeInstancePlugin {
    /// Serves on the unix socket `path`. `interfaces` is what `Handshake.Hello`
    /// announces, such as `{"Instance/0.6.1": ["."]}` (object names per interface).
    pub fn unix(
        path: &Path,
        interfaces: &[(&str, &[&str])],
    ) -> std::io::Result<FakeInstancePlugin> {
        let listener = UnixListener::bind(path)?;
        let (state, stop, hello) = Self::parts(interfaces);
        accept_loop(
            listener,
            |l| l.accept().map(|(s, _)| s),
            &state,
            &stop,
            hello,
        );
        let wake_path = path.to_owned();
        Ok(FakeInstancePlugin {
            state,
            stop,
            wake: Box::new(move || {
                let _ = std::os::unix::net::UnixStream::connect(&wake_path);
            }),
            socket: Some(path.to_owned()),
        })
    }

    /// Serves on a loopback TCP port; returns the fake and its `tcp://` URL.
    pub fn tcp(interfaces: &[(&str, &[&str])]) -> std::io::Result<(FakeInstancePlugin, String)> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let (state, stop, hello) = Self::parts(interfaces);
        accept_loop(
            listener,
            |l| l.accept().map(|(s, _)| s),
            &state,
            &stop,
            hello,
        );
        Ok((
            FakeInstancePlugin {
                state,
                stop,
                wake: Box::new(move || {
                    let _ = std::net::TcpStream::connect(addr);
                }),
                socket: None,
            },
            format!("tcp://{addr}"),
        ))
    }

    fn parts(interfaces: &[(&str, &[&str])]) -> (Arc<Mutex<FakeState>>, Arc<AtomicBool>, Value) {
        let objects: serde_json::Map<String, Value> = interfaces
            .iter()
            .map(|(iface, names)| {
                let objs: Vec<Value> = names
                    .iter()
                    .map(|n| json!({ "Name": n, "ProxyFor": "" }))
                    .collect();
                (iface.to_string(), Value::Array(objs))
            })
            .collect();
        (
            Arc::default(),
            Arc::new(AtomicBool::new(false)),
            json!({ "Objects": objects }),
        )
    }

    /// The methods received so far, in order.
    pub fn methods(&self) -> Vec<String> {
        self.state
            .lock()
            .unwrap()
            .seen
            .iter()
            .map(|s| s.method.clone())
            .collect()
    }
}

impl Drop for FakeInstancePlugin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        (self.wake)();
        if let Some(socket) = &self.socket {
            let _ = std::fs::remove_file(socket);
        }
    }
}

/// Accepts connections on a thread until `stop`, one more thread per connection.
fn accept_loop<L, S>(
    listener: L,
    accept: fn(&L) -> std::io::Result<S>,
    state: &Arc<Mutex<FakeState>>,
    stop: &Arc<AtomicBool>,
    hello: Value,
) where
    L: Send + 'static,
    S: Read + Write + Send + 'static,
{
    let (state, stop) = (state.clone(), stop.clone());
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            if let Ok(stream) = accept(&listener) {
                let (state, hello) = (state.clone(), hello.clone());
                std::thread::spawn(move || serve_one(stream, &state, &hello));
            }
        }
    });
}

/// Reads one HTTP request, answers it, closes.
fn serve_one<S: Read + Write>(stream: S, state: &Mutex<FakeState>, hello: &Value) {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let answer = answer(&body, state, hello);
    let mut stream = reader.into_inner();
    let head =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n";
    let out = if answer.len() > CHUNKING_THRESHOLD {
        let mut out = format!("{head}Transfer-Encoding: chunked\r\n\r\n").into_bytes();
        for chunk in answer.as_bytes().chunks(1000) {
            out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    } else {
        format!("{head}Content-Length: {}\r\n\r\n{answer}", answer.len()).into_bytes()
    };
    let _ = stream.write_all(&out);
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// The JSON-RPC response body for one request.
fn answer(body: &[u8], state: &Mutex<FakeState>, hello: &Value) -> String {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return String::new();
    };
    let method = request["method"].as_str().unwrap_or_default().to_owned();
    let params = request["params"].clone();
    let id = request["id"].clone();
    let mut state = state.lock().unwrap();
    state.seen.push(Seen {
        method: method.clone(),
        params: params.clone(),
    });
    let kind = params["Type"].clone();
    let result: Result<Value, String> = match method.as_str() {
        "Handshake.Hello" => Ok(hello.clone()),
        "Instance.Validate" => Ok(json!({ "Type": kind, "OK": true })),
        "Instance.Provision" => {
            let spec = &params["Spec"];
            let id = format!("fake-{}", NEXT.fetch_add(1, Ordering::Relaxed));
            state.instances.insert(
                id.clone(),
                json!({ "ID": id, "LogicalID": spec["LogicalID"], "Tags": spec["Tags"] }),
            );
            Ok(json!({ "Type": kind, "ID": id }))
        }
        "Instance.Label" => {
            let id = params["Instance"].as_str().unwrap_or_default();
            match state.instances.get_mut(id) {
                Some(d) => {
                    let labels = params["Labels"].as_object().cloned().unwrap_or_default();
                    let tags = d["Tags"].as_object_mut();
                    if let Some(tags) = tags {
                        tags.extend(labels);
                    }
                    Ok(json!({ "Type": kind, "OK": true }))
                }
                None => Err(format!("instance {id} not found")),
            }
        }
        "Instance.Destroy" => {
            let id = params["Instance"].as_str().unwrap_or_default();
            match state.instances.remove(id) {
                Some(_) => Ok(json!({ "Type": kind, "OK": true })),
                None => Err(format!("remove {id}: no such file or directory")),
            }
        }
        "Instance.DescribeInstances" => {
            let want = params["Tags"].as_object().cloned().unwrap_or_default();
            let found: Vec<Value> = state
                .instances
                .values()
                .filter(|d| want.iter().all(|(k, v)| d["Tags"][k] == *v))
                .cloned()
                .collect();
            Ok(json!({ "Type": kind, "Descriptions": found }))
        }
        other => Err(format!("rpc: can't find service {other:?}")),
    };
    let response = match result {
        Ok(result) => json!({ "jsonrpc": "2.0", "result": result, "id": id }),
        Err(message) => json!({
            "jsonrpc": "2.0",
            "error": { "code": -32000, "message": message, "data": null },
            "id": id,
        }),
    };
    format!("{response}\n")
}
