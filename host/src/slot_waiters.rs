//! Calls waiting for a slot of the host's full instance pool, woken when any plugin's instance goes idle or away.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// Shared by every plugin of a host. A call that found the pool full of
/// running calls waits here until another call gives its instance back (idle,
/// so it can be dropped to make room) or drops it after a fault.
#[derive(Default)]
pub(crate) struct SlotWaiters {
    /// Calls registered as waiting: releases skip the lock when there are none.
    waiting: AtomicUsize,
    /// Counts the releases seen while someone waited.
    released: Mutex<u64>,
    wake: Condvar,
}

/// A registered waiter; unregisters when dropped.
pub(crate) struct Waiting<'a>(&'a SlotWaiters);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SlotWaiters {
    fn lock(&self) -> MutexGuard<'_, u64> {
        self.released.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a waiter. Releases from now on are counted, so one that
    /// happens between a failed attempt and [`SlotWaiters::wait`] is not lost.
    pub(crate) fn register(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::SeqCst);
        Waiting(self)
    }

    /// The release count, to pass to [`SlotWaiters::wait`] after the next attempt.
    pub(crate) fn releases(&self) -> u64 {
        *self.lock()
    }

    /// Waits until a release after `seen`, or `deadline`; false at the deadline.
    pub(crate) fn wait(&self, _registered: &Waiting<'_>, seen: u64, deadline: Instant) -> bool {
        let mut released = self.lock();
        while *released == seen {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            released = self
                .wake
                .wait_timeout(released, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }

    /// Tells waiters an instance went idle or away; one atomic load when none waits.
    pub(crate) fn released(&self) {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        *self.lock() += 1;
        self.wake.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_release_after_registering_wakes_the_waiter_and_none_times_out() {
        let waiters = Arc::new(SlotWaiters::default());
        let registered = waiters.register();
        let seen = waiters.releases();
        // Released before the wait starts: still seen.
        waiters.released();
        assert!(waiters.wait(&registered, seen, Instant::now() + Duration::from_secs(5)));
        let seen = waiters.releases();
        let other = waiters.clone();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            other.released();
        });
        assert!(waiters.wait(&registered, seen, Instant::now() + Duration::from_secs(5)));
        releaser.join().unwrap();
        let seen = waiters.releases();
        assert!(!waiters.wait(
            &registered,
            seen,
            Instant::now() + Duration::from_millis(10)
        ));
    }

    #[test]
    fn releases_are_not_counted_when_nobody_waits() {
        let waiters = SlotWaiters::default();
        waiters.released();
        assert_eq!(waiters.releases(), 0);
        drop(waiters.register());
        waiters.released();
        assert_eq!(waiters.releases(), 0);
    }
}
