//! instance-aws against moto's EC2 emulator, and the outbound HTTP grants that let it (and only it) through.
//!
//! One moto server serves the whole test process (started on first use, on a
//! loopback port the OS picks; it exits with the process). Each test tags its
//! instances with a namespace of its own (the plugin's `namespace` config), so
//! tests running side by side never see each other's instances.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use deploykit_host::{
    DestroyReason, Error, Fault, GROUP_TAG, GroupOptions, Host, Json, PluginError, Spec, Tags,
};
use deploykit_tests::groups::{spec as group_spec, start_controller, wait_for};
use deploykit_tests::{PluginFolder, no_quarantine};
use xtask::moto::MotoServer;

/// The process's moto server.
fn moto() -> Result<&'static MotoServer> {
    static MOTO: OnceLock<std::result::Result<MotoServer, String>> = OnceLock::new();
    MOTO.get_or_init(|| MotoServer::start().map_err(|e| format!("{e:#}")))
        .as_ref()
        .map_err(|e| anyhow!("{e}"))
}

/// A manifest for instance-aws talking to `endpoint`, granting `allow`,
/// with the namespace tag `deploykit-test = <test>` and `extra` lines.
fn manifest(endpoint: &str, allow: &[&str], test: &str, extra: &str) -> String {
    let allow: Vec<String> = allow.iter().map(|a| format!("{a:?}")).collect();
    format!(
        r#"{extra}
[http]
allow = [{allow}]

[config]
region = "us-east-1"
endpoint = "{endpoint}"
access-key-id = "AKIDEXAMPLE"
secret-access-key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
namespace = {{ deploykit-test = "{test}" }}
"#,
        allow = allow.join(", ")
    )
}

/// A host with instance-aws under `manifest` (and flavor-vanilla).
fn aws_host(manifest: &str) -> Result<(PluginFolder, Host)> {
    let folder = PluginFolder::new()?;
    folder.add("instance-aws", "instance-aws", Some(manifest))?;
    folder.add("flavor-vanilla", "flavor-vanilla", None)?;
    let host = Host::builder()
        .plugin_dir(folder.path())
        .quarantine(no_quarantine())
        .build()?;
    Ok((folder, host))
}

/// A host whose instance-aws may reach the test process's moto.
fn granted(test: &str) -> Result<(PluginFolder, Host)> {
    let moto = moto()?;
    aws_host(&manifest(&moto.endpoint(), &[&moto.endpoint()], test, ""))
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn web_spec(logical_id: Option<&str>) -> Spec {
    Spec {
        properties: Some(
            Json::new(
                r#"{"Tags":{"tier":"web"},"RunInstancesInput":{"ImageId":"ami-12c6146b","InstanceType":"t3.micro",
                    "SecurityGroups":["default"],"Placement":{"AvailabilityZone":"us-east-1a"}}}"#,
            )
            .expect("valid JSON"),
        ),
        tags: tags(&[("role", "frontend")]),
        init: "#!/bin/sh\necho hello from init".into(),
        logical_id: logical_id.map(Into::into),
        ..Spec::default()
    }
}

/// Sends one EC2 query straight to moto (moto does not check signatures,
/// so a syntactically valid Authorization header is enough) and returns the XML.
fn moto_query(params: &str) -> Result<String> {
    let moto = moto()?;
    let mut stream = TcpStream::connect(("127.0.0.1", moto.port()))?;
    let body = format!("{params}&Version=2016-11-15");
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        moto.port(),
        body.len()
    )?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    Ok(answer)
}

/// How many instances of namespace `test` moto holds in `state`.
fn moto_count(test: &str, state: &str) -> Result<usize> {
    let xml = moto_query(&format!(
        "Action=DescribeInstances&Filter.1.Name=tag:deploykit-test&Filter.1.Value.1={test}\
         &Filter.2.Name=instance-state-name&Filter.2.Value.1={state}"
    ))?;
    Ok(xml.matches("<instanceId>").count())
}

/// The plugin's own error of a failed call.
fn plugin_error(result: deploykit_host::Result<impl std::fmt::Debug>) -> PluginError {
    match result {
        Err(Error::Plugin { source, .. }) => source,
        other => panic!("expected the plugin's error, got {other:?}"),
    }
}

/// Captures what the host logs on this thread while `f` runs.
fn logs_of<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
    (out, text)
}

