//! The rolling update, one poll at a time: replace members with an old config hash one by one, gated on the new members' health.
//!
//! InfraKit runs the update as a blocking loop beside the scaler. Here each
//! poll takes one step, and whether an update is needed is derived from the
//! members' hash tags every time, so a host restarted in the middle of an
//! update simply carries on: only the health counters start over.

use std::time::Instant;

use deploykit_sdk::{Description, DestroyReason, Health};

use super::members::Members;
use super::spec::Updating;

/// What one group is in the middle of, kept between polls.
#[derive(Debug, Default)]
pub(crate) struct Work {
    /// The rolling update under way, if any.
    pub roll: Option<Roll>,
    /// The size to keep until the rolling update is done, for a plan that
    /// rolls first and grows afterwards.
    pub hold_size: Option<u32>,
}

/// A rolling update's progress.
#[derive(Debug)]
pub(crate) struct Roll {
    /// Members with the new hash the update waits for (before the `min` with the target).
    expected_new: usize,
    /// Consecutive polls on which they were all healthy.
    healthy_polls: i64,
    /// Since when they have been healthy.
    healthy_since: Option<Instant>,
}

impl Roll {
    fn reset(&mut self) {
        self.healthy_polls = 0;
        self.healthy_since = None;
    }

    /// Whether the new members have quiesced: at least `need` of them
    /// healthy, and none unhealthy or unknown, on `Updating.Count`
    /// consecutive polls or for `Updating.Duration` (one poll when neither is set).
    fn quiesced(
        &mut self,
        m: &Members,
        new: &[&Description],
        need: usize,
        updating: &Updating,
    ) -> bool {
        if need == 0 {
            return true; // no new member to wait for
        }
        let mut healthy = 0;
        let mut all_healthy = true;
        for d in new {
            match m.health(d) {
                Health::Healthy => healthy += 1,
                other => {
                    tracing::debug!(instance = %d.id, health = ?other, "new member not healthy yet");
                    all_healthy = false;
                }
            }
        }
        if healthy < need || !all_healthy {
            tracing::debug!(healthy, need, "waiting for new members to be healthy");
            self.reset();
            return false;
        }
        if updating.count > 0 {
            self.healthy_polls += 1;
            return self.healthy_polls >= updating.count;
        }
        if !updating.duration.is_zero() {
            let since = *self.healthy_since.get_or_insert_with(Instant::now);
            return since.elapsed() >= updating.duration;
        }
        true
    }
}

/// One step: start an update when a member has an old hash; once the new
/// members have quiesced, drain and destroy the old member with the lowest
/// ID (reason `rolling_update`) and expect one more new member, which the
/// scaler or quorum provisions on a later poll. The update ends when no old
/// member is left and the new ones have quiesced.
pub(crate) fn step(m: &Members, work: &mut Work, members: &[Description]) {
    let (new, old): (Vec<&Description>, Vec<&Description>) =
        members.iter().partition(|d| m.is_desired(d));
    let roll = match &mut work.roll {
        Some(roll) => roll,
        None if old.is_empty() => {
            work.hold_size = None;
            return;
        }
        None => {
            tracing::info!(instances = old.len(), "starting a rolling update");
            work.roll.insert(Roll {
                expected_new: new.len(),
                healthy_polls: 0,
                healthy_since: None,
            })
        }
    };
    let settings = &m.settings;
    let need = roll.expected_new.min(settings.target() as usize);
    if !roll.quiesced(m, &new, need, &settings.props.updating) {
        return;
    }
    let Some(victim) = old.first() else {
        tracing::info!("rolling update done");
        work.roll = None;
        work.hold_size = None;
        return;
    };
    roll.reset();
    match m.destroy(victim, DestroyReason::RollingUpdate) {
        Ok(()) => roll.expected_new += 1,
        // InfraKit stops the update here; we try again on a later poll.
        Err(e) => {
            tracing::warn!(instance = %victim.id, error = %e, "rolling update step failed; retrying")
        }
    }
}
