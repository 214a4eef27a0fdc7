//! The demo's last story: `deploykit serve` puts every plugin on an InfraKit socket, and a raw JSON-RPC request (what `curl --unix-socket` sends) reaches it.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Starts `serve` with its sockets in `demo_dir/sockets`, calls
/// `Instance.DescribeInstances` on `instance-file`'s socket, and stops it with Ctrl-C.
pub fn bridge_story(cli: &Path, plugins: &Path, demo_dir: &Path) -> Result<()> {
    let sockets = demo_dir.join("sockets");
    let state = demo_dir.join("serve-state");
    println!("\n$ deploykit --sockets {} serve &", super::path(&sockets));
    println!(
        "# every plugin, and the group controller, answers InfraKit's JSON-RPC on its own socket"
    );
    let mut serve = Command::new(cli)
        .arg("--plugins")
        .arg(plugins)
        .arg("--state")
        .arg(&state)
        .arg("--sockets")
        .arg(&sockets)
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start deploykit serve")?;
    let socket = sockets.join("instance-file");
    let started = Instant::now();
    while UnixStream::connect(&socket).is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = serve.kill();
            bail!("deploykit serve made no socket {}", socket.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut names: Vec<String> = std::fs::read_dir(&sockets)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    println!("\n$ ls {}\n{}", super::path(&sockets), names.join("  "));
    let body = r#"{"jsonrpc":"2.0","method":"Instance.DescribeInstances","params":{"Tags":{"tier":"web"}},"id":1}"#;
    println!(
        "\n$ curl --unix-socket {} -H 'Content-Type: application/json' -d '{body}' http://h/",
        super::path(&socket)
    );
    println!("# InfraKit's own CLI and managers call our plugins this way");
    let answer = post(&socket, body);
    if let Ok(answer) = &answer {
        print!("{answer}");
    }
    // Ctrl-C: serve closes its sockets and removes their files.
    let _ = Command::new("kill")
        .args(["-INT", &serve.id().to_string()])
        .status();
    serve.wait()?;
    answer.map(drop)
}

/// One HTTP/1.1 POST of a JSON body; returns the response body.
fn post(socket: &Path, body: &str) -> Result<String> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (_, body) = response
        .split_once("\r\n\r\n")
        .context("the socket answered no HTTP")?;
    Ok(body.to_owned())
}
