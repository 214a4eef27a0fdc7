//! The vanilla flavor's properties and the checks on them.

use deploykit_sdk::{Attachment, Error, Json, Result, Tags};
use serde::{Deserialize, Deserializer};

/// What a group's `Flavor.Properties` may hold. Every field is optional and
/// `null` counts as absent, as with Go's nil slices and maps.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
pub struct Properties {
    /// Lines to append to the spec's Init.
    #[serde(rename = "Init", default, deserialize_with = "null_as_default")]
    pub init: Vec<String>,
    /// A template that renders the Init script; not supported here.
    #[serde(
        rename = "InitScriptTemplateURL",
        default,
        deserialize_with = "null_as_default"
    )]
    pub init_script_template_url: String,
    /// Tags to merge into the spec's tags; the flavor's values win.
    #[serde(rename = "Tags", default, deserialize_with = "null_as_default")]
    pub tags: Tags,
    /// Attachments to append to the spec's.
    #[serde(rename = "Attachments", default, deserialize_with = "null_as_default")]
    pub attachments: Vec<Attachment>,
}

impl Properties {
    /// Parses the flavor properties; `null` gives the empty properties.
    pub fn parse(properties: &Json) -> Result<Self> {
        properties.parse_or_default()
    }

    /// InfraKit's rule: the two ways of giving Init exclude each other.
    pub fn check_init_forms(&self) -> Result<()> {
        if !self.init_script_template_url.is_empty() && !self.init.is_empty() {
            return Err(Error::InvalidInput(
                r#"Either "Init" or "InitScriptTemplateURL" can be specified but not both"#.into(),
            ));
        }
        Ok(())
    }

    /// The Init lines to append: the `Init` list, or an `unavailable`
    /// error when a template was asked for, since templates are not rendered.
    pub fn init_lines(&self) -> Result<Vec<String>> {
        if self.init_script_template_url.is_empty() {
            Ok(self.init.clone())
        } else {
            Err(Error::Unavailable(format!(
                "InitScriptTemplateURL ({}) is not supported: this vanilla flavor does not fetch \
                 or render templates; give the script as Init lines instead",
                self.init_script_template_url
            )))
        }
    }
}

/// Reads a JSON `null` as the type's default.
fn null_as_default<'de, D, T>(deserializer: D) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
