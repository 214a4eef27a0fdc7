//! How the group controller runs: poll interval, parallelism cap, and whether stored groups resume at once.

use std::time::Duration;

/// Options of a [`GroupController`](super::GroupController).
///
/// ```
/// use std::time::Duration;
/// use deploykit_host::GroupOptions;
///
/// let options = GroupOptions::default()
///     .poll_interval(Duration::from_secs(5))
///     .max_parallel(2);
/// assert_eq!(options.get_poll_interval(), Duration::from_secs(5));
/// ```
#[derive(Debug, Clone)]
pub struct GroupOptions {
    poll_interval: Duration,
    max_parallel: usize,
    resume: bool,
}

impl Default for GroupOptions {
    /// A 10 s poll (InfraKit's default), at most 8 plugin calls at once per
    /// group, and every stored group resumed at start.
    fn default() -> Self {
        GroupOptions {
            poll_interval: Duration::from_secs(10),
            max_parallel: 8,
            resume: true,
        }
    }
}

impl GroupOptions {
    /// How often each group is reconciled (it also is right after a commit).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// At most this many provisions or destroys of one group run at once
    /// (InfraKit's `MaxParallelNum`); 0 means no limit.
    pub fn max_parallel(mut self, max: usize) -> Self {
        self.max_parallel = max;
        self
    }

    /// Whether the groups found in the state store are reconciled as soon as
    /// the controller starts (the default). With `false` they are loaded and
    /// answer describe, inspect and size, but each is reconciled only once
    /// it is committed through this controller: what a one-shot CLI wants.
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// The poll interval.
    pub fn get_poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// The parallelism cap (0: none).
    pub fn get_max_parallel(&self) -> usize {
        self.max_parallel
    }

    /// Whether stored groups resume at start.
    pub fn get_resume(&self) -> bool {
        self.resume
    }
}
