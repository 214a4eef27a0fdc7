//! The simulator's flavor SPI: health answers the test controls, drains recorded in the event log.

use deploykit_host::{Allocation, Description, Health, Index, Json, Spec};
use deploykit_sdk::{Error, FlavorPlugin, Result};

use super::{Event, Sim};

/// The flavor plugin half of a [`Sim`].
pub struct SimFlavor(pub Sim);

impl FlavorPlugin for SimFlavor {
    /// Accepts any properties except an object with `"invalid": true`.
    fn validate(&self, properties: &Json, _allocation: &Allocation) -> Result<()> {
        if properties.as_str().contains("\"invalid\":true") {
            return Err(Error::InvalidInput(
                "the flavor refuses these properties".into(),
            ));
        }
        Ok(())
    }

    /// Adds a `flavor` tag naming the group and sequence it was prepared for.
    fn prepare(
        &self,
        _properties: &Json,
        mut spec: Spec,
        _allocation: &Allocation,
        index: &Index,
    ) -> Result<Spec> {
        spec.tags.insert(
            "flavor".into(),
            format!("{}/{}", index.group, index.sequence),
        );
        Ok(spec)
    }

    fn healthy(&self, _properties: &Json, instance: &Description) -> Result<Health> {
        let mut state = self.0.lock();
        let health = state.health_of(&instance.id);
        state
            .events
            .push(Event::Health(instance.id.clone(), health));
        Ok(health)
    }

    fn drain(&self, _properties: &Json, instance: &Description) -> Result<()> {
        self.0
            .lock()
            .events
            .push(Event::Drained(instance.id.clone()));
        Ok(())
    }
}
