//! Backoff for plugins that fault repeatedly: calls fail fast until the plugin has rested.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

use crate::fault::Fault;

/// When a faulting plugin is quarantined, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinePolicy {
    /// Faults within `window` that start a quarantine.
    pub faults: usize,
    /// The window faults are counted in.
    pub window: Duration,
    /// The first quarantine's length; each repeat doubles it.
    pub backoff: Duration,
    /// The longest quarantine.
    pub max_backoff: Duration,
}

impl Default for QuarantinePolicy {
    fn default() -> Self {
        QuarantinePolicy {
            faults: 5,
            window: Duration::from_secs(60),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
        }
    }
}

/// One plugin's fault history.
#[derive(Debug)]
pub(crate) struct Quarantine {
    policy: QuarantinePolicy,
    recent: VecDeque<Instant>,
    strikes: u32,
    until: Option<(Instant, SystemTime)>,
    last: Option<Fault>,
}

impl Quarantine {
    pub(crate) fn new(policy: QuarantinePolicy) -> Quarantine {
        Quarantine {
            policy,
            recent: VecDeque::new(),
            strikes: 0,
            until: None,
            last: None,
        }
    }

    /// `Err((until, last fault))` while quarantined.
    pub(crate) fn check(&mut self, now: Instant) -> Result<(), (SystemTime, Fault)> {
        match self.until {
            Some((end, wall)) if now < end => {
                Err((wall, self.last.clone().unwrap_or(Fault::StackOverflow)))
            }
            Some(_) => {
                self.until = None;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Records a fault; returns the quarantine's end if this fault started one.
    pub(crate) fn record_fault(&mut self, fault: &Fault, now: Instant) -> Option<Duration> {
        self.last = Some(fault.clone());
        self.recent.push_back(now);
        // Only the last `faults` timestamps decide; keep no more than that.
        while self.recent.len() > self.policy.faults.max(1) {
            self.recent.pop_front();
        }
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.policy.window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() < self.policy.faults.max(1) {
            return None;
        }
        self.recent.clear();
        let backoff = self
            .policy
            .backoff
            .saturating_mul(1u32 << self.strikes.min(20))
            .min(self.policy.max_backoff);
        self.strikes += 1;
        self.until = Some((now + backoff, SystemTime::now() + backoff));
        Some(backoff)
    }

    /// True when neither `check` nor `record_success` can change anything:
    /// no quarantine running and no strikes to forgive.
    pub(crate) fn is_clear(&self) -> bool {
        self.strikes == 0 && self.until.is_none()
    }

    /// Records a good call: a plugin that stays clean for a whole window
    /// after a quarantine starts again from the first backoff.
    pub(crate) fn record_success(&mut self, now: Instant) {
        if self.strikes > 0
            && self
                .recent
                .back()
                .is_none_or(|t| now.duration_since(*t) > self.policy.window)
        {
            self.strikes = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> QuarantinePolicy {
        QuarantinePolicy {
            faults: 3,
            window: Duration::from_secs(10),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(3),
        }
    }

    #[test]
    fn starts_after_n_faults_and_lifts_after_backoff() {
        let mut q = Quarantine::new(policy());
        let t0 = Instant::now();
        let f = Fault::StackOverflow;
        assert_eq!(q.record_fault(&f, t0), None);
        assert_eq!(q.record_fault(&f, t0), None);
        assert_eq!(q.record_fault(&f, t0), Some(Duration::from_secs(1)));
        assert!(q.check(t0 + Duration::from_millis(500)).is_err());
        assert!(q.check(t0 + Duration::from_millis(1001)).is_ok());
    }

    #[test]
    fn backoff_grows_on_repeat_up_to_the_cap() {
        let mut q = Quarantine::new(policy());
        let f = Fault::StackOverflow;
        let t = Instant::now();
        let mut lengths = Vec::new();
        for _ in 0..4 {
            for _ in 0..2 {
                q.record_fault(&f, t);
            }
            lengths.push(q.record_fault(&f, t).unwrap());
        }
        let secs: Vec<u64> = lengths.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 3, 3]);
    }

    #[test]
    fn faults_outside_the_window_do_not_count() {
        let mut q = Quarantine::new(policy());
        let f = Fault::StackOverflow;
        let t = Instant::now();
        q.record_fault(&f, t);
        q.record_fault(&f, t);
        assert_eq!(q.record_fault(&f, t + Duration::from_secs(11)), None);
    }
}
