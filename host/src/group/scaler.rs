//! One reconcile round of a scaled group (Allocation.Size): add or remove members until the count matches the target.

use deploykit_sdk::{Description, DestroyReason};

use super::members::Members;
use super::pool;

/// Creates `target - actual` members, or destroys the `actual - target`
/// members with the lowest IDs (draining first, reason `terminate`), at most
/// `max_parallel` at once. Returns whether it changed anything. Like
/// InfraKit's scaler it never asks about health.
pub(crate) fn converge(
    m: &Members,
    members: &[Description],
    target: u32,
    max_parallel: usize,
) -> bool {
    let actual = members.len();
    let wanted = target as usize;
    if actual < wanted {
        let add = wanted - actual;
        tracing::info!(actual, add, target, "adding instances");
        pool::for_each(vec![(); add], max_parallel, |()| m.create_one(None, target));
        true
    } else if actual > wanted {
        // `members` is sorted by ID, so repeated rounds pick the same victims.
        let remove = &members[..actual - wanted];
        tracing::info!(actual, remove = remove.len(), target, "removing instances");
        pool::for_each(remove.iter().collect(), max_parallel, |d| {
            let _ = m.destroy(d, DestroyReason::Terminate);
        });
        true
    } else {
        false
    }
}
