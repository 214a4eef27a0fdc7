//! Conversions between the latest WIT types and the SDK's plain types (every version shares these types).

use deploykit_sdk as sdk;

use super::wit;

/// Tags as a WIT list.
pub(crate) fn tags_to_wit(tags: &sdk::Tags) -> Vec<(String, String)> {
    tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// A WIT tag list as sorted tags; a repeated key keeps its last value.
pub(crate) fn tags_from_wit(tags: Vec<(String, String)>) -> sdk::Tags {
    tags.into_iter().collect()
}

/// A JSON field from a plugin, checked to be JSON.
fn json_from_wit(what: &str, text: String) -> Result<sdk::Json, sdk::Error> {
    sdk::Json::new(text).map_err(|e| {
        sdk::Error::Internal(format!("plugin returned {what} that is {}", e.message()))
    })
}

pub(crate) fn spec_to_wit(spec: &sdk::Spec) -> wit::InstanceSpec {
    wit::InstanceSpec {
        properties: spec.properties.as_ref().map(|p| p.as_str().to_owned()),
        tags: tags_to_wit(&spec.tags),
        init: spec.init.clone(),
        logical_id: spec.logical_id.clone(),
        attachments: spec
            .attachments
            .iter()
            .map(|a| wit::Attachment {
                id: a.id.clone(),
                kind: a.kind.clone(),
            })
            .collect(),
    }
}

pub(crate) fn spec_from_wit(spec: wit::InstanceSpec) -> Result<sdk::Spec, sdk::Error> {
    Ok(sdk::Spec {
        properties: spec
            .properties
            .map(|p| json_from_wit("spec properties", p))
            .transpose()?,
        tags: tags_from_wit(spec.tags),
        init: spec.init,
        logical_id: spec.logical_id,
        attachments: spec
            .attachments
            .into_iter()
            .map(|a| sdk::Attachment {
                id: a.id,
                kind: a.kind,
            })
            .collect(),
    })
}

pub(crate) fn description_to_wit(d: &sdk::Description) -> wit::InstanceDescription {
    wit::InstanceDescription {
        id: d.id.clone(),
        logical_id: d.logical_id.clone(),
        tags: tags_to_wit(&d.tags),
        properties: d.properties.as_ref().map(|p| p.as_str().to_owned()),
    }
}

pub(crate) fn description_from_wit(
    d: wit::InstanceDescription,
) -> Result<sdk::Description, sdk::Error> {
    Ok(sdk::Description {
        id: d.id,
        logical_id: d.logical_id,
        tags: tags_from_wit(d.tags),
        properties: d
            .properties
            .map(|p| json_from_wit("instance properties", p))
            .transpose()?,
    })
}

pub(crate) fn reason_to_wit(r: sdk::DestroyReason) -> wit::DestroyReason {
    match r {
        sdk::DestroyReason::Terminate => wit::DestroyReason::Terminate,
        sdk::DestroyReason::RollingUpdate => wit::DestroyReason::RollingUpdate,
    }
}

pub(crate) fn allocation_to_wit(a: &sdk::Allocation) -> wit::Allocation {
    wit::Allocation {
        size: a.size,
        logical_ids: a.logical_ids.clone(),
    }
}

pub(crate) fn index_to_wit(i: &sdk::Index) -> wit::Index {
    wit::Index {
        group: i.group.clone(),
        sequence: i.sequence,
    }
}

pub(crate) fn health_from_wit(h: wit::Health) -> sdk::Health {
    match h {
        wit::Health::Unknown => sdk::Health::Unknown,
        wit::Health::Healthy => sdk::Health::Healthy,
        wit::Health::Unhealthy => sdk::Health::Unhealthy,
    }
}

pub(crate) fn group_spec_to_wit(s: &sdk::GroupSpec) -> wit::GroupSpec {
    wit::GroupSpec {
        id: s.id.clone(),
        properties: s.properties.as_str().to_owned(),
    }
}

pub(crate) fn group_spec_from_wit(s: wit::GroupSpec) -> Result<sdk::GroupSpec, sdk::Error> {
    Ok(sdk::GroupSpec {
        id: s.id,
        properties: json_from_wit("group properties", s.properties)?,
    })
}

pub(crate) fn group_description_from_wit(
    d: wit::GroupDescription,
) -> Result<sdk::GroupDescription, sdk::Error> {
    Ok(sdk::GroupDescription {
        instances: d
            .instances
            .into_iter()
            .map(description_from_wit)
            .collect::<Result<_, _>>()?,
        converged: d.converged,
    })
}

pub(crate) fn error_from_wit(e: wit::Error) -> sdk::Error {
    match e {
        wit::Error::InvalidInput(m) => sdk::Error::InvalidInput(m),
        wit::Error::NotFound(m) => sdk::Error::NotFound(m),
        wit::Error::Unavailable(m) => sdk::Error::Unavailable(m),
        wit::Error::Internal(m) => sdk::Error::Internal(m),
    }
}

pub(crate) fn reason_from_wit(r: wit::DestroyReason) -> sdk::DestroyReason {
    match r {
        wit::DestroyReason::Terminate => sdk::DestroyReason::Terminate,
        wit::DestroyReason::RollingUpdate => sdk::DestroyReason::RollingUpdate,
    }
}

pub(crate) fn allocation_from_wit(a: wit::Allocation) -> sdk::Allocation {
    sdk::Allocation {
        size: a.size,
        logical_ids: a.logical_ids,
    }
}

pub(crate) fn index_from_wit(i: wit::Index) -> sdk::Index {
    sdk::Index {
        group: i.group,
        sequence: i.sequence,
    }
}

pub(crate) fn health_to_wit(h: sdk::Health) -> wit::Health {
    match h {
        sdk::Health::Unknown => wit::Health::Unknown,
        sdk::Health::Healthy => wit::Health::Healthy,
        sdk::Health::Unhealthy => wit::Health::Unhealthy,
    }
}

pub(crate) fn error_to_wit(e: sdk::Error) -> wit::Error {
    match e {
        sdk::Error::InvalidInput(m) => wit::Error::InvalidInput(m),
        sdk::Error::NotFound(m) => wit::Error::NotFound(m),
        sdk::Error::Unavailable(m) => wit::Error::Unavailable(m),
        sdk::Error::Internal(m) => wit::Error::Internal(m),
    }
}
