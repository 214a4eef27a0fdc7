//! Per-call sandbox limits: host defaults that a plugin's manifest may override.

use std::time::Duration;

use serde::Deserialize;

/// The limits every call of a plugin runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Fuel per call (about one unit per WebAssembly instruction).
    pub fuel: u64,
    /// Wall-clock deadline per call, enforced by epoch interruption.
    pub deadline: Duration,
    /// Cap on an instance's linear memory, in bytes.
    pub memory: usize,
    /// Cap on the elements of each table.
    pub table_elements: usize,
    /// Cap on the bytes the plugin may hand the host in one transfer: a
    /// call's result (strings and lists, counted as they are copied), or the
    /// arguments of one import call such as a log line.
    pub max_result: usize,
    /// Cap on the stdout and stderr bytes logged per call (the rest is counted and dropped).
    pub max_output: usize,
    /// Warm instances kept, and so the calls to this plugin that run at once.
    pub pool_size: usize,
}

/// [`Limits::pool_size`] unless a manifest or the host says otherwise.
pub(crate) const DEFAULT_POOL_SIZE: usize = 4;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 2_000_000_000,
            deadline: Duration::from_secs(10),
            memory: 128 << 20,
            table_elements: 100_000,
            max_result: 16 << 20,
            max_output: 64 << 10,
            pool_size: DEFAULT_POOL_SIZE,
        }
    }
}

/// The `[limits]` table of a manifest: every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitsOverride {
    /// Fuel per call.
    pub fuel: Option<u64>,
    /// Deadline per call, such as `"5s"` or `"250ms"`.
    #[serde(default, with = "humantime_serde_opt")]
    pub deadline: Option<Duration>,
    /// Memory cap in MiB.
    pub memory_mib: Option<usize>,
    /// Table element cap.
    pub table_elements: Option<usize>,
    /// Result cap in KiB.
    pub max_result_kib: Option<usize>,
    /// Output cap per call in KiB.
    pub max_output_kib: Option<usize>,
    /// Warm instances and concurrent calls.
    pub pool_size: Option<usize>,
}

impl Limits {
    /// These limits with a manifest's overrides applied.
    pub fn with(&self, o: &LimitsOverride) -> Limits {
        Limits {
            fuel: o.fuel.unwrap_or(self.fuel),
            deadline: o.deadline.unwrap_or(self.deadline),
            memory: o.memory_mib.map_or(self.memory, |m| m << 20),
            table_elements: o.table_elements.unwrap_or(self.table_elements),
            max_result: o.max_result_kib.map_or(self.max_result, |k| k << 10),
            max_output: o.max_output_kib.map_or(self.max_output, |k| k << 10),
            pool_size: o.pool_size.unwrap_or(self.pool_size).max(1),
        }
    }
}

/// Formats a byte count as `64 MiB`, `12 KiB` or `17 B`.
pub(crate) fn format_bytes(n: usize) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n.is_multiple_of(1 << 10) {
        format!("{} KiB", n >> 10)
    } else if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1 << 20) as f64)
    } else {
        format!("{n} B")
    }
}

/// Reads an optional humantime duration (`"5s"`).
mod humantime_serde_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| humantime::parse_duration(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_name() {
        let o: LimitsOverride =
            toml::from_str("fuel = 5\ndeadline = \"250ms\"\nmemory-mib = 8").unwrap();
        let l = Limits::default().with(&o);
        assert_eq!(l.fuel, 5);
        assert_eq!(l.deadline, Duration::from_millis(250));
        assert_eq!(l.memory, 8 << 20);
        assert_eq!(l.pool_size, Limits::default().pool_size);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = toml::from_str::<LimitsOverride>("fule = 5").unwrap_err();
        assert!(err.to_string().contains("unknown field `fule`"), "{err}");
    }

    #[test]
    fn bytes_read_well() {
        assert_eq!(format_bytes(64 << 20), "64 MiB");
        assert_eq!(format_bytes(3 << 10), "3 KiB");
        assert_eq!(format_bytes(17), "17 B");
    }
}
