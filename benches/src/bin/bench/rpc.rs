//! Case 1c's JSON-RPC server: `deploykit serve --sockets` in its own process, and a kept-alive client.

use super::*;

/// The JSON-RPC server of case 1c and how it was run.
pub(super) struct Rpc {
    socket: PathBuf,
    /// Keeps its connection open between calls, as Go's HTTP client does for InfraKit.
    client: deploykit_host::rpc::client::Client,
    pub(super) how: String,
    child: Option<Child>,
    _work: tempfile::TempDir,
    _thread: Option<std::thread::JoinHandle<()>>,
}

impl Rpc {
    pub(super) fn start(dir: &Path, cli: Option<&Path>) -> Result<Rpc> {
        let work = tempfile::tempdir()?;
        let plugins = work.path().join("plugins");
        let sockets = work.path().join("sockets");
        let state = work.path().join("state");
        for d in [&plugins, &sockets, &state] {
            std::fs::create_dir_all(d)?;
        }
        std::fs::copy(
            dir.join(format!("{PLUGIN}.wasm")),
            plugins.join(format!("{PLUGIN}.wasm")),
        )?;
        let socket = sockets.join(PLUGIN);
        let bridge = cli.filter(|cli| {
            Command::new(cli)
                .args(["serve", "--help"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("--sockets"))
        });
        if let Some(cli) = bridge {
            let child = Command::new(cli)
                .arg("serve")
                .arg("--plugins")
                .arg(&plugins)
                .arg("--state")
                .arg(&state)
                .arg("--sockets")
                .arg(&sockets)
                .env("RUST_BACKTRACE", "0")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .with_context(|| format!("cannot run {}", cli.display()))?;
            let rpc = Rpc {
                client: client(&socket),
                socket,
                how: "1c: `deploykit serve --sockets` (the bridge) in its own process".into(),
                child: Some(child),
                _work: work,
                _thread: None,
            };
            rpc.wait()?;
            return Ok(rpc);
        }
        // The bridge has not landed: serve the plugin from a thread of this process.
        let host = host(&plugins)?;
        let backend = host.instance(PLUGIN)?;
        let listener_path = socket.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let _host = host;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            rt.block_on(async move {
                let listener = deploykit_host::rpc::server::bind(&listener_path).expect("bind");
                ready_tx.send(()).expect("ready");
                let handler: deploykit_host::rpc::server::Handler =
                    Arc::new(move |method: &str, params: &str| {
                        let m = method.strip_prefix("Instance.").ok_or_else(|| {
                            deploykit_host::rpc::jsonrpc::RpcError::unknown_service(method)
                        })?;
                        Ok(deploykit_host::wire::call_instance(
                            backend.as_ref(),
                            m,
                            params,
                        )?)
                    });
                deploykit_host::rpc::server::serve(listener, handler, std::future::pending()).await;
            });
        });
        ready_rx.recv_timeout(Duration::from_secs(10))?;
        let rpc = Rpc {
            client: client(&socket),
            socket,
            how: "1c: `deploykit serve --sockets` not available; the plugin was served by \
                  rpc::server on a thread of the benchmark process (same hyper server and \
                  wire::call_instance)"
                .into(),
            child: None,
            _work: work,
            _thread: Some(thread),
        };
        rpc.wait()?;
        Ok(rpc)
    }

    fn wait(&self) -> Result<()> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if self.socket.exists()
                && deploykit_host::rpc::client::call(
                    &self.socket,
                    "Instance.Validate",
                    r#"{"Properties":{}}"#,
                    RPC_TIMEOUT,
                )
                .is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("nothing answers on {}", self.socket.display())
    }

    pub(super) fn call(&self, method: &str, params: &str) -> String {
        self.client
            .call(method, params)
            .unwrap_or_else(|e| panic!("{method} over {}: {e}", self.socket.display()))
    }
}

fn client(socket: &Path) -> deploykit_host::rpc::client::Client {
    deploykit_host::rpc::client::Client::new(
        deploykit_host::rpc::client::Endpoint::Unix(socket.to_owned()),
        RPC_TIMEOUT,
    )
}

impl Drop for Rpc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGTERM for a clean shutdown, then reap.
            let _ = Command::new("kill").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
