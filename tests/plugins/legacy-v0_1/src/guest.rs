// The instance plugin shared by the fixed-version test plugins; included after their `generate!`.

use deploykit::plugin::types::{DestroyReason, Error, InstanceDescription, InstanceSpec};
use exports::deploykit::plugin::instance::Guest;

struct Legacy;

impl Guest for Legacy {
    fn validate(_properties: String) -> Result<(), Error> {
        Ok(())
    }

    fn provision(spec: InstanceSpec) -> Result<String, Error> {
        deploykit::plugin::log::log(deploykit::plugin::log::Level::Info, "provisioned by a fixed-version plugin");
        Ok(format!("legacy-{}", spec.tags.len()))
    }

    fn label(_id: String, _labels: Vec<(String, String)>) -> Result<(), Error> {
        Ok(())
    }

    fn destroy(id: String, _reason: DestroyReason) -> Result<(), Error> {
        Err(Error::NotFound(format!("no instance {id}")))
    }

    fn describe_instances(_tags: Vec<(String, String)>, _properties: bool) -> Result<Vec<InstanceDescription>, Error> {
        Ok(vec![InstanceDescription {
            id: "legacy-0".into(),
            logical_id: None,
            tags: vec![("wit".into(), "0.1.0".into())],
            properties: None,
        }])
    }
}

export!(Legacy);
