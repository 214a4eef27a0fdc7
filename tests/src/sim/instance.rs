//! The simulator's instance SPI: a map of instances behind a mutex, with failure injection for provision.

use deploykit_host::{Description, DestroyReason, Json, Spec, Tags};
use deploykit_sdk::{Error, InstancePlugin, Result};

use super::{Event, Sim};

/// The instance plugin half of a [`Sim`].
pub struct SimInstances(pub Sim);

impl InstancePlugin for SimInstances {
    /// Accepts any properties except an object with `"invalid": true`.
    fn validate(&self, properties: &Json) -> Result<()> {
        if properties.as_str().contains("\"invalid\":true") {
            return Err(Error::InvalidInput(
                "the simulator refuses these properties".into(),
            ));
        }
        Ok(())
    }

    fn provision(&self, spec: Spec) -> Result<String> {
        let mut state = self.0.lock();
        if state.fail_provisions {
            state.events.push(Event::ProvisionFailed);
            return Err(Error::Unavailable("simulated provision failure".into()));
        }
        let id = state.create(spec);
        state.events.push(Event::Provisioned(id.clone()));
        Ok(id)
    }

    fn label(&self, id: &str, labels: Tags) -> Result<()> {
        let mut state = self.0.lock();
        let instance = state
            .instances
            .get_mut(id)
            .ok_or_else(|| Error::NotFound(format!("no instance {id}")))?;
        instance.tags.extend(labels);
        state.events.push(Event::Labelled(id.to_owned()));
        Ok(())
    }

    fn destroy(&self, id: &str, reason: DestroyReason) -> Result<()> {
        let mut state = self.0.lock();
        state
            .instances
            .remove(id)
            .ok_or_else(|| Error::NotFound(format!("no instance {id}")))?;
        state.events.push(Event::Destroyed(id.to_owned(), reason));
        Ok(())
    }

    fn describe_instances(&self, tags: &Tags, properties: bool) -> Result<Vec<Description>> {
        let state = self.0.lock();
        Ok(state
            .instances
            .iter()
            .filter(|(_, i)| tags.iter().all(|(k, v)| i.tags.get(k) == Some(v)))
            .map(|(id, i)| Description {
                id: id.clone(),
                logical_id: i.logical_id.clone(),
                tags: i.tags.clone(),
                properties: properties.then(|| Json::from_value(&i.spec).expect("specs serialise")),
            })
            .collect())
    }
}
