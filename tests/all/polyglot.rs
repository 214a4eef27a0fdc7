//! The Python and JavaScript samples in the host: the same behaviour as the Rust samples, guest errors and traps.
//!
//! Compiling an 18 MB Python or 12 MB JavaScript component takes seconds, so
//! every test here shares one host that loads each plugin once per process.
//! The Python plugin keeps its instances in memory, so only one test uses it.

use std::sync::OnceLock;

use anyhow::Result;
use deploykit_host::wire::{call_flavor, call_instance};
use deploykit_host::{DestroyReason, Error, Fault, Health, Host, Json, PluginError, Spec, Tags};
use deploykit_tests::{PluginFolder, no_quarantine};
use serde_json::{Value, json};

const PY: &str = "instance-memory-py";
const JS: &str = "flavor-vanilla-js";

/// One host with both polyglot samples and the Rust vanilla flavor, for the
/// whole process. The folder is deleted once loaded: the host keeps the
/// compiled plugins.
fn shared() -> &'static Host {
    static HOST: OnceLock<Result<Host, String>> = OnceLock::new();
    HOST.get_or_init(|| {
        let load = || -> Result<Host> {
            let folder = PluginFolder::new()?;
            folder.add_polyglot(PY)?;
            folder.add_polyglot(JS)?;
            folder.add("flavor-vanilla", "flavor-vanilla", None)?;
            let host = Host::builder().quarantine(no_quarantine()).build()?;
            // The two big components compile at the same time.
            std::thread::scope(|s| {
                let loads: Vec<_> = [PY, JS, "flavor-vanilla"]
                    .map(|name| {
                        let (host, path) = (&host, folder.path().join(format!("{name}.wasm")));
                        s.spawn(move || host.load_file(&path).map(drop))
                    })
                    .into_iter()
                    .collect();
                loads
                    .into_iter()
                    .try_for_each(|l| l.join().expect("a load thread panicked"))
            })?;
            Ok(host)
        };
        load().map_err(|e| format!("{e:#}"))
    })
    .as_ref()
    .map_err(|e| anyhow::anyhow!("{e}"))
    .expect("the polyglot plugins load")
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn props(value: Value) -> Option<Json> {
    Some(Json::new(value.to_string()).unwrap())
}

