//! InfraKit's `vanilla` flavor as a deploykit plugin: adds Init lines, tags and attachments to a spec.
//!
//! Properties (all optional; `null` is the same as `{}`):
//!
//! ```json
//! {"Init": ["echo hello"], "Tags": {"tier": "web"}, "Attachments": [{"ID": "vol-1", "Type": "disk"}]}
//! ```
//!
//! `InitScriptTemplateURL` is recognised but not supported: this port does
//! not fetch or render templates, so it fails with `unavailable`.

mod properties;

use deploykit_sdk::{
    Allocation, Description, FlavorPlugin, Health, Index, Json, Result, Spec, export_plugin,
};

pub use properties::Properties;

/// The vanilla flavor. It keeps no state.
#[derive(Debug, Default)]
pub struct Vanilla;

impl FlavorPlugin for Vanilla {
    fn example_properties(&self) -> Option<Json> {
        Json::new(r#"{"Init":["apt-get install -y nginx"],"Tags":{"tier":"web"},"Attachments":[{"ID":"vol-1","Type":"ebs"}]}"#).ok()
    }

    /// Refuses `Init` together with `InitScriptTemplateURL`. InfraKit also
    /// renders the template here, which this port cannot do.
    fn validate(&self, properties: &Json, _allocation: &Allocation) -> Result<()> {
        let props = Properties::parse(properties)?;
        props.check_init_forms()?;
        props.init_lines().map(drop)
    }

    /// Appends the Init lines to the spec's Init (joined with `\n`, the
    /// spec's Init first unless it is empty), merges the tags (the flavor's
    /// win) and appends the attachments.
    fn prepare(
        &self,
        properties: &Json,
        mut spec: Spec,
        _allocation: &Allocation,
        _index: &Index,
    ) -> Result<Spec> {
        let props = Properties::parse(properties)?;
        let mut lines = Vec::new();
        if !spec.init.is_empty() {
            lines.push(std::mem::take(&mut spec.init));
        }
        lines.extend(props.init_lines()?);
        spec.init = lines.join("\n");
        spec.tags.extend(props.tags);
        spec.attachments.extend(props.attachments);
        Ok(spec)
    }

    /// Always healthy, as in InfraKit.
    fn healthy(&self, _properties: &Json, _instance: &Description) -> Result<Health> {
        Ok(Health::Healthy)
    }

    /// Nothing to clean up.
    fn drain(&self, _properties: &Json, _instance: &Description) -> Result<()> {
        Ok(())
    }
}

export_plugin!(Vanilla: flavor);
