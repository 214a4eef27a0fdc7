//! moto's EC2 emulator for the instance-aws tests: a project-local venv, and a server on a free loopback port.
//!
//! `target/moto-venv` is made with `python3 -m venv`, then `pip install
//! moto[server]==`[`MOTO`], once: a stamp file records the version and the
//! Python it was made with, and a file lock keeps two test processes from
//! installing at the same time. [`MotoServer::start`] runs moto's threaded
//! server in that venv on `127.0.0.1` with a port the OS picks; the server
//! exits when its standard input closes, so it never outlives the process
//! that started it, even one that is killed.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::target_dir;

/// The moto release the tests run against.
pub const MOTO: &str = "5.2.5";

/// Runs moto's server on a port the OS picks, prints the port, and stops
/// when standard input closes.
const SERVE: &str = "\
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
";

/// The venv's folder.
pub fn moto_venv() -> PathBuf {
    target_dir().join("moto-venv")
}

/// Installs moto into the venv unless its stamp says it is there; returns the venv's Python.
pub fn ensure_moto() -> Result<PathBuf> {
    let venv = crate::venv::ensure_venv(&moto_venv(), &format!("moto[server]=={MOTO}"))?;
    Ok(venv.program("python"))
}

/// A running moto server; stopped when dropped.
pub struct MotoServer {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
}

impl MotoServer {
    /// Installs moto if needed and starts a server on `127.0.0.1`.
    pub fn start() -> Result<MotoServer> {
        let python = ensure_moto()?;
        let mut child = Command::new(python)
            .args(["-c", SERVE])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start moto's server")?;
        let stdin = child.stdin.take();
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line);
        let port = match read.ok().and_then(|_| line.trim().parse::<u16>().ok()) {
            Some(port) => port,
            None => {
                let _ = child.kill();
                let status = child.wait()?;
                bail!("moto's server did not start ({status}); it printed {line:?}");
            }
        };
        Ok(MotoServer { child, stdin, port })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its URL, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Closing stdin asks the server to stop; kill it if it does not.
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.flush();
        }
        let deadline = Instant::now() + std::time::Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
