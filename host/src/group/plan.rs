//! The update plan of a commit to an existing group, with InfraKit's wording ("Noop", "Performing a rolling update on N instances", …).

use deploykit_sdk::Description;

use super::members::CONFIG_HASH_TAG;
use super::settings::Settings;
use crate::{Error, Result};

/// What a commit will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The text `CommitGroup` returns.
    pub text: String,
    /// For "roll, then grow": the old size, kept until the roll is done.
    pub hold_size: Option<u32>,
}

impl Plan {
    fn text(text: impl Into<String>) -> Plan {
        Plan {
            text: text.into(),
            hold_size: None,
        }
    }
}

/// The text for a new group.
pub(crate) fn managing(new: &Settings) -> String {
    format!("Managing {} instances", new.target())
}

/// Plans the change from `old` to `new` given the current `members`.
pub(crate) fn plan(old: &Settings, new: &Settings, members: &[Description]) -> Result<Plan> {
    let undesired = members
        .iter()
        .filter(|d| d.tags.get(CONFIG_HASH_TAG) != Some(&new.hash))
        .count();
    let desired = members.len() - undesired;
    match (old.is_quorum(), new.is_quorum()) {
        (true, _) if old.allocation().logical_ids != new.allocation().logical_ids => Err(
            Error::Group("Logical ID changes to a quorum is not currently supported".into()),
        ),
        (false, true) => Err(Error::Group(format!(
            "Group '{}' is sized by Size; changing it to LogicalIDs is not currently supported",
            new.id
        ))),
        (true, _) if undesired == 0 => Ok(Plan::text("Noop")),
        (true, _) => Ok(Plan::text(format!(
            "Performing a rolling update on {undesired} instances"
        ))),
        (false, false) => Ok(scaled(old.target(), new.target(), desired, undesired)),
    }
}

/// InfraKit's scaler plan: shrink first then roll, or roll first then grow.
fn scaled(old_size: u32, new_size: u32, desired: usize, undesired: usize) -> Plan {
    use std::cmp::Ordering;
    match new_size.cmp(&old_size) {
        Ordering::Equal if undesired == 0 => Plan::text("Noop"),
        Ordering::Equal => Plan::text(format!(
            "Performing a rolling update on {undesired} instances"
        )),
        Ordering::Less => {
            let removed = old_size - new_size;
            let roll = (new_size as usize).saturating_sub(desired);
            if roll == 0 {
                Plan::text(format!(
                    "Terminating {removed} instances to reduce the group size to {new_size}"
                ))
            } else {
                Plan::text(format!(
                    "Terminating {removed} instances to reduce the group size to {new_size}, then performing a rolling update on {roll} instances"
                ))
            }
        }
        Ordering::Greater => {
            let added = new_size - old_size;
            if undesired == 0 {
                Plan::text(format!(
                    "Adding {added} instances to increase the group size to {new_size}"
                ))
            } else {
                Plan {
                    text: format!(
                        "Performing a rolling update on {undesired} instances, then adding {added} instances to increase the group size to {new_size}"
                    ),
                    hold_size: Some(old_size),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use deploykit_sdk::{GroupSpec, Json, Tags};

    use super::*;

    fn settings(alloc: &str, note: &str) -> Settings {
        Settings::parse(&GroupSpec {
            id: "g".into(),
            properties: Json::new(format!(
                r#"{{"Allocation":{alloc},"Instance":{{"Plugin":"i","Properties":{{"note":"{note}"}}}},"Flavor":{{"Plugin":"f"}}}}"#
            ))
            .unwrap(),
        })
        .unwrap()
    }

    fn members(hash: &str, n: usize) -> Vec<Description> {
        (0..n)
            .map(|i| Description {
                id: format!("i-{i}"),
                tags: Tags::from([(CONFIG_HASH_TAG.into(), hash.into())]),
                ..Description::default()
            })
            .collect()
    }

    fn text(old: &Settings, new: &Settings, m: &[Description]) -> String {
        plan(old, new, m)
            .map(|p| p.text)
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn scaled_plans_use_infrakit_wording() {
        let v1_2 = settings(r#"{"Size":2}"#, "v1");
        let v1_3 = settings(r#"{"Size":3}"#, "v1");
        let v1_1 = settings(r#"{"Size":1}"#, "v1");
        let v2_2 = settings(r#"{"Size":2}"#, "v2");
        let v2_1 = settings(r#"{"Size":1}"#, "v2");
        let v2_3 = settings(r#"{"Size":3}"#, "v2");
        let old = members(&v1_2.hash, 2);
        assert_eq!(text(&v1_2, &v1_2, &old), "Noop");
        assert_eq!(
            text(&v1_2, &v2_2, &old),
            "Performing a rolling update on 2 instances"
        );
        assert_eq!(
            text(&v1_2, &v1_3, &old),
            "Adding 1 instances to increase the group size to 3"
        );
        assert_eq!(
            text(&v1_2, &v1_1, &old),
            "Terminating 1 instances to reduce the group size to 1"
        );
        assert_eq!(
            text(&v1_2, &v2_1, &old),
            "Terminating 1 instances to reduce the group size to 1, then performing a rolling update on 1 instances"
        );
        let grow = plan(&v1_2, &v2_3, &old).unwrap();
        assert_eq!(
            grow.text,
            "Performing a rolling update on 2 instances, then adding 1 instances to increase the group size to 3"
        );
        assert_eq!(grow.hold_size, Some(2));
    }

    #[test]
    fn quorum_plans_and_refusals() {
        let q1 = settings(r#"{"LogicalIDs":["a","b"]}"#, "v1");
        let q2 = settings(r#"{"LogicalIDs":["a","b"]}"#, "v2");
        let q3 = settings(r#"{"LogicalIDs":["a","c"]}"#, "v1");
        let s = settings(r#"{"Size":2}"#, "v1");
        let m = members(&q1.hash, 2);
        assert_eq!(text(&q1, &q1, &m), "Noop");
        assert_eq!(
            text(&q1, &q2, &m),
            "Performing a rolling update on 2 instances"
        );
        assert_eq!(
            text(&q1, &q3, &m),
            "Logical ID changes to a quorum is not currently supported"
        );
        assert_eq!(
            text(&q1, &s, &m),
            "Logical ID changes to a quorum is not currently supported"
        );
        assert!(text(&s, &q1, &m).contains("not currently supported"));
        assert_eq!(managing(&q1), "Managing 2 instances");
    }
}
