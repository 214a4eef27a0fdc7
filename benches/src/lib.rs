//! Shared measuring helpers for the benchmark binaries: timing statistics,
//! process RSS, and the report that `cargo xtask bench` prints and saves.

pub mod report;

use std::time::{Duration, Instant};

/// Medians and spread of a set of samples.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// The median.
    pub median: Duration,
    /// The 10th percentile.
    pub p10: Duration,
    /// The 90th percentile.
    pub p90: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The largest sample.
    pub max: Duration,
}

impl Stats {
    /// Statistics of `samples` (sorted in place).
    pub fn of(samples: &mut [Duration]) -> Stats {
        assert!(!samples.is_empty(), "no samples");
        samples.sort();
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        Stats {
            median: at(0.5),
            p10: at(0.1),
            p90: at(0.9),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "median {} (p10 {}, p90 {}, p99 {}, max {})",
            us(self.median),
            us(self.p10),
            us(self.p90),
            us(self.p99),
            us(self.max)
        )
    }
}

/// A duration in microseconds, as text.
pub fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// Times `n` runs of `f`, one sample per run.
pub fn sample(n: usize, mut f: impl FnMut()) -> Vec<Duration> {
    (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect()
}

/// Times `samples` batches of `batch` back-to-back runs of `f`; each sample
/// is the mean time of one run in its batch, in nanoseconds. A warm-up of one
/// batch runs first and is not counted.
pub fn batched(samples: usize, batch: usize, mut f: impl FnMut()) -> Vec<f64> {
    for _ in 0..batch {
        f();
    }
    (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                f();
            }
            t.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect()
}

/// Times `n` single runs of `f`, each after an untimed `setup`, in nanoseconds.
pub fn after_setup(n: usize, mut setup: impl FnMut(), mut f: impl FnMut()) -> Vec<f64> {
    (0..n)
        .map(|_| {
            setup();
            let t = Instant::now();
            f();
            t.elapsed().as_nanos() as f64
        })
        .collect()
}

/// The process's resident set size in KiB (Linux; `None` elsewhere).
pub fn rss_kib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4)
}
