//! Glue from the generated instance `Guest` trait to [`InstancePlugin`].

use super::convert::{description_out, json_in, reason_in, spec_in, tags_in};
use super::{call, t};
use crate::InstancePlugin;

/// `instance.validate`.
pub fn validate<P: InstancePlugin>(plugin: &P, properties: t::Json) -> Result<(), t::Error> {
    call(|| plugin.validate(&json_in(properties)))
}

/// `instance.provision`.
pub fn provision<P: InstancePlugin>(
    plugin: &P,
    spec: t::InstanceSpec,
) -> Result<t::InstanceId, t::Error> {
    call(|| plugin.provision(spec_in(spec)))
}

/// `instance.label`.
pub fn label<P: InstancePlugin>(
    plugin: &P,
    id: t::InstanceId,
    labels: t::Tags,
) -> Result<(), t::Error> {
    call(|| plugin.label(&id, tags_in(labels)))
}

/// `instance.destroy`.
pub fn destroy<P: InstancePlugin>(
    plugin: &P,
    id: t::InstanceId,
    reason: t::DestroyReason,
) -> Result<(), t::Error> {
    call(|| plugin.destroy(&id, reason_in(reason)))
}

/// `instance.describe-instances`.
pub fn describe_instances<P: InstancePlugin>(
    plugin: &P,
    tags: t::Tags,
    properties: bool,
) -> Result<Vec<t::InstanceDescription>, t::Error> {
    call(|| {
        let found = plugin.describe_instances(&tags_in(tags), properties)?;
        Ok(found.into_iter().map(description_out).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Description, DestroyReason, Error, Json, Result, Spec, Tags};

    struct Echo;

    impl InstancePlugin for Echo {
        fn validate(&self, properties: &Json) -> Result<()> {
            properties
                .parse::<serde_json::Map<String, serde_json::Value>>()
                .map(drop)
        }
        fn provision(&self, spec: Spec) -> Result<String> {
            Ok(format!("i-{}", spec.tags.len()))
        }
        fn label(&self, id: &str, _: Tags) -> Result<()> {
            Err(Error::NotFound(format!("no {id}")))
        }
        fn destroy(&self, id: &str, reason: DestroyReason) -> Result<()> {
            Err(Error::Unavailable(format!("{id} {}", reason.as_str())))
        }
        fn describe_instances(&self, tags: &Tags, _: bool) -> Result<Vec<Description>> {
            Ok(vec![Description {
                id: "i-1".into(),
                tags: tags.clone(),
                ..Description::default()
            }])
        }
    }

    #[test]
    fn calls_are_forwarded_and_converted() {
        assert!(validate(&Echo, "{}".into()).is_ok());
        assert!(matches!(
            validate(&Echo, "[]".into()),
            Err(t::Error::InvalidInput(_))
        ));
        // Text the host did not check (it always does) still fails in the plugin's parse.
        assert!(
            matches!(validate(&Echo, "{".into()), Err(t::Error::InvalidInput(m)) if m.starts_with("invalid properties: "))
        );
        let spec = t::InstanceSpec {
            properties: None,
            tags: vec![("a".into(), "1".into())],
            init: String::new(),
            logical_id: None,
            attachments: vec![],
        };
        assert_eq!(provision(&Echo, spec).unwrap(), "i-1");
        assert!(
            matches!(label(&Echo, "x".into(), vec![]), Err(t::Error::NotFound(m)) if m == "no x")
        );
        assert!(
            matches!(destroy(&Echo, "x".into(), t::DestroyReason::RollingUpdate), Err(t::Error::Unavailable(m)) if m == "x rolling_update")
        );
        let found = describe_instances(&Echo, vec![("k".into(), "v".into())], false).unwrap();
        assert_eq!(found[0].tags, vec![("k".to_string(), "v".to_string())]);
    }
}