/// The Python plugin end to end: every operation, its guest errors, a trap,
/// and the fresh (empty) instance after it. One test, because the state is
/// the instance's.
#[test]
fn python_instance_plugin_keeps_instances_in_one_instance() -> Result<()> {
    let host = shared();
    let py = host.instance(PY)?;
    assert_eq!(
        host.plugins()
            .iter()
            .find(|p| p.name == PY)
            .and_then(|p| p.limits.as_ref())
            .map(|l| l.pool_size),
        Some(1),
        "the shipped manifest keeps one warm instance"
    );

    py.validate(&Json::new(r#"{"note":"x"}"#)?)?;
    py.validate(&Json::new("null")?)?;
    for (bad, kind) in [
        ("[1,2]", "an array"),
        (r#""text""#, "a string"),
        ("7", "a number"),
    ] {
        match py.validate(&Json::new(bad)?) {
            Err(Error::Plugin {
                source: PluginError::InvalidInput(m),
                ..
            }) => assert_eq!(m, format!("properties must be a JSON object, not {kind}")),
            other => panic!("{bad}: expected invalid-input, got {other:?}"),
        }
    }

    let spec = Spec {
        properties: props(json!({"note": "hello"})),
        tags: tags(&[("tier", "web"), ("infrakit.group", "demo")]),
        init: "echo hi".into(),
        logical_id: Some("node-1".into()),
        ..Spec::default()
    };
    let a = py.provision(&spec)?;
    let b = py.provision(&Spec {
        tags: tags(&[("tier", "db"), ("infrakit.logical_id", "10.0.0.9")]),
        ..Spec::default()
    })?;
    assert_eq!((a.as_str(), b.as_str()), ("instance-1", "instance-2"));

    let web = py.describe_instances(&tags(&[("tier", "web")]), false)?;
    assert_eq!(web.len(), 1);
    assert_eq!(web[0].id, a);
    assert_eq!(web[0].logical_id.as_deref(), Some("node-1"));
    assert!(web[0].properties.is_none(), "properties only when asked");
    let all = py.describe_instances(&Tags::new(), false)?;
    assert_eq!(all.len(), 2, "no filter matches all");
    assert_eq!(
        all[1].logical_id.as_deref(),
        Some("10.0.0.9"),
        "the logical ID falls back to the infrakit.logical_id tag"
    );
    assert!(
        py.describe_instances(
            &tags(&[("tier", "web"), ("infrakit.group", "other")]),
            false
        )?
        .is_empty(),
        "AND filter"
    );
    let with_props = py.describe_instances(&tags(&[("tier", "web")]), true)?;
    let stored: Value = serde_json::from_str(with_props[0].properties.as_ref().unwrap().as_str())?;
    assert_eq!(stored["Properties"], json!({"note": "hello"}));
    assert_eq!(stored["Init"], "echo hi");

    py.label(&a, &tags(&[("owner", "me"), ("tier", "edge")]))?;
    let labelled = py.describe_instances(&tags(&[("owner", "me")]), false)?;
    assert_eq!(
        labelled[0].tags,
        tags(&[
            ("infrakit.group", "demo"),
            ("owner", "me"),
            ("tier", "edge")
        ]),
        "label merges"
    );

    // A guest-raised error: componentize_py_types.Err(Error_NotFound(..)).
    py.destroy(&a, DestroyReason::Terminate)?;
    assert_eq!(py.describe_instances(&Tags::new(), false)?.len(), 1);
    match py.destroy(&a, DestroyReason::RollingUpdate) {
        Err(Error::Plugin {
            source: PluginError::NotFound(m),
            ..
        }) => assert_eq!(m, "destroy instance-1: no such instance"),
        other => panic!("expected not-found, got {other:?}"),
    }
    assert!(matches!(
        py.label("instance-9", &Tags::new())
            .unwrap_err()
            .plugin_error(),
        Some(PluginError::NotFound(_))
    ));

    // The InfraKit wire format, as for instance-file.
    let described = call_instance(
        py.as_ref(),
        "DescribeInstances",
        r#"{"Tags":{"tier":"db"}}"#,
    )?;
    assert_eq!(
        serde_json::from_str::<Value>(&described)?,
        json!({"Type": "", "Descriptions": [{"ID": b, "LogicalID": "10.0.0.9", "Tags": {"infrakit.logical_id": "10.0.0.9", "tier": "db"}}]})
    );

    // An uncaught Python exception traps the component: a fault, not a plugin error.
    let crash = py.provision(&Spec {
        properties: props(json!({"act": "crash"})),
        ..Spec::default()
    });
    let fault = match crash {
        Err(Error::Fault { fault, .. }) => fault,
        other => panic!("expected a fault, got {other:?}"),
    };
    // componentize-py prints the traceback to stderr, then its runtime panics
    // with a generic message: the fault names the exception instead.
    assert_eq!(
        fault,
        Fault::Panic {
            message:
                "uncaught Python exception: RuntimeError: instance-memory-py was asked to crash"
                    .into()
        }
    );

    // The trapped instance was dropped: the next call gets a fresh, empty one.
    assert!(py.describe_instances(&Tags::new(), false)?.is_empty());
    assert_eq!(py.provision(&Spec::default())?, "instance-1");
    Ok(())
}

/// The Rust and JavaScript vanilla flavors give the same answers, byte for
/// byte on InfraKit's wire, errors included.
#[test]
fn javascript_flavor_matches_the_rust_vanilla_flavor() -> Result<()> {
    let host = shared();
    let rust = host.flavor("flavor-vanilla")?;
    let js = host.flavor(JS)?;
    let calls = [
        (
            "Prepare",
            r#"{"Properties":{"Init":["echo a","echo b"],"Tags":{"tier":"web"},"Attachments":[{"ID":"a1","Type":"ebs"}]},"Spec":{"Properties":{"x":1},"Tags":{"infrakit.group":"g","tier":"db"},"Init":"echo base","LogicalID":"n1","Attachments":[{"ID":"a0","Type":"nic"}]},"Allocation":{"Size":2},"Index":{"Group":"g","Sequence":0}}"#,
        ),
        (
            "Prepare",
            r#"{"Properties":null,"Spec":{"Tags":{"x":"1"}},"Allocation":{"Size":1},"Index":{"Group":"g","Sequence":0}}"#,
        ),
        (
            "Prepare",
            r#"{"Properties":{"Init":["only"]},"Spec":{"Init":""},"Allocation":{"Size":1},"Index":{"Group":"g","Sequence":0}}"#,
        ),
        (
            "Validate",
            r#"{"Properties":{"Init":["echo a"],"Tags":{"tier":"web"}},"Allocation":{"Size":2}}"#,
        ),
        (
            "Validate",
            r#"{"Properties":{"Init":["a"],"InitScriptTemplateURL":"http://x"},"Allocation":{"Size":2}}"#,
        ),
        (
            "Validate",
            r#"{"Properties":{"InitScriptTemplateURL":"http://x"},"Allocation":{"Size":2}}"#,
        ),
        (
            "Healthy",
            r#"{"Properties":{},"Instance":{"ID":"i-1","LogicalID":null,"Tags":{}}}"#,
        ),
        (
            "Drain",
            r#"{"Properties":{},"Instance":{"ID":"i-1","LogicalID":null,"Tags":{}}}"#,
        ),
    ];
    for (method, params) in calls {
        let expected = call_flavor(rust.as_ref(), method, params).map_err(|e| e.to_string());
        let got = call_flavor(js.as_ref(), method, params).map_err(|e| e.to_string());
        assert_eq!(
            got,
            expected.map_err(|e| e.replace("'flavor-vanilla'", &format!("'{JS}'"))),
            "{method} {params}"
        );
    }
    assert_eq!(
        call_flavor(js.as_ref(), "Healthy", calls[6].1)?,
        r#"{"Type":"","Health":1}"#
    );
    Ok(())
}

/// The JavaScript flavor through the typed API: prepare, a thrown WIT error
/// variant, health.
#[test]
fn javascript_flavor_prepares_and_raises_wit_errors() -> Result<()> {
    let js = shared().flavor(JS)?;
    let props = Json::new(
        r#"{"Init":["echo a"],"Tags":{"tier":"web"},"Attachments":[{"ID":"a1","Type":"ebs"}]}"#,
    )?;
    let spec = Spec {
        init: "echo base".into(),
        tags: tags(&[("tier", "db"), ("x", "1")]),
        ..Spec::default()
    };
    let prepared = js.prepare(&props, &spec, &Default::default(), &Default::default())?;
    assert_eq!(prepared.init, "echo base\necho a");
    assert_eq!(
        prepared.tags,
        tags(&[("tier", "web"), ("x", "1")]),
        "flavor tags win"
    );
    assert_eq!(prepared.attachments.len(), 1);
    assert_eq!(prepared.attachments[0].kind, "ebs");

    // `throw {tag: "invalid-input", val: …}` is the error case of the result.
    let both = Json::new(r#"{"Init":["a"],"InitScriptTemplateURL":"http://x"}"#)?;
    match js.validate(&both, &Default::default()) {
        Err(Error::Plugin {
            source: PluginError::InvalidInput(m),
            ..
        }) => assert_eq!(
            m,
            r#"Either "Init" or "InitScriptTemplateURL" can be specified but not both"#
        ),
        other => panic!("expected invalid-input, got {other:?}"),
    }
    let template = Json::new(r#"{"InitScriptTemplateURL":"http://x"}"#)?;
    assert!(matches!(
        js.prepare(&template, &spec, &Default::default(), &Default::default())
            .unwrap_err()
            .plugin_error(),
        Some(PluginError::Unavailable(_))
    ));
    let d = deploykit_host::Description {
        id: "i-1".into(),
        ..Default::default()
    };
    assert_eq!(js.healthy(&props, &d)?, Health::Healthy);
    js.drain(&props, &d)?;
    Ok(())
}

/// A JavaScript exception that is not a WIT error variant traps the
/// component; the next call runs on a fresh instance.
#[test]
fn javascript_exception_is_a_fault_and_the_next_call_succeeds() -> Result<()> {
    let js = shared().flavor(JS)?;
    let spec = Spec {
        init: "echo base".into(),
        ..Spec::default()
    };
    let crash = Json::new(r#"{"crash":true}"#)?;
    let fault = match js.prepare(&crash, &spec, &Default::default(), &Default::default()) {
        Err(Error::Fault { fault, .. }) => fault,
        other => panic!("expected a fault, got {other:?}"),
    };
    // StarlingMonkey prints "invalid variant tag value `undefined` (received
    // `Error: …`) specified for `Error`" and a stack to stderr, then aborts
    // (an `unreachable` trap): the fault names the thrown error.
    assert_eq!(fault.kind(), "panic", "{fault}");
    assert_eq!(
        fault.to_string(),
        "guest panic: uncaught JavaScript error: Error: flavor-vanilla-js was asked to crash (group )"
    );
    let ok = Json::new(r#"{"Init":["echo a"]}"#)?;
    let prepared = js.prepare(&ok, &spec, &Default::default(), &Default::default())?;
    assert_eq!(prepared.init, "echo base\necho a");
    Ok(())
}