#[test]
fn provision_describe_label_and_destroy_on_moto() -> Result<()> {
    let test = "crud";
    let (_folder, host) = granted(test)?;
    let aws = host.instance("instance-aws")?;
    aws.validate(web_spec(None).properties.as_ref().unwrap())?;

    let web = aws.provision(&web_spec(Some("172.31.0.10")))?;
    let mut db_spec = web_spec(None);
    db_spec.tags = tags(&[("role", "db")]);
    let db = aws.provision(&db_spec)?;
    assert!(web.starts_with("i-") && db.starts_with("i-"), "{web} {db}");

    // Every tag applied at launch: the properties', the spec's, the namespace.
    let all = aws.describe_instances(&Tags::new(), true)?;
    assert_eq!(all.len(), 2, "{all:?}");
    let frontends = aws.describe_instances(&tags(&[("role", "frontend")]), false)?;
    assert_eq!(frontends.len(), 1);
    let d = &frontends[0];
    assert_eq!(d.id, web);
    assert_eq!(
        d.logical_id.as_deref(),
        Some("172.31.0.10"),
        "LogicalID is the private IP"
    );
    assert_eq!(d.tags["tier"], "web");
    assert_eq!(d.tags["deploykit-test"], test);
    assert!(d.properties.is_none());
    let with_props = all.iter().find(|d| d.id == web).unwrap();
    let props: serde_json::Value = with_props.properties.as_ref().unwrap().parse()?;
    assert_eq!(props["ImageId"], "ami-12c6146b");
    assert_eq!(props["InstanceType"], "t3.micro");

    // Init became base64 UserData.
    let attribute = moto_query(&format!(
        "Action=DescribeInstanceAttribute&InstanceId={web}&Attribute=userData"
    ))?;
    assert!(
        attribute.contains("IyEvYmluL3NoCmVjaG8gaGVsbG8gZnJvbSBpbml0"),
        "{attribute}"
    );

    aws.label(&db, &tags(&[("role", "replica"), ("owner", "ops")]))?;
    let replicas = aws.describe_instances(&tags(&[("role", "replica")]), false)?;
    assert_eq!(replicas.len(), 1);
    assert_eq!(replicas[0].tags["owner"], "ops");
    assert_eq!(replicas[0].tags["tier"], "web", "label merges");
    assert!(
        aws.describe_instances(&tags(&[("role", "db")]), false)?
            .is_empty()
    );

    aws.destroy(&web, DestroyReason::Terminate)?;
    let left = aws.describe_instances(&Tags::new(), false)?;
    assert_eq!(
        left.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [db.as_str()],
        "terminated instances are not described"
    );
    assert_eq!(moto_count(test, "terminated")?, 1);
    let unknown = plugin_error(aws.destroy("i-0123456789abcdef0", DestroyReason::Terminate));
    assert!(
        matches!(&unknown, PluginError::NotFound(m) if m.contains("InvalidInstanceID.NotFound")),
        "{unknown:?}"
    );
    aws.destroy(&db, DestroyReason::Terminate)?;
    assert!(aws.describe_instances(&Tags::new(), false)?.is_empty());
    Ok(())
}

#[test]
fn describe_follows_next_token_across_pages() -> Result<()> {
    let test = "pages";
    let moto = moto()?;
    let (_folder, host) = aws_host(
        &manifest(&moto.endpoint(), &[&moto.endpoint()], test, "")
            .replace("[config]\n", "[config]\npage-size = 5\n"),
    )?;
    let aws = host.instance("instance-aws")?;
    let mut ids: Vec<String> = (0..7)
        .map(|_| aws.provision(&web_spec(None)))
        .collect::<deploykit_host::Result<_>>()?;
    ids.sort();
    let found: Vec<String> = aws
        .describe_instances(&Tags::new(), false)?
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(found, ids, "7 instances at 5 a page");
    for id in &ids {
        aws.destroy(id, DestroyReason::Terminate)?;
    }
    Ok(())
}

#[test]
fn a_group_of_five_converges_on_instance_aws_and_is_destroyed() -> Result<()> {
    let test = "group";
    let (_folder, host) = granted(test)?;
    let state = tempfile::tempdir()?;
    let controller = start_controller(
        &host,
        state.path(),
        GroupOptions::default().poll_interval(Duration::from_millis(100)),
    )?;
    let group = host.group("group")?;
    let properties = r#"{"Allocation":{"Size":5},
        "Instance":{"Plugin":"instance-aws","Properties":{"Tags":{"tier":"workers"},
            "RunInstancesInput":{"ImageId":"ami-12c6146b","InstanceType":"t3.micro"}}},
        "Flavor":{"Plugin":"flavor-vanilla","Properties":{"Init":["echo hello"],"Tags":{"flavor":"vanilla"}}}}"#;
    assert_eq!(
        group.commit_group(&group_spec("workers", properties), false)?,
        "Managing 5 instances"
    );
    wait_for("the group on instance-aws to converge", || {
        group
            .describe_group("workers")
            .map(|d| d.converged)
            .unwrap_or(false)
    })?;
    let members = host
        .instance("instance-aws")?
        .describe_instances(&tags(&[(GROUP_TAG, "workers")]), false)?;
    assert_eq!(members.len(), 5, "{members:?}");
    for m in &members {
        assert_eq!(m.tags["tier"], "workers");
        assert_eq!(m.tags["flavor"], "vanilla");
    }
    assert_eq!(moto_count(test, "running")?, 5);

    group.destroy_group("workers")?;
    assert!(
        host.instance("instance-aws")?
            .describe_instances(&Tags::new(), false)?
            .is_empty()
    );
    assert_eq!(moto_count(test, "terminated")?, 5);
    controller.shutdown();
    Ok(())
}

