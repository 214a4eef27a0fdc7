//! The JSON-RPC bridge: InfraKit's wire samples replayed on our sockets, bad requests, socket lifecycle, and remote InfraKit plugins in the router.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use deploykit_host::rpc::sockets::{Bridge, BridgeOptions};
use deploykit_host::{GroupOptions, GroupSpec, Host, Json, Spec};
use deploykit_tests::groups::start_controller;
use deploykit_tests::infrakit::FakeInstancePlugin;
use deploykit_tests::{PluginFolder, no_quarantine};
use serde_json::Value;
use xtask::workspace_root;

/// A plugin folder with InfraKit's names: `file` (instance-file) and `vanilla` (flavor-vanilla).
fn infrakitfolder() -> Result<PluginFolder> {
    let folder = PluginFolder::new()?;
    let file_manifest = std::fs::read_to_string(
        workspace_root().join("sample-plugins/instance-file/instance-file.toml"),
    )?;
    folder.add(
        "instance-file",
        "instance-file",
        Some(&format!("name = \"file\"\n{file_manifest}")),
    )?;
    folder.add(
        "flavor-vanilla",
        "flavor-vanilla",
        Some("name = \"vanilla\"\n"),
    )?;
    Ok(folder)
}

struct Served {
    folder: PluginFolder,
    _state: tempfile::TempDir,
    sockets: tempfile::TempDir,
    host: Host,
    bridge: Option<Bridge>,
}

impl Served {
    fn socket(&self, name: &str) -> PathBuf {
        self.sockets.path().join(name)
    }
}

/// `file`, `vanilla` and the group controller, each on its socket.
fn served() -> Result<Served> {
    let folder = infrakitfolder()?;
    let state = tempfile::tempdir()?;
    let sockets = tempfile::tempdir()?;
    let host = Host::builder()
        .plugin_dir(folder.path())
        .quarantine(no_quarantine())
        .remote_dir(sockets.path())
        .build()?;
    start_controller(
        &host,
        state.path(),
        GroupOptions::default().poll_interval(Duration::from_millis(20)),
    )?;
    let bridge = Bridge::start(&host, sockets.path(), BridgeOptions::default())?;
    Ok(Served {
        folder,
        _state: state,
        sockets,
        host,
        bridge: Some(bridge),
    })
}

/// One raw HTTP exchange: `(status line, headers, body)`.
fn exchange(socket: &Path, raw: &[u8]) -> Result<(String, String, String)> {
    let mut stream = UnixStream::connect(socket)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    // A server refusing an oversized body answers and closes before it is all
    // sent: the write fails, the answer is still there to read.
    if let Err(e) = stream.write_all(raw)
        && e.kind() != std::io::ErrorKind::BrokenPipe
        && e.kind() != std::io::ErrorKind::ConnectionReset
    {
        return Err(e.into());
    }
    let mut out = Vec::new();
    stream.read_to_end(&mut out)?;
    let text = String::from_utf8(out)?;
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        bail!("no HTTP response: {text:?}");
    };
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    Ok((
        status.to_owned(),
        headers.to_ascii_lowercase(),
        body.to_owned(),
    ))
}

fn post_with(socket: &Path, content_type: &str, body: &str) -> Result<(String, String, String)> {
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    exchange(socket, raw.as_bytes())
}

