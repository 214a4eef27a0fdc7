//! Conversions between the generated WIT types and the SDK's plain types.
//!
//! JSON text from the host is taken as it is: the host checks every JSON text
//! it hands to a plugin, and a plugin's [`Json::parse`] still names any fault.

use super::t;
use crate::{
    Allocation, Attachment, Description, DestroyReason, Error, GroupDescription, GroupSpec, Health,
    Index, Json, Spec, Tags,
};

/// JSON text from the host (already checked there).
pub(super) fn json_in(text: String) -> Json {
    Json::from_host(text)
}

/// The WIT list of pairs as a map; a repeated key keeps its last value.
pub(super) fn tags_in(tags: t::Tags) -> Tags {
    tags.into_iter().collect()
}

pub(crate) fn tags_out(tags: Tags) -> t::Tags {
    tags.into_iter().collect()
}

pub(crate) fn spec_in(spec: t::InstanceSpec) -> Spec {
    Spec {
        properties: spec.properties.map(json_in),
        tags: tags_in(spec.tags),
        init: spec.init,
        logical_id: spec.logical_id,
        attachments: spec
            .attachments
            .into_iter()
            .map(|a| Attachment {
                id: a.id,
                kind: a.kind,
            })
            .collect(),
    }
}

pub(crate) fn spec_out(spec: Spec) -> t::InstanceSpec {
    t::InstanceSpec {
        properties: spec.properties.map(|p| p.as_str().to_owned()),
        tags: tags_out(spec.tags),
        init: spec.init,
        logical_id: spec.logical_id,
        attachments: spec
            .attachments
            .into_iter()
            .map(|a| t::Attachment {
                id: a.id,
                kind: a.kind,
            })
            .collect(),
    }
}

pub(crate) fn description_in(d: t::InstanceDescription) -> Description {
    Description {
        id: d.id,
        logical_id: d.logical_id,
        tags: tags_in(d.tags),
        properties: d.properties.map(json_in),
    }
}

pub(crate) fn description_out(d: Description) -> t::InstanceDescription {
    t::InstanceDescription {
        id: d.id,
        logical_id: d.logical_id,
        tags: tags_out(d.tags),
        properties: d.properties.map(|p| p.as_str().to_owned()),
    }
}

pub(super) fn reason_in(reason: t::DestroyReason) -> DestroyReason {
    match reason {
        t::DestroyReason::Terminate => DestroyReason::Terminate,
        t::DestroyReason::RollingUpdate => DestroyReason::RollingUpdate,
    }
}

pub(super) fn allocation_in(a: t::Allocation) -> Allocation {
    Allocation {
        size: a.size,
        logical_ids: a.logical_ids,
    }
}

pub(super) fn index_in(i: t::Index) -> Index {
    Index {
        group: i.group,
        sequence: i.sequence,
    }
}

pub(super) fn health_out(h: Health) -> t::Health {
    match h {
        Health::Unknown => t::Health::Unknown,
        Health::Healthy => t::Health::Healthy,
        Health::Unhealthy => t::Health::Unhealthy,
    }
}

pub(super) fn group_spec_in(spec: t::GroupSpec) -> GroupSpec {
    GroupSpec {
        id: spec.id,
        properties: json_in(spec.properties),
    }
}

pub(super) fn group_spec_out(spec: GroupSpec) -> t::GroupSpec {
    t::GroupSpec {
        id: spec.id,
        properties: spec.properties.as_str().to_owned(),
    }
}

pub(super) fn group_description_out(d: GroupDescription) -> t::GroupDescription {
    t::GroupDescription {
        instances: d.instances.into_iter().map(description_out).collect(),
        converged: d.converged,
    }
}

pub(crate) fn error_in(e: t::Error) -> Error {
    match e {
        t::Error::InvalidInput(m) => Error::InvalidInput(m),
        t::Error::NotFound(m) => Error::NotFound(m),
        t::Error::Unavailable(m) => Error::Unavailable(m),
        t::Error::Internal(m) => Error::Internal(m),
    }
}

pub(super) fn error_out(e: Error) -> t::Error {
    match e {
        Error::InvalidInput(m) => t::Error::InvalidInput(m),
        Error::NotFound(m) => t::Error::NotFound(m),
        Error::Unavailable(m) => t::Error::Unavailable(m),
        Error::Internal(m) => t::Error::Internal(m),
    }
}

/// An allocation for a routed call.
#[cfg_attr(
    not(target_arch = "wasm32"),
    expect(dead_code, reason = "used by the plugins import inside a component")
)]
pub(crate) fn allocation_out(a: &Allocation) -> t::Allocation {
    t::Allocation {
        size: a.size,
        logical_ids: a.logical_ids.clone(),
    }
}

/// An index for a routed call.
#[cfg_attr(
    not(target_arch = "wasm32"),
    expect(dead_code, reason = "used by the plugins import inside a component")
)]
pub(crate) fn index_out(i: &Index) -> t::Index {
    t::Index {
        group: i.group.clone(),
        sequence: i.sequence,
    }
}

/// A destroy reason for a routed call.
#[cfg_attr(
    not(target_arch = "wasm32"),
    expect(dead_code, reason = "used by the plugins import inside a component")
)]
pub(crate) fn reason_out(r: DestroyReason) -> t::DestroyReason {
    match r {
        DestroyReason::Terminate => t::DestroyReason::Terminate,
        DestroyReason::RollingUpdate => t::DestroyReason::RollingUpdate,
    }
}

/// A health from a routed call.
#[cfg_attr(
    not(target_arch = "wasm32"),
    expect(dead_code, reason = "used by the plugins import inside a component")
)]
pub(crate) fn health_in(h: t::Health) -> Health {
    match h {
        t::Health::Unknown => Health::Unknown,
        t::Health::Healthy => Health::Healthy,
        t::Health::Unhealthy => Health::Unhealthy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_survives_a_round_trip() {
        let wire = r#"{"Properties":{"note":"hello"},"Tags":{"a":"1","b":"2"},"Init":"echo hi","LogicalID":"node-1","Attachments":[{"ID":"vol-1","Type":"disk"}]}"#;
        let spec: Spec = serde_json::from_str(wire).unwrap();
        let back = spec_in(spec_out(spec.clone()));
        assert_eq!(back, spec);
    }

    #[test]
    fn repeated_tag_keeps_the_last_value() {
        let tags = tags_in(vec![("k".into(), "1".into()), ("k".into(), "2".into())]);
        assert_eq!(tags.get("k").map(String::as_str), Some("2"));
    }

    #[test]
    fn errors_keep_their_kind() {
        assert!(
            matches!(error_out(Error::NotFound("x".into())), t::Error::NotFound(m) if m == "x")
        );
        assert!(matches!(
            error_out(Error::Unavailable("y".into())),
            t::Error::Unavailable(_)
        ));
    }
}
