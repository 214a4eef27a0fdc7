//! Prints provision and describe latency against moto's EC2 emulator: through instance-aws in the host, natively, and with curl.
//!
//! ```sh
//! cargo run -p deploykit-tests --example aws_figures            # 50 rounds
//! cargo run -p deploykit-tests --example aws_figures -- 200     # more
//! ```
//!
//! Three clients make the same two EC2 calls (RunInstances of one instance,
//! then DescribeInstances filtered by a tag that matches 10 instances), each
//! on a new connection, as `wasi:http` makes them:
//!
//! - **plugin**: `Instance::provision` / `describe_instances` on instance-aws
//!   through the host (sandbox, SigV4 and XML in wasm, `wasi:http` out);
//! - **native**: the plugin's own EC2 client (`instance_aws::ec2`) compiled
//!   natively, over a `std::net::TcpStream`;
//! - **curl**: `curl --aws-sigv4` in a new process per call.
//!
//! moto is the same server for all three, so the differences are the clients'.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use deploykit_host::{Host, Json, Spec, Tags};
use deploykit_sdk::Error as PluginError;
use instance_aws::config::{Config, Endpoint, RawConfig};
use instance_aws::ec2::Ec2;
use instance_aws::transport::{Response, Transport};
use xtask::PluginFolder;
use xtask::moto::MotoServer;

const PROPERTIES: &str =
    r#"{"RunInstancesInput":{"ImageId":"ami-12c6146b","InstanceType":"t3.micro"}}"#;