/// POSTs a JSON-RPC body and returns the response body, checking InfraKit's status and content type.
fn post(socket: &Path, body: &str) -> Result<String> {
    let (status, headers, body) = post_with(socket, "application/json", body)?;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: text/plain; charset=utf-8"),
        "{headers}"
    );
    Ok(body)
}

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > Duration::from_secs(20) {
            bail!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// The instance samples of spec §4.1, sent to our `file` socket: the same
/// bytes back, generated instance IDs aside.
#[test]
fn instance_wire_samples_replay_byte_for_byte() -> Result<()> {
    let s = served()?;
    let file = s.socket("file");
    assert_eq!(
        post(
            &file,
            r#"{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":8013013879344048126}"#
        )?,
        "{\"jsonrpc\":\"2.0\",\"result\":{\"Objects\":{\"Instance/0.6.1\":[{\"Name\":\".\",\"ProxyFor\":\"\"}]}},\"id\":8013013879344048126}\n"
    );
    assert_eq!(
        post(
            &file,
            r#"{"jsonrpc":"2.0","method":"Instance.DescribeInstances","params":{},"id":20}"#
        )?,
        "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"Descriptions\":[]},\"id\":20}\n"
    );
    assert_eq!(
        post(
            &file,
            r#"{"jsonrpc":"2.0","method":"Instance.Validate","params":{"Properties":{"note":"hello"}},"id":10}"#
        )?,
        "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"OK\":true},\"id\":10}\n"
    );
    let provisioned = post(
        &file,
        r#"{"jsonrpc":"2.0","method":"Instance.Provision","params":{"Type":"","Spec":{"Properties":{"note":"hello"},"Tags":{"infrakit.group":"demo","tier":"web"},"Init":"echo hi","LogicalID":"node-1","Attachments":[{"ID":"vol-1","Type":"disk"}]}},"id":12}"#,
    )?;
    let id = serde_json::from_str::<Value>(&provisioned)?["result"]["ID"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(id.starts_with("instance-"), "{id}");
    assert_eq!(
        provisioned,
        format!("{{\"jsonrpc\":\"2.0\",\"result\":{{\"Type\":\"\",\"ID\":\"{id}\"}},\"id\":12}}\n")
    );
    assert_eq!(
        post(
            &file,
            r#"{"jsonrpc":"2.0","method":"Instance.DescribeInstances","params":{"Tags":{"tier":"web"},"Properties":true},"id":14}"#
        )?,
        format!(
            "{{\"jsonrpc\":\"2.0\",\"result\":{{\"Type\":\"\",\"Descriptions\":[{{\"ID\":\"{id}\",\"LogicalID\":\"node-1\",\"Tags\":{{\"infrakit.group\":\"demo\",\"tier\":\"web\"}},\"Properties\":{{\"Properties\":{{\"note\":\"hello\"}},\"Tags\":{{\"infrakit.group\":\"demo\",\"tier\":\"web\"}},\"Init\":\"echo hi\",\"LogicalID\":\"node-1\",\"Attachments\":[{{\"ID\":\"vol-1\",\"Type\":\"disk\"}}]}}}}]}},\"id\":14}}\n"
        )
    );
    // What `infrakit local file describe` sent.
    let described = post(
        &file,
        r#"{"jsonrpc":"2.0","method":"Instance.DescribeInstances","params":{"Type":"","Tags":{},"Properties":false},"id":7587758672730184045}"#,
    )?;
    assert!(
        described.starts_with(&format!(
            "{{\"jsonrpc\":\"2.0\",\"result\":{{\"Type\":\"\",\"Descriptions\":[{{\"ID\":\"{id}\",\"LogicalID\":\"node-1\",\"Tags\":{{"
        )) && described.ends_with("}]},\"id\":7587758672730184045}\n"),
        "{described}"
    );
    assert_eq!(
        post(
            &file,
            &format!(
                r#"{{"jsonrpc":"2.0","method":"Instance.Label","params":{{"Instance":"{id}","Labels":{{"owner":"me"}}}},"id":15}}"#
            )
        )?,
        "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"OK\":true},\"id\":15}\n"
    );
    let destroy = |rpc_id: u32| {
        format!(
            r#"{{"jsonrpc":"2.0","method":"Instance.Destroy","params":{{"Instance":"{id}","Context":{{"Reason":"terminate"}}}},"id":{rpc_id}}}"#
        )
    };
    assert_eq!(
        post(&file, &destroy(17))?,
        "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"OK\":true},\"id\":17}\n"
    );
    let again = post(&file, &destroy(18))?;
    assert!(
        again.starts_with("{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"")
            && again.ends_with(&format!(
                "remove /instances/{id}: no such file or directory\",\"data\":null}},\"id\":18}}\n"
            )),
        "{again}"
    );
    assert_eq!(
        post(
            &file,
            r#"{"jsonrpc":"2.0","method":"Instance.Provision","params":{"Type":"nope","Spec":{}},"id":19}"#
        )?,
        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"no-plugin:nope\",\"data\":null},\"id\":19}\n"
    );
    Ok(())
}

/// The flavor samples of spec §4.1 on our `vanilla` socket.
#[test]
fn flavor_wire_samples_replay_byte_for_byte() -> Result<()> {
    let s = served()?;
    let vanilla = s.socket("vanilla");
    let cases = [
        (
            r#"{"jsonrpc":"2.0","method":"Flavor.Prepare","params":{"Properties":{"Init":["echo a","echo b"],"Tags":{"tier":"web"},"Attachments":[{"ID":"a1","Type":"ebs"}]},"Spec":{"Properties":{"x":1},"Tags":{"infrakit.group":"g"},"Init":"echo base"},"Allocation":{"Size":2},"Index":{"Group":"g","Sequence":0}},"id":31}"#,
            r#"{"jsonrpc":"2.0","result":{"Type":"","Spec":{"Properties":{"x":1},"Tags":{"infrakit.group":"g","tier":"web"},"Init":"echo base\necho a\necho b","LogicalID":null,"Attachments":[{"ID":"a1","Type":"ebs"}]}},"id":31}"#,
        ),
        (
            r#"{"jsonrpc":"2.0","method":"Flavor.Healthy","params":{"Properties":{},"Instance":{"ID":"i-1","LogicalID":null,"Tags":{}}},"id":32}"#,
            r#"{"jsonrpc":"2.0","result":{"Type":"","Health":1},"id":32}"#,
        ),
        (
            r#"{"jsonrpc":"2.0","method":"Flavor.Validate","params":{"Properties":{"Init":["echo a"],"Tags":{"tier":"web"}},"Allocation":{"Size":2}},"id":30}"#,
            r#"{"jsonrpc":"2.0","result":{"Type":"","OK":true},"id":30}"#,
        ),
        (
            r#"{"jsonrpc":"2.0","method":"Flavor.Drain","params":{"Properties":{},"Instance":{"ID":"i-1","LogicalID":null,"Tags":{}}},"id":33}"#,
            r#"{"jsonrpc":"2.0","result":{"Type":"","OK":true},"id":33}"#,
        ),
        (
            r#"{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":2}"#,
            r#"{"jsonrpc":"2.0","result":{"Objects":{"Flavor/0.1.1":[{"Name":".","ProxyFor":""}]}},"id":2}"#,
        ),
    ];
    for (request, response) in cases {
        assert_eq!(
            post(&vanilla, request)?,
            format!("{response}\n"),
            "{request}"
        );
    }
    Ok(())
}

/// The group samples of spec §4.1 on our `group` socket, over `file` and
/// `vanilla` reached through their names: a group committed in InfraKit's
/// request shape converges, scales and is destroyed.
#[test]
fn group_committed_over_the_group_socket_converges() -> Result<()> {
    let s = served()?;
    let group = s.socket("group");
    let raw = |method: &str, params: &str| {
        post(
            &group,
            &format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":{params},"id":1}}"#),
        )
    };
    let call = |method: &str, params: &str| -> Result<Value> {
        Ok(serde_json::from_str(&raw(method, params)?)?)
    };
    let result = |json: &str| format!("{{\"jsonrpc\":\"2.0\",\"result\":{json},\"id\":1}}\n");
    assert_eq!(
        raw("Handshake.Hello", "{}")?,
        result(r#"{"Objects":{"Group/0.1.1":[{"Name":".","ProxyFor":""}]}}"#)
    );
    let commit = r#"{"Name":"group-stateless","Spec":{"ID":"cli-g","Properties":{"Allocation":{"Size":1},"Instance":{"Plugin":"file","Properties":{}},"Flavor":{"Plugin":"vanilla","Properties":{}}}},"Pretend":false}"#;
    assert_eq!(
        post(
            &group,
            &format!(
                r#"{{"jsonrpc":"2.0","method":"Group.CommitGroup","params":{commit},"id":9152233926300187964}}"#
            )
        )?,
        "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group-stateless\",\"ID\":\"cli-g\",\"Details\":\"Managing 1 instances\"},\"id\":9152233926300187964}\n"
    );
    let members = |want: usize| -> Result<()> {
        wait_for(&format!("{want} converged members"), || {
            call("Group.DescribeGroup", r#"{"ID":"cli-g"}"#).is_ok_and(|d| {
                let desc = &d["result"]["Description"];
                desc["Converged"] == true
                    && desc["Instances"].as_array().map(Vec::len) == Some(want)
            })
        })
    };
    members(1)?;
    let described = call("Group.DescribeGroup", r#"{"ID":"cli-g"}"#)?;
    assert_eq!(described["result"]["Name"], "");
    assert_eq!(described["result"]["ID"], "cli-g");
    let tags = &described["result"]["Description"]["Instances"][0]["Tags"];
    assert_eq!(tags["infrakit.group"], "cli-g");
    assert!(tags["infrakit.config.hash"].is_string(), "{tags}");
    // The instance really is a file of the `file` plugin.
    let files = s.host.instance("file")?;
    assert_eq!(
        files.describe_instances(&Default::default(), false)?.len(),
        1
    );

    assert_eq!(
        raw("Group.Size", r#"{"ID":"cli-g"}"#)?,
        result(r#"{"Name":"","ID":"cli-g","Size":1}"#)
    );
    assert_eq!(
        raw("Group.SetSize", r#"{"ID":"cli-g","Size":3}"#)?,
        result(r#"{"Name":"","ID":"cli-g"}"#)
    );
    members(3)?;
    let inspected = call("Group.InspectGroups", "{}")?;
    assert_eq!(inspected["result"]["Groups"][0]["ID"], "cli-g");
    assert_eq!(
        inspected["result"]["Groups"][0]["Properties"]["Allocation"]["Size"],
        3
    );
    assert_eq!(
        raw("Group.DestroyGroup", r#"{"ID":"cli-g"}"#)?,
        result(r#"{"Name":"","ID":"cli-g"}"#)
    );
    assert!(
        files
            .describe_instances(&Default::default(), false)?
            .is_empty()
    );
    assert_eq!(
        raw("Group.InspectGroups", "{}")?,
        result(r#"{"Name":"","ID":"","Groups":null}"#)
    );
    assert_eq!(
        post(
            &group,
            r#"{"jsonrpc":"2.0","method":"Group.CommitGroup","params":{},"id":45}"#
        )?,
        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"Group ID must not be blank\",\"data\":null},\"id\":45}\n"
    );
    assert_eq!(
        post(
            &group,
            r#"{"jsonrpc":"2.0","method":"Group.FreeGroup","params":{"ID":"nope"},"id":54}"#
        )?,
        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"Group 'nope' is not being watched\",\"data\":null},\"id\":54}\n"
    );
    Ok(())
}

/// Every kind of bad request gets InfraKit's answer, and the server goes on serving.
#[test]
fn bad_requests_get_infrakit_answers_and_serving_goes_on() -> Result<()> {
    let s = served()?;
    let file = s.socket("file");
    let hello = r#"{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":1}"#;
    // Malformed JSON and notifications: an empty 200.
    assert_eq!(post(&file, "{nope")?, "");
    assert_eq!(
        post(
            &file,
            r#"{"jsonrpc":"2.0","method":"Instance.DescribeInstances","params":{}}"#
        )?,
        ""
    );
    let wrong_version = post(
        &file,
        r#"{"jsonrpc":"1.0","method":"Handshake.Hello","params":{},"id":3}"#,
    )?;
    assert!(
        wrong_version.starts_with(
            "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32600,\"message\":\"jsonrpc must be 2.0\",\"data\":{\"jsonrpc\":\"1.0\""
        ) && wrong_version.ends_with(",\"id\":3}\n"),
        "{wrong_version}"
    );
    let unknown = |method: &str| {
        post(
            &file,
            &format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":{{}},"id":"abc"}}"#),
        )
    };
    assert_eq!(
        unknown("instance.describeInstances")?,
        "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"rpc: can't find service \\\"instance.describeInstances\\\"\",\"data\":null},\"id\":\"abc\"}\n"
    );
    assert!(
        unknown("Instance.Nope")?
            .contains("\"message\":\"rpc: can't find method \\\"Instance.Nope\\\"\""),
    );
    // `file` is no flavor: that service is not on its socket.
    assert!(unknown("Flavor.Prepare")?.contains("can't find service \\\"Flavor.Prepare\\\""));
    let bad_params = post(
        &file,
        r#"{"jsonrpc":"2.0","method":"Instance.Provision","params":{"Spec":{"Tags":[1]}},"id":4}"#,
    )?;
    assert!(
        bad_params.contains(
            "\"code\":-32600,\"message\":\"invalid params for Instance.Provision: Spec.Tags"
        ),
        "{bad_params}"
    );
    // Transport errors.
    let (status, headers, body) = post_with(&file, "text/xml", hello)?;
    assert_eq!(status, "HTTP/1.1 415 Unsupported Media Type");
    assert!(headers.contains("content-type: text/plain; charset=utf-8"));
    assert_eq!(body, "rpc: unrecognized Content-Type: text/xml");
    let (status, _, body) = exchange(
        &file,
        b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    )?;
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    assert_eq!(body, "rpc: POST method required, received GET");
    let huge = format!(
        r#"{{"jsonrpc":"2.0","method":"Instance.Validate","params":{{"Properties":"{}"}},"id":5}}"#,
        "x".repeat(5 << 20)
    );
    let (status, _, _) = post_with(&file, "application/json", &huge)?;
    assert_eq!(status, "HTTP/1.1 413 Payload Too Large");
    // Clients that hang up mid-request.
    {
        let mut half = UnixStream::connect(&file)?;
        half.write_all(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"jsonrpc\":")?;
    }
    {
        let mut half = UnixStream::connect(&file)?;
        half.write_all(b"POST / HT")?;
    }
    // A client that stays connected without sending does not block others.
    let _idle = UnixStream::connect(&file)?;
    assert!(post(&file, hello)?.contains("Instance/0.6.1"));
    // Ids of every JSON kind come back as sent.
    assert!(
        post(
            &file,
            r#"{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":18446744073709551615}"#
        )?
        .ends_with(",\"id\":18446744073709551615}\n")
    );
    assert!(
        post(
            &file,
            r#"{"jsonrpc":"2.0","method":"Handshake.Hello","params":[{}],"id":[1,"x"]}"#
        )?
        .ends_with(",\"id\":[1,\"x\"]}\n")
    );
    Ok(())
}

/// The older handshakes and `/info/api.json` describe what the socket serves.
#[test]
fn older_handshakes_and_the_api_document() -> Result<()> {
    let s = served()?;
    let file = s.socket("file");
    for (method, result) in [
        (
            "Handshake.Implements",
            r#"{"APIs":[{"Name":"Instance","Version":"0.6.1"}]}"#,
        ),
        (
            "Plugin.Implements",
            r#"{"APIs":[{"Name":"Instance","Version":"0.6.1"}]}"#,
        ),
        ("Handshake.Types", r#"{"Types":{"Instance/0.6.1":["."]}}"#),
    ] {
        let body = post(
            &file,
            &format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":{{}},"id":7}}"#),
        )?;
        assert_eq!(
            body,
            format!("{{\"jsonrpc\":\"2.0\",\"result\":{result},\"id\":7}}\n")
        );
    }
    let (status, _, body) = exchange(
        &file,
        b"GET /info/api.json HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    )?;
    assert_eq!(status, "HTTP/1.1 200 OK");
    let api: Value = serde_json::from_str(&body)?;
    assert_eq!(
        api["Implements"].to_string(),
        r#"[{"Name":"Instance","Version":"0.6.1"}]"#
    );
    let methods = api["Interfaces"][0]["Methods"].as_array().unwrap();
    let names: Vec<&str> = methods
        .iter()
        .map(|m| m["Request"]["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Instance.Validate",
            "Instance.Provision",
            "Instance.Label",
            "Instance.Destroy",
            "Instance.DescribeInstances"
        ]
    );
    // The example request carries the plugin's own example properties, and works.
    let provision = &methods[1]["Request"];
    let example = provision["params"]["Spec"]["Properties"].clone();
    assert!(example.is_object(), "{provision}");
    let expected: Value = serde_json::to_value(
        s.host
            .instance("file")?
            .example_properties()?
            .expect("instance-file has example properties"),
    )?;
    assert_eq!(example, expected);
    let validate = serde_json::json!({ "jsonrpc": "2.0", "method": "Instance.Validate", "params": methods[0]["Request"]["params"], "id": 1 });
    assert!(post(&file, &validate.to_string())?.contains("\"OK\":true"));
    let (_, _, group_api) = exchange(
        &s.socket("group"),
        b"GET /info/api.json HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    )?;
    let group_api: Value = serde_json::from_str(&group_api)?;
    assert_eq!(
        group_api["Interfaces"][0]["Methods"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    let (status, _, _) = exchange(
        &file,
        b"GET /info/nope HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    )?;
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    Ok(())
}

/// Loading a plugin adds its socket; unloading removes it; dropping the bridge removes them all.
#[test]
fn sockets_follow_loads_and_unloads() -> Result<()> {
    let mut s = served()?;
    let mut names: Vec<String> = s
        .bridge
        .as_ref()
        .unwrap()
        .sockets()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    names.sort();
    assert_eq!(names, ["file", "group", "vanilla"]);
    let extra = s.folder.add("flavor-vanilla", "second", None)?;
    s.host.load_file(&extra)?;
    let second = s.socket("second");
    wait_for("the new plugin's socket", || {
        post(
            &second,
            r#"{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":1}"#,
        )
        .is_ok_and(|b| b.contains("Flavor/0.1.1"))
    })?;
    let meta = std::fs::metadata(&second)?;
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(s.host.unload("second"));
    wait_for("the socket to go", || !second.exists())?;
    let file = s.socket("file");
    drop(s.bridge.take());
    assert!(!file.exists(), "the bridge removes its sockets");
    Ok(())
}

/// A socket file left by a crash is replaced; a live server of another
/// process keeps its socket and the plugin is reported as not served.
#[test]
fn stale_sockets_are_replaced_and_live_ones_never_stolen() -> Result<()> {
    let folder = infrakitfolder()?;
    let sockets = tempfile::tempdir()?;
    drop(std::os::unix::net::UnixListener::bind(
        sockets.path().join("file"),
    )?);
    assert!(sockets.path().join("file").exists(), "a stale socket file");
    let live = std::os::unix::net::UnixListener::bind(sockets.path().join("vanilla"))?;
    let host = Host::builder().plugin_dir(folder.path()).build()?;
    let bridge = Bridge::start(&host, sockets.path(), BridgeOptions::default())?;
    assert!(
        post(
            &sockets.path().join("file"),
            r#"{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":1}"#
        )?
        .contains("Instance/0.6.1")
    );
    let refused = bridge.refused();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "vanilla");
    assert!(
        refused[0].1.contains("in use by a live server"),
        "{refused:?}"
    );
    // The other process still owns its socket.
    let _client = UnixStream::connect(sockets.path().join("vanilla"))?;
    live.set_nonblocking(true)?;
    assert!(live.accept().is_ok(), "the live server got the connection");
    drop(bridge);
    assert!(
        sockets.path().join("vanilla").exists(),
        "another process's socket is left alone"
    );
    Ok(())
}

/// A group whose instance plugin is an InfraKit plugin of another process:
/// the router finds its socket, handshakes, sends `Type` from `name/type`,
/// and the group converges on it.
#[test]
fn group_converges_on_a_remote_infrakit_plugin() -> Result<()> {
    let s = served()?;
    let fake =
        FakeInstancePlugin::unix(&s.socket("fakefile"), &[("Instance/0.6.1", &["compute"])])?;
    let spec: GroupSpec = serde_json::from_str(
        r#"{"ID":"remote","Properties":{"Allocation":{"Size":3},"Instance":{"Plugin":"fakefile/compute","Properties":{"note":"hi"}},"Flavor":{"Plugin":"vanilla","Properties":{"Tags":{"tier":"web"}}}}}"#,
    )?;
    let group = s.host.group("group")?;
    assert_eq!(group.commit_group(&spec, false)?, "Managing 3 instances");
    wait_for("3 members on the remote plugin", || {
        group
            .describe_group("remote")
            .is_ok_and(|d| d.converged && d.instances.len() == 3)
    })?;
    {
        let state = fake.state.lock().unwrap();
        assert_eq!(state.instances.len(), 3);
        assert_eq!(state.seen[0].method, "Handshake.Hello");
        let provisions: Vec<_> = state
            .seen
            .iter()
            .filter(|r| r.method == "Instance.Provision")
            .collect();
        assert_eq!(provisions.len(), 3);
        for p in provisions {
            assert_eq!(p.params["Type"], "compute");
            assert_eq!(p.params["Spec"]["Tags"]["tier"], "web");
            assert_eq!(p.params["Spec"]["Tags"]["infrakit.group"], "remote");
        }
        // One handshake, cached for every later call.
        let hellos = state
            .seen
            .iter()
            .filter(|r| r.method == "Handshake.Hello")
            .count();
        assert_eq!(hellos, 1);
    }
    group.destroy_group("remote")?;
    assert!(fake.state.lock().unwrap().instances.is_empty());
    Ok(())
}

/// Remote plugins through `<name>.listen` files over TCP, with large
/// (chunked) answers; version mismatches and dead sockets are clear errors.
#[test]
fn listen_files_versions_and_dead_sockets() -> Result<()> {
    let s = served()?;
    let (fake, url) = FakeInstancePlugin::tcp(&[("Instance/0.6.1", &["."])])?;
    std::fs::write(s.socket("tcpfile.listen"), format!("{url}\n"))?;
    let remote = s.host.instance("tcpfile")?;
    let mut spec = Spec {
        properties: Some(Json::new(r#"{"big":true}"#)?),
        ..Spec::default()
    };
    for i in 0..40 {
        spec.tags.insert(
            format!("tag-{i:02}"),
            "a long enough value to pass 2 KiB".into(),
        );
    }
    let ids: Vec<String> = (0..3)
        .map(|_| remote.provision(&spec))
        .collect::<std::result::Result<_, _>>()?;
    // Three descriptions of 40 tags each: well past Go's chunking threshold.
    let described = remote.describe_instances(&Default::default(), false)?;
    assert_eq!(described.len(), 3);
    assert_eq!(described[0].tags.len(), 40);
    remote.destroy(&ids[0], Default::default())?;
    let err = remote.destroy(&ids[0], Default::default()).unwrap_err();
    assert_eq!(
        err.plugin_error().map(|e| e.message().to_owned()),
        Some(format!("remove {}: no such file or directory", ids[0]))
    );
    assert!(fake.methods().contains(&"Instance.Destroy".to_owned()));

    let _old = FakeInstancePlugin::unix(&s.socket("old"), &[("Instance/0.5.0", &["."])])?;
    let err = s.host.instance("old").err().expect("version mismatch");
    assert!(
        err.to_string()
            .ends_with("Plugin supports Instance interface version 0.5.0, client requires 0.6.1"),
        "{err}"
    );
    let _flavor_only = FakeInstancePlugin::unix(&s.socket("flv"), &[("Flavor/0.1.1", &["."])])?;
    let err = s.host.instance("flv").err().expect("no instance interface");
    assert!(
        err.to_string()
            .ends_with("Plugin does not support interface Instance/0.6.1"),
        "{err}"
    );
    drop(std::os::unix::net::UnixListener::bind(s.socket("dead"))?);
    let err = s.host.instance("dead").err().expect("nothing listens");
    assert!(err.to_string().contains("cannot connect"), "{err}");
    let err = s.host.instance("absent").err().expect("no such plugin");
    assert_eq!(err.to_string(), "unknown plugin 'absent'");

    // `plugins ls` material: remote plugins beside the hosted ones, marked.
    // A server that accepts and never answers costs the listing a few
    // seconds, not the 15 s call timeout.
    let _hung = std::os::unix::net::UnixListener::bind(s.socket("hung"))?;
    let started = Instant::now();
    let remote: Vec<_> = s.host.remote_plugins();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let names: Vec<&str> = remote.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["dead", "flv", "hung", "old", "tcpfile"]);
    assert!(
        remote[2]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("timed out"),
        "{:?}",
        remote[2].error
    );
    let tcp = &remote[4];
    assert_eq!(tcp.state, deploykit_host::PluginState::Remote);
    assert_eq!(tcp.address.as_deref(), Some(url.as_str()));
    assert_eq!(tcp.spis, [deploykit_host::Spi::Instance]);
    assert!(
        remote[0]
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("cannot connect")
    );
    Ok(())
}

/// A second host reaches the first one's plugins through their sockets, many
/// calls over kept-alive connections, with the same results as in-process.
#[test]
fn a_host_calls_another_hosts_plugins_through_the_bridge() -> Result<()> {
    let s = served()?;
    let other = Host::builder().remote_dir(s.sockets.path()).build()?;
    let remote = other.instance("file")?;
    let spec: Spec = serde_json::from_str(r#"{"Tags":{"via":"bridge"},"LogicalID":"n-1"}"#)?;
    let ids: Vec<String> = (0..50)
        .map(|_| remote.provision(&spec))
        .collect::<std::result::Result<_, _>>()?;
    let tags = [("via".to_owned(), "bridge".to_owned())].into();
    let through_socket = remote.describe_instances(&tags, true)?;
    let in_process = s.host.instance("file")?.describe_instances(&tags, true)?;
    assert_eq!(through_socket.len(), 50);
    assert_eq!(through_socket, in_process);
    for id in &ids {
        remote.destroy(id, Default::default())?;
    }
    assert!(remote.describe_instances(&tags, false)?.is_empty());
    let flavor = other.flavor("vanilla")?;
    assert_eq!(
        flavor.healthy(&Json::null(), &through_socket[0])?,
        deploykit_host::Health::Healthy
    );
    Ok(())
}
