//! A group's members as seen through its plugins: list (adopting `bootstrap` instances), create one, destroy one, judge health.
//!
//! Membership is only tags: an instance belongs to group `g` when it
//! carries `infrakit.group=g`, so a restarted host (or a Go controller)
//! finds exactly the same members with no other state.

use std::sync::Arc;

use deploykit_sdk::{Description, DestroyReason, Health, Index, LogicalId, Spec, Tags};

use super::settings::Settings;
use crate::{Error, Flavor, Host, Instance, Result};

/// The tag naming an instance's group.
pub const GROUP_TAG: &str = "infrakit.group";
/// The tag holding the config hash an instance was created with.
pub const CONFIG_HASH_TAG: &str = "infrakit.config.hash";
/// The tag holding a quorum member's logical ID.
pub const LOGICAL_ID_TAG: &str = "infrakit.logical_id";
/// The config-hash value of hand-made seed instances, which the group adopts.
pub const BOOTSTRAP_HASH: &str = "bootstrap";

/// One group's plugins, looked up in the host's router for one round of work.
pub(crate) struct Members {
    pub settings: Arc<Settings>,
    instance: Arc<dyn Instance>,
    flavor: Arc<dyn Flavor>,
}

impl Members {
    /// Looks the group's instance and flavor plugins up by name, now.
    pub(crate) fn lookup(host: &Host, settings: Arc<Settings>) -> Result<Members> {
        let flavor_name = &settings.props.flavor.plugin;
        let flavor = host.flavor(flavor_name).map_err(|e| {
            Error::Group(format!("Failed to find Flavor plugin '{flavor_name}':{e}"))
        })?;
        let instance_name = &settings.props.instance.plugin;
        let instance = host.instance(instance_name).map_err(|e| {
            Error::Group(format!(
                "Failed to find Instance plugin '{instance_name}':{e}"
            ))
        })?;
        Ok(Members {
            settings,
            instance,
            flavor,
        })
    }

    /// The flavor's properties as committed (`null` when the spec has none).
    fn flavor_properties(&self) -> deploykit_sdk::Json {
        self.settings
            .props
            .flavor
            .properties
            .clone()
            .unwrap_or_default()
    }

    /// Asks the flavor, then the instance plugin, to validate their properties.
    pub(crate) fn validate(&self) -> Result<()> {
        let p = &self.settings.props;
        self.flavor
            .validate(&self.flavor_properties(), &p.allocation)?;
        self.instance
            .validate(&p.instance.properties.clone().unwrap_or_default())
    }

    fn member_tags(&self) -> Tags {
        Tags::from([(GROUP_TAG.to_owned(), self.settings.id.clone())])
    }

    /// The members as the instance plugin lists them, sorted by ID, without adopting anything.
    pub(crate) fn describe(&self) -> Result<Vec<Description>> {
        let mut found = self
            .instance
            .describe_instances(&self.member_tags(), true)?;
        for d in &mut found {
            if d.logical_id.is_none() {
                d.logical_id = d.tags.get(LOGICAL_ID_TAG).cloned();
            }
        }
        found.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(found)
    }

    /// The members, sorted by ID, with `LogicalID` filled from the tag when
    /// missing. Members whose hash tag is `bootstrap` are relabelled with the
    /// group and the current hash first, which adopts them.
    pub(crate) fn list(&self) -> Result<Vec<Description>> {
        let found = self.describe()?;
        let seeds: Vec<&Description> = found
            .iter()
            .filter(|d| d.tags.get(CONFIG_HASH_TAG).map(String::as_str) == Some(BOOTSTRAP_HASH))
            .collect();
        if seeds.is_empty() {
            return Ok(found);
        }
        let mut labels = self.member_tags();
        labels.insert(CONFIG_HASH_TAG.to_owned(), self.settings.hash.clone());
        for seed in seeds {
            tracing::info!(instance = %seed.id, "adopting a bootstrap instance");
            self.instance.label(&seed.id, &labels)?;
        }
        self.describe()
    }

    /// Whether a member carries the current config hash.
    pub(crate) fn is_desired(&self, d: &Description) -> bool {
        d.tags.get(CONFIG_HASH_TAG) == Some(&self.settings.hash)
    }

    /// Prepares (flavor) and provisions (instance) one new member. Errors
    /// are only logged, as InfraKit does: the next poll tries again.
    pub(crate) fn create_one(&self, logical_id: Option<LogicalId>, sequence: u32) {
        let settings = &self.settings;
        let mut tags = self.member_tags();
        tags.insert(CONFIG_HASH_TAG.to_owned(), settings.hash.clone());
        if let Some(id) = &logical_id {
            tags.insert(LOGICAL_ID_TAG.to_owned(), id.clone());
        }
        let spec = Spec {
            properties: settings.props.instance.properties.clone(),
            tags,
            logical_id: logical_id.clone(),
            ..Spec::default()
        };
        let index = Index {
            group: settings.id.clone(),
            sequence,
        };
        let prepared = match self.flavor.prepare(
            &self.flavor_properties(),
            &spec,
            &settings.props.allocation,
            &index,
        ) {
            Ok(spec) => spec,
            Err(e) => {
                tracing::error!(logical_id = ?logical_id, error = %e, "failed to prepare an instance");
                return;
            }
        };
        match self.instance.provision(&prepared) {
            Ok(id) => {
                tracing::info!(instance = %id, logical_id = ?logical_id, "created an instance")
            }
            Err(e) => tracing::error!(logical_id = ?logical_id, error = %e, "failed to provision"),
        }
    }

    /// Drains (unless a rolling update skips it) and destroys one member.
    /// A drain error aborts a rolling update's destroy but is only logged
    /// when terminating.
    pub(crate) fn destroy(&self, d: &Description, reason: DestroyReason) -> Result<()> {
        let updating = &self.settings.props.updating;
        if reason == DestroyReason::RollingUpdate && updating.skip_drain {
            tracing::info!(instance = %d.id, "skipping drain before destroy");
        } else {
            if let Err(e) = self.flavor.drain(&self.flavor_properties(), d) {
                if reason == DestroyReason::RollingUpdate {
                    tracing::error!(instance = %d.id, error = %e, "failed to drain");
                    return Err(e);
                }
                tracing::warn!(instance = %d.id, error = %e, "failed to drain, destroying anyway");
            }
        }
        tracing::info!(instance = %d.id, reason = reason.as_str(), "destroying an instance");
        self.instance.destroy(&d.id, reason).inspect_err(|e| {
            tracing::error!(instance = %d.id, error = %e, "failed to destroy");
        })
    }

    /// The flavor's judgement of a member; an error counts as Unknown.
    pub(crate) fn health(&self, d: &Description) -> Health {
        self.flavor
            .healthy(&self.flavor_properties(), d)
            .unwrap_or_else(|e| {
                tracing::warn!(instance = %d.id, error = %e, "failed to check health");
                Health::Unknown
            })
    }
}