fn main() -> Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(50);
    let moto = MotoServer::start()?;
    let endpoint = moto.endpoint();
    let folder = PluginFolder::new()?;
    folder.add(
        "instance-aws",
        "instance-aws",
        Some(&format!(
            "[http]\nallow = [\"{endpoint}\"]\n[config]\nregion = \"us-east-1\"\nendpoint = \"{endpoint}\"\n\
             access-key-id = \"AKIDEXAMPLE\"\nsecret-access-key = \"secret\"\n"
        )),
    )?;
    let host = Host::builder().plugin_dir(folder.path()).build()?;
    let plugin = host.instance("instance-aws")?;
    let tag = |set: &str| -> Tags { [("set".to_string(), set.to_string())].into_iter().collect() };
    let spec = |set: &str| Spec {
        properties: Some(Json::new(PROPERTIES).expect("valid JSON")),
        tags: tag(set),
        ..Spec::default()
    };
    for _ in 0..10 {
        plugin.provision(&spec("described"))?;
    }
    let config = Config::resolve(
        serde_json::from_str::<RawConfig>(&format!(
            r#"{{"region":"us-east-1","endpoint":"{endpoint}","access-key-id":"AKIDEXAMPLE","secret-access-key":"secret"}}"#
        ))?,
        |_| None,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let native = Ec2::new(&config, &StdHttp);
    let props = instance_aws::properties::Properties::parse(Some(&Json::new(PROPERTIES)?))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let filters = vec![("tag:set".to_string(), vec!["described".to_string()])];

    let curl = |form: &str| -> Result<String> {
        let out = Command::new("curl")
            .args([
                "-sS",
                "--fail",
                "--aws-sigv4",
                "aws:amz:us-east-1:ec2",
                "--user",
            ])
            .arg("AKIDEXAMPLE:secret")
            .args([
                "-H",
                "content-type: application/x-www-form-urlencoded; charset=utf-8",
                "--data",
            ])
            .arg(form)
            .arg(format!("{endpoint}/"))
            .output()
            .context("cannot run curl")?;
        if !out.status.success() {
            bail!("curl failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let run_form = props
        .run_instances(&tag("bench"), None, None)
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_form();
    let describe_form = "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=tag%3Aset&Filter.1.Value.1=described";

    let mut provision: [(&str, Client<'_>); 3] = [
        (
            "plugin",
            Box::new(|| Ok(plugin.provision(&spec("bench")).map(drop)?)),
        ),
        (
            "native",
            Box::new(|| {
                let q = props
                    .run_instances(&tag("bench"), None, None)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                native
                    .run_instance(&q)
                    .map(drop)
                    .map_err(|e| anyhow::anyhow!("{e}"))
            }),
        ),
        ("curl", Box::new(|| curl(&run_form).map(drop))),
    ];
    let mut describe: [(&str, Client<'_>); 3] = [
        (
            "plugin",
            Box::new(|| check(plugin.describe_instances(&tag("described"), false)?.len())),
        ),
        (
            "native",
            Box::new(|| {
                let page = native
                    .describe_page(&filters, None)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                check(page.instances.len())
            }),
        ),
        (
            "curl",
            Box::new(|| check(curl(describe_form)?.matches("<instanceId>").count())),
        ),
    ];
    // Warm every path once (the plugin's first call instantiates it), then
    // take turns, so that moto's growing state weighs on every client alike.
    let provisions = rounds_of(&mut provision, rounds)?;
    let describes = rounds_of(&mut describe, rounds)?;
    let rows = [
        ("RunInstances (provision)", provisions),
        ("DescribeInstances, 10 match (describe)", describes),
    ];
    println!(
        "medians of {rounds} calls each, moto {} on 127.0.0.1, new connection per call",
        xtask::moto::MOTO
    );
    println!(
        "| call | instance-aws through the host | the same client, native | curl --aws-sigv4 |"
    );
    println!("|---|---|---|---|");
    for (what, [p, n, c]) in rows {
        println!("| {what} | {} | {} | {} |", ms(p), ms(n), ms(c));
    }
    Ok(())
}

fn check(n: usize) -> Result<()> {
    if n != 10 {
        bail!("expected 10 instances, found {n}");
    }
    Ok(())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// One client's way of making a call.
type Client<'a> = Box<dyn FnMut() -> Result<()> + 'a>;

/// Warms each client once, then runs them in turn `n` times; returns each one's median time.
fn rounds_of(clients: &mut [(&str, Client<'_>); 3], n: usize) -> Result<[Duration; 3]> {
    let mut times: [Vec<Duration>; 3] = Default::default();
    for (name, f) in clients.iter_mut() {
        f().with_context(|| format!("warming {name}"))?;
    }
    for _ in 0..n {
        for (i, (_, f)) in clients.iter_mut().enumerate() {
            let start = Instant::now();
            f()?;
            times[i].push(start.elapsed());
        }
    }
    Ok(times.map(|mut t| {
        t.sort();
        t[t.len() / 2]
    }))
}

/// HTTP/1.1 over `std::net::TcpStream`, one connection per request.
struct StdHttp;

impl Transport for StdHttp {
    fn post(
        &self,
        endpoint: &Endpoint,
        headers: &[(String, String)],
        body: &[u8],
    ) -> deploykit_sdk::Result<Response> {
        let io = |e: std::io::Error| PluginError::Unavailable(e.to_string());
        let mut stream = TcpStream::connect(&endpoint.authority).map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let mut request = format!(
            "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n",
            endpoint.path,
            endpoint.authority,
            body.len()
        );
        for (k, v) in headers {
            request.push_str(&format!("{k}: {v}\r\n"));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        stream.write_all(&bytes).map_err(io)?;
        // Read the head, then exactly Content-Length bytes (as hyper does),
        // rather than wait for the server to close.
        let mut answer = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        let (split, length) = loop {
            let n = stream.read(&mut buf).map_err(io)?;
            if n == 0 {
                return Err(PluginError::Unavailable("closed before the head".into()));
            }
            answer.extend_from_slice(&buf[..n]);
            if let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .ok_or_else(|| PluginError::Unavailable("no content-length".into()))?;
                break (split, length);
            }
        };
        while answer.len() < split + 4 + length {
            let n = stream.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        let head = String::from_utf8_lossy(&answer[..split]);
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| PluginError::Unavailable(format!("bad status line: {head}")))?;
        Ok(Response {
            status,
            body: answer[split + 4..].to_vec(),
        })
    }
}
