//! InfraKit's combo flavor: runs each flavor it lists through the host's `plugins` import and merges their specs.
//!
//! Properties are a JSON array of `{"Plugin": name, "Properties": …}`.
//! Prepare gives each flavor a copy of the incoming spec with `Init` and
//! `Attachments` cleared, then merges: Tags (later flavors win), Init (the
//! incoming Init, then each flavor's, joined with `\n`), Attachments
//! (appended). Clearing first keeps the incoming Init from being repeated
//! once per flavor, since flavors such as vanilla append to what they get.
//! Healthy is healthy only if every flavor says so (the first other answer
//! wins); drain runs every flavor and joins their errors with ", ".

use deploykit_sdk::{
    Allocation, Description, Error, FlavorPlugin, Health, Index, Json, Result, Spec, export_plugin,
    plugins,
};
use serde::Deserialize;

/// One entry of the properties.
#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(rename = "Plugin")]
    plugin: String,
    #[serde(rename = "Properties", default)]
    properties: Option<Json>,
}

/// The combo flavor.
#[derive(Debug, Default)]
pub struct Combo;

fn entries(properties: &Json) -> Result<Vec<Entry>> {
    properties.parse_or_default()
}

fn props(entry: &Entry) -> Json {
    entry.properties.clone().unwrap_or_default()
}

impl FlavorPlugin for Combo {
    fn validate(&self, properties: &Json, allocation: &Allocation) -> Result<()> {
        for entry in entries(properties)? {
            plugins::flavor(&entry.plugin).validate(&props(&entry), allocation)?;
        }
        Ok(())
    }

    fn prepare(
        &self,
        properties: &Json,
        spec: Spec,
        allocation: &Allocation,
        index: &Index,
    ) -> Result<Spec> {
        let mut merged = spec.clone();
        let mut inits: Vec<String> = Vec::new();
        if !spec.init.is_empty() {
            inits.push(spec.init.clone());
        }
        for entry in entries(properties)? {
            let copy = Spec {
                init: String::new(),
                attachments: Vec::new(),
                ..spec.clone()
            };
            let out =
                plugins::flavor(&entry.plugin).prepare(&props(&entry), copy, allocation, index)?;
            merged.tags.extend(out.tags);
            if !out.init.is_empty() {
                inits.push(out.init);
            }
            merged.attachments.extend(out.attachments);
        }
        merged.init = inits.join("\n");
        Ok(merged)
    }

    fn healthy(&self, properties: &Json, instance: &Description) -> Result<Health> {
        for entry in entries(properties)? {
            let health = plugins::flavor(&entry.plugin).healthy(&props(&entry), instance)?;
            if health != Health::Healthy {
                return Ok(health);
            }
        }
        Ok(Health::Healthy)
    }

    fn drain(&self, properties: &Json, instance: &Description) -> Result<()> {
        let errors: Vec<String> = entries(properties)?
            .iter()
            .filter_map(|e| plugins::flavor(&e.plugin).drain(&props(e), instance).err())
            .map(|e| e.to_string())
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Unavailable(errors.join(", ")))
        }
    }

    fn example_properties(&self) -> Option<Json> {
        Json::new(r#"[{"Plugin":"flavor-vanilla","Properties":{"Init":["echo hello"]}}]"#).ok()
    }
}

export_plugin!(Combo: flavor);

#[cfg(test)]
mod tests {
    use super::*;

    /// A flavor that appends its properties' `init` and tags `by`.
    struct Stamp(&'static str);

    impl FlavorPlugin for Stamp {
        fn validate(&self, _: &Json, _: &Allocation) -> Result<()> {
            Ok(())
        }
        fn prepare(&self, _: &Json, mut spec: Spec, _: &Allocation, _: &Index) -> Result<Spec> {
            spec.init = if spec.init.is_empty() {
                self.0.to_owned()
            } else {
                format!("{}\n{}", spec.init, self.0)
            };
            spec.tags.insert("by".into(), self.0.into());
            Ok(spec)
        }
        fn healthy(&self, _: &Json, _: &Description) -> Result<Health> {
            Ok(if self.0 == "sick" {
                Health::Unhealthy
            } else {
                Health::Healthy
            })
        }
        fn drain(&self, _: &Json, _: &Description) -> Result<()> {
            Err(Error::Internal(format!("{} cannot drain", self.0)))
        }
    }

    #[test]
    fn prepare_merges_in_order() {
        deploykit_sdk::testing::register_flavor("a", Stamp("a"));
        deploykit_sdk::testing::register_flavor("b", Stamp("b"));
        let props = Json::new(r#"[{"Plugin":"a"},{"Plugin":"b"}]"#).unwrap();
        let spec = Spec {
            init: "base".into(),
            ..Spec::default()
        };
        let out = Combo
            .prepare(&props, spec, &Allocation::default(), &Index::default())
            .unwrap();
        assert_eq!(out.init, "base\na\nb");
        assert_eq!(out.tags["by"], "b");
        let d = Description::default();
        assert_eq!(Combo.healthy(&props, &d).unwrap(), Health::Healthy);
        assert_eq!(
            Combo.drain(&props, &d).unwrap_err().message(),
            "a cannot drain, b cannot drain"
        );
        deploykit_sdk::testing::register_flavor("sick", Stamp("sick"));
        let sick = Json::new(r#"[{"Plugin":"a"},{"Plugin":"sick"}]"#).unwrap();
        assert_eq!(Combo.healthy(&sick, &d).unwrap(), Health::Unhealthy);
    }
}
