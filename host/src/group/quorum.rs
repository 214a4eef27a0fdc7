//! One reconcile round of a quorum group (Allocation.LogicalIDs): exactly one member per logical ID.

use std::collections::BTreeMap;

use deploykit_sdk::{Description, DestroyReason, LogicalId};

use super::members::Members;
use super::pool;

/// Destroys members whose logical ID is not in the list (reason
/// `terminate`), then creates a member for every logical ID that has none.
/// A member with no logical ID is only warned about, as in InfraKit. Unlike
/// InfraKit, a second member of one logical ID (left by a provision that
/// succeeded but reported a failure) is destroyed too, keeping the member
/// with the current config hash, else the lowest ID. Returns whether it
/// changed anything.
pub(crate) fn converge(
    m: &Members,
    members: &[Description],
    logical_ids: &[LogicalId],
    max_parallel: usize,
) -> bool {
    let mut by_id: BTreeMap<&str, Vec<&Description>> = BTreeMap::new();
    let mut doomed: Vec<&Description> = Vec::new();
    for d in members {
        match &d.logical_id {
            None => tracing::warn!(instance = %d.id, "member has no logical ID"),
            Some(l) if logical_ids.contains(l) => by_id.entry(l).or_default().push(d),
            Some(l) => {
                tracing::warn!(instance = %d.id, logical_id = %l, "destroying a member with an unknown logical ID");
                doomed.push(d);
            }
        }
    }
    for same in by_id.values_mut().filter(|v| v.len() > 1) {
        // Sorted by ID already; a stable sort puts current-hash members first.
        same.sort_by_key(|d| !m.is_desired(d));
        tracing::warn!(logical_id = ?same[0].logical_id, "destroying duplicate members");
        doomed.extend(same.drain(1..));
    }
    let missing: Vec<LogicalId> = logical_ids
        .iter()
        .filter(|l| !by_id.contains_key(l.as_str()))
        .cloned()
        .collect();
    if doomed.is_empty() && missing.is_empty() {
        return false;
    }
    let target = u32::try_from(logical_ids.len()).unwrap_or(u32::MAX);
    pool::for_each(doomed, max_parallel, |d| {
        let _ = m.destroy(d, DestroyReason::Terminate);
    });
    for l in &missing {
        tracing::info!(logical_id = %l, "logical ID is missing, provisioning an instance");
    }
    pool::for_each(missing, max_parallel, |l| m.create_one(Some(l), target));
    true
}