#[test]
fn without_a_grant_the_plugin_cannot_reach_the_emulator() -> Result<()> {
    let test = "no-grant";
    let moto = moto()?;
    let (_folder, host) = aws_host(&manifest(&moto.endpoint(), &[], test, ""))?;
    let aws = host.instance("instance-aws")?;
    let (result, logs) = logs_of(|| aws.provision(&web_spec(None)));
    let err = plugin_error(result);
    assert!(
        matches!(&err, PluginError::Unavailable(m) if m.contains("HTTP request denied by the host")),
        "{err:?}"
    );
    assert!(
        logs.contains("outbound HTTP request denied")
            && logs.contains("plugin=instance-aws")
            && logs.contains("host=127.0.0.1"),
        "the host names plugin and host: {logs}"
    );
    assert_eq!(moto_count(test, "running")?, 0, "nothing reached moto");
    Ok(())
}

#[test]
fn a_grant_for_another_host_does_not_open_this_one() -> Result<()> {
    let test = "other-host";
    let moto = moto()?;
    let port = moto.port();
    // The same server under another name, another loopback address, another
    // port, the other scheme, and a real AWS endpoint: none is this endpoint.
    let others = [
        format!("http://localhost:{port}"),
        format!("http://127.0.0.2:{port}"),
        "http://127.0.0.1:1".to_string(),
        format!("https://127.0.0.1:{port}"),
        "https://ec2.*.amazonaws.com".to_string(),
    ];
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    let (_folder, host) = aws_host(&manifest(&moto.endpoint(), &others, test, ""))?;
    let err = plugin_error(
        host.instance("instance-aws")?
            .describe_instances(&Tags::new(), false),
    );
    assert!(
        matches!(&err, PluginError::Unavailable(m) if m.contains("HTTP request denied by the host")),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn a_response_larger_than_the_cap_fails_inside_the_plugin() -> Result<()> {
    let test = "cap";
    let moto = moto()?;
    let (_folder, host) = aws_host(
        &manifest(&moto.endpoint(), &[&moto.endpoint()], test, "")
            .replace("[http]\n", "[http]\nmax-response-kib = 1\n"),
    )?;
    // RunInstances answers with a few KiB of XML.
    let err = plugin_error(host.instance("instance-aws")?.provision(&web_spec(None)));
    assert!(
        matches!(&err, PluginError::Unavailable(m) if m.contains("larger than the host allows")),
        "{err:?}"
    );
    assert_eq!(
        moto_count(test, "running")?,
        1,
        "the request went through; its answer did not"
    );
    Ok(())
}

#[test]
fn a_hung_endpoint_ends_at_the_call_deadline() -> Result<()> {
    // A server that accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let endpoint = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let holder = std::thread::spawn(move || {
        let mut held = Vec::new();
        listener.set_nonblocking(true)?;
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until && held.is_empty() {
            match listener.accept() {
                Ok((socket, _)) => held.push(socket),
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        // Hold the connection past the plugin's deadline, then let go.
        std::thread::sleep(Duration::from_secs(2));
        Ok::<usize, std::io::Error>(held.len())
    });
    let (_folder, host) = aws_host(&manifest(
        &endpoint,
        &[&endpoint],
        "hung",
        "[limits]\ndeadline = \"300ms\"\n",
    ))?;
    let aws = host.instance("instance-aws")?;
    let started = Instant::now();
    let result = aws.describe_instances(&Tags::new(), false);
    let took = started.elapsed();
    match result {
        Err(Error::Fault { fault, .. }) => assert_eq!(
            fault,
            Fault::DeadlineExceeded {
                deadline: Duration::from_millis(300)
            }
        ),
        other => panic!("expected the deadline fault, got {other:?}"),
    }
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(2),
        "took {took:?}"
    );
    let held = holder
        .join()
        .map_err(|_| anyhow!("the holder panicked"))?
        .context("the hung server")?;
    assert_eq!(held, 1, "the plugin did connect");
    Ok(())
}
