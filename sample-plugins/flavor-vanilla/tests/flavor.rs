//! The vanilla flavor natively, including InfraKit's live `Flavor.Prepare` wire sample.

use deploykit_sdk::{Allocation, Description, Error, FlavorPlugin, Health, Index, Json, Spec};
use flavor_vanilla::Vanilla;

fn json(text: &str) -> Json {
    Json::new(text).unwrap()
}

fn prepare(properties: &str, spec: &str) -> deploykit_sdk::Result<Spec> {
    let spec: Spec = serde_json::from_str(spec).unwrap();
    let index = Index {
        group: "g".into(),
        sequence: 0,
    };
    Vanilla.prepare(
        &json(properties),
        spec,
        &Allocation {
            size: 2,
            logical_ids: vec![],
        },
        &index,
    )
}

#[test]
fn prepare_matches_the_infrakit_wire_sample() {
    let spec = prepare(
        r#"{"Init":["echo a","echo b"],"Tags":{"tier":"web"},"Attachments":[{"ID":"a1","Type":"ebs"}]}"#,
        r#"{"Properties":{"x":1},"Tags":{"infrakit.group":"g"},"Init":"echo base"}"#,
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&spec).unwrap(),
        r#"{"Properties":{"x":1},"Tags":{"infrakit.group":"g","tier":"web"},"Init":"echo base\necho a\necho b","LogicalID":null,"Attachments":[{"ID":"a1","Type":"ebs"}]}"#
    );
}

#[test]
fn an_empty_spec_init_adds_no_blank_line() {
    let spec = prepare(r#"{"Init":["echo a","echo b"]}"#, "{}").unwrap();
    assert_eq!(spec.init, "echo a\necho b");
}

#[test]
fn no_init_lines_keep_the_spec_init() {
    let spec = prepare("{}", r#"{"Init":"echo base"}"#).unwrap();
    assert_eq!(spec.init, "echo base");
    let spec = prepare("null", "{}").unwrap();
    assert_eq!(spec.init, "");
}

#[test]
fn flavor_tags_win_and_attachments_are_appended() {
    let spec = prepare(
        r#"{"Tags":{"tier":"web","new":"1"},"Attachments":[{"ID":"b","Type":"nic"}]}"#,
        r#"{"Tags":{"tier":"db","keep":"yes"},"Attachments":[{"ID":"a","Type":"ebs"}]}"#,
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&spec.tags).unwrap(),
        r#"{"keep":"yes","new":"1","tier":"web"}"#
    );
    let ids: Vec<_> = spec.attachments.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["a", "b"]);
}

#[test]
fn null_fields_are_empty() {
    let spec = prepare(
        r#"{"Init":null,"Tags":null,"Attachments":null}"#,
        r#"{"Init":"x"}"#,
    )
    .unwrap();
    assert_eq!(spec.init, "x");
    assert!(spec.tags.is_empty() && spec.attachments.is_empty());
}

#[test]
fn validate_refuses_both_init_forms() {
    let alloc = Allocation {
        size: 2,
        logical_ids: vec![],
    };
    Vanilla
        .validate(
            &json(r#"{"Init":["echo a"],"Tags":{"tier":"web"}}"#),
            &alloc,
        )
        .unwrap();
    Vanilla.validate(&Json::null(), &alloc).unwrap();
    let err = Vanilla
        .validate(
            &json(r#"{"Init":["echo a"],"InitScriptTemplateURL":"file:///t"}"#),
            &alloc,
        )
        .unwrap_err();
    assert_eq!(
        err,
        Error::InvalidInput(
            r#"Either "Init" or "InitScriptTemplateURL" can be specified but not both"#.into()
        )
    );
}

#[test]
fn templates_are_unavailable() {
    let alloc = Allocation::default();
    let props = json(r#"{"InitScriptTemplateURL":"https://example.invalid/init.tpl"}"#);
    assert!(
        matches!(Vanilla.validate(&props, &alloc), Err(Error::Unavailable(m)) if m.contains("not supported"))
    );
    let err = prepare(
        r#"{"InitScriptTemplateURL":"https://example.invalid/init.tpl"}"#,
        "{}",
    )
    .unwrap_err();
    assert!(matches!(err, Error::Unavailable(m) if m.contains("https://example.invalid/init.tpl")));
}

#[test]
fn bad_properties_name_the_field() {
    let err = prepare(r#"{"Init":["ok",3]}"#, "{}").unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput(m) if m.starts_with("invalid properties: Init[1]")),
        "{err:?}"
    );
}

#[test]
fn healthy_and_drain() {
    let inst = Description {
        id: "i-1".into(),
        ..Description::default()
    };
    assert_eq!(
        Vanilla.healthy(&json("{}"), &inst).unwrap(),
        Health::Healthy
    );
    Vanilla.drain(&json("{}"), &inst).unwrap();
}
