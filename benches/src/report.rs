//! The one table `cargo xtask bench` prints, the same figures as JSON, and a
//! comparison with an earlier JSON file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

/// What a figure measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Time in nanoseconds (printed as ns, µs or ms).
    Nanos,
    /// Time in milliseconds.
    Millis,
    /// Memory in KiB.
    Kib,
    /// Calls per second.
    PerSec,
    /// A ratio of two figures of the same run.
    Ratio,
}

impl Unit {
    fn name(self) -> &'static str {
        match self {
            Unit::Nanos => "ns",
            Unit::Millis => "ms",
            Unit::Kib => "KiB",
            Unit::PerSec => "calls/s",
            Unit::Ratio => "x",
        }
    }

    /// `v` in this unit, as short text.
    pub fn show(self, v: f64) -> String {
        match self {
            Unit::Nanos if v < 1_000.0 => format!("{v:.0} ns"),
            Unit::Nanos if v < 1_000_000.0 => format!("{:.2} µs", v / 1e3),
            Unit::Nanos => format!("{:.2} ms", v / 1e6),
            Unit::Millis if v < 10.0 => format!("{v:.2} ms"),
            Unit::Millis => format!("{v:.1} ms"),
            Unit::Kib if v < 10_000.0 => format!("{v:.1} KiB"),
            Unit::Kib => format!("{:.1} MiB", v / 1024.0),
            Unit::PerSec => format!("{}/s", thousands(v)),
            Unit::Ratio => format!("{v:.2}x"),
        }
    }
}

fn thousands(v: f64) -> String {
    let n = v.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One figure: a median with its spread (p10 and p90) over `n` samples.
#[derive(Debug, Clone)]
pub struct Row {
    /// Stable key, used in the JSON and to compare runs.
    pub key: String,
    /// What it is.
    pub label: String,
    /// Its unit.
    pub unit: Unit,
    /// The median.
    pub median: f64,
    /// The 10th percentile, when there are several samples.
    pub p10: Option<f64>,
    /// The 90th percentile, when there are several samples.
    pub p90: Option<f64>,
    /// How many samples.
    pub n: usize,
}

impl Row {
    /// A row from raw samples (any order).
    pub fn from_samples(key: &str, label: &str, unit: Unit, samples: &[f64]) -> Row {
        assert!(!samples.is_empty(), "no samples for {key}");
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
        let spread = s.len() >= 3;
        Row {
            key: key.into(),
            label: label.into(),
            unit,
            median: if s.len().is_multiple_of(2) {
                (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
            } else {
                s[s.len() / 2]
            },
            p10: spread.then(|| at(0.1)),
            p90: spread.then(|| at(0.9)),
            n: s.len(),
        }
    }

    /// A single figure (no spread).
    pub fn single(key: &str, label: &str, unit: Unit, value: f64) -> Row {
        Row::from_samples(key, label, unit, &[value])
    }
}

/// A target of issue 7 and whether this run meets it.
#[derive(Debug, Clone)]
pub struct Target {
    /// What is compared.
    pub label: String,
    /// The key of the row (or ratio) compared.
    pub key: String,
    /// This run's figure.
    pub value: f64,
    /// The limit.
    pub limit: f64,
    /// True when the figure must be at most the limit, false when at least.
    pub at_most: bool,
    /// The figure's unit.
    pub unit: Unit,
}

impl Target {
    /// Whether the figure meets the target.
    pub fn met(&self) -> bool {
        if self.at_most {
            self.value <= self.limit
        } else {
            self.value >= self.limit
        }
    }
}

/// Every figure of a run, in sections.
#[derive(Debug, Default)]
pub struct Report {
    /// Facts about the run (git commit, CPUs, load).
    pub context: BTreeMap<String, Value>,
    /// Sections in order, each with its rows.
    pub sections: Vec<(String, Vec<Row>)>,
    /// Targets checked against this run's figures.
    pub targets: Vec<Target>,
    /// Remarks printed under the table.
    pub notes: Vec<String>,
}

impl Report {
    /// Starts a new section.
    pub fn section(&mut self, title: &str) {
        self.sections.push((title.into(), Vec::new()));
    }

    /// Adds a row to the current section.
    pub fn push(&mut self, row: Row) {
        if self.sections.is_empty() {
            self.section("");
        }
        self.sections.last_mut().expect("a section").1.push(row);
    }

    /// The row with `key`.
    pub fn get(&self, key: &str) -> Option<&Row> {
        self.sections
            .iter()
            .flat_map(|(_, rows)| rows)
            .find(|r| r.key == key)
    }

    /// The median of the row with `key`.
    pub fn median(&self, key: &str) -> Option<f64> {
        self.get(key).map(|r| r.median)
    }

    /// Adds a ratio row `a / b` of two medians of this run (skipped if either is missing).
    pub fn ratio(&mut self, key: &str, label: &str, a: &str, b: &str) {
        if let (Some(a), Some(b)) = (self.median(a), self.median(b)) {
            self.push(Row::single(key, label, Unit::Ratio, a / b));
        }
    }

    /// Checks the row `key` against a limit (skipped if the row is missing).
    pub fn target(&mut self, key: &str, label: &str, at_most: bool, limit: f64) {
        if let Some(row) = self.get(key) {
            let t = Target {
                label: label.into(),
                key: key.into(),
                value: row.median,
                limit,
                at_most,
                unit: row.unit,
            };
            self.targets.push(t);
        }
    }

    /// The table, with a `before` column when `previous` (an earlier JSON report) is given.
    pub fn render(&self, previous: Option<&Value>) -> String {
        let before =
            |key: &str| -> Option<f64> { previous?.get("rows")?.get(key)?.get("median")?.as_f64() };
        let mut out = String::new();
        let ctx: Vec<String> = self
            .context
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k} {s}"),
                other => format!("{k} {other}"),
            })
            .collect();
        let _ = writeln!(out, "deploykit-wasm benchmarks ({})", ctx.join(", "));
        let _ = write!(
            out,
            "{:<58} {:>13} {:>25} {:>6}",
            "", "median", "p10 – p90", "n"
        );
        if previous.is_some() {
            let _ = write!(out, " {:>13} {:>8}", "before", "change");
        }
        out.push('\n');
        for (title, rows) in &self.sections {
            let _ = writeln!(out, "{title}");
            for r in rows {
                let spread = match (r.p10, r.p90) {
                    (Some(a), Some(b)) => format!("{} – {}", r.unit.show(a), r.unit.show(b)),
                    _ => String::new(),
                };
                let _ = write!(
                    out,
                    "  {:<56} {:>13} {:>25} {:>6}",
                    r.label,
                    r.unit.show(r.median),
                    spread,
                    r.n
                );
                if let Some(b) = before(&r.key) {
                    let change = (r.median - b) / b * 100.0;
                    let _ = write!(out, " {:>13} {:>+7.1}%", r.unit.show(b), change);
                }
                out.push('\n');
            }
        }
        if !self.targets.is_empty() {
            let _ = writeln!(out, "targets (issue 7; ratios from this run)");
            for t in &self.targets {
                let _ = writeln!(
                    out,
                    "  {:<6} {:<50} {:>13}   {} {}",
                    if t.met() { "met" } else { "MISSED" },
                    t.label,
                    t.unit.show(t.value),
                    if t.at_most { "≤" } else { "≥" },
                    t.unit.show(t.limit)
                );
            }
        }
        for n in &self.notes {
            let _ = writeln!(out, "note: {n}");
        }
        out
    }

    /// The same figures as JSON.
    pub fn to_json(&self) -> Value {
        let mut rows = serde_json::Map::new();
        let mut order = Vec::new();
        for (title, section) in &self.sections {
            for r in section {
                order.push(Value::from(r.key.clone()));
                rows.insert(
                    r.key.clone(),
                    json!({
                        "section": title,
                        "label": r.label,
                        "unit": r.unit.name(),
                        "median": r.median,
                        "p10": r.p10,
                        "p90": r.p90,
                        "n": r.n,
                    }),
                );
            }
        }
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|t| {
                json!({
                    "label": t.label, "key": t.key, "value": t.value, "limit": t.limit,
                    "at_most": t.at_most, "unit": t.unit.name(), "met": t.met(),
                })
            })
            .collect();
        json!({
            "format": "deploykit-bench/1",
            "context": self.context,
            "order": order,
            "rows": rows,
            "targets": targets,
            "notes": self.notes,
        })
    }
}

/// Prints the change of every figure between two JSON reports.
pub fn compare(old: &Value, new: &Value) -> String {
    let mut out = String::new();
    let rows = |v: &Value| v.get("rows").and_then(Value::as_object).cloned();
    let (Some(a), Some(b)) = (rows(old), rows(new)) else {
        return "not deploykit-bench reports\n".into();
    };
    let order: Vec<String> = new
        .get("order")
        .and_then(Value::as_array)
        .map(|o| {
            o.iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_else(|| b.keys().cloned().collect());
    let unit_of = |s: &str| match s {
        "ns" => Unit::Nanos,
        "ms" => Unit::Millis,
        "KiB" => Unit::Kib,
        "calls/s" => Unit::PerSec,
        _ => Unit::Ratio,
    };
    let _ = writeln!(
        out,
        "{:<58} {:>13} {:>13} {:>8}",
        "", "before", "after", "change"
    );
    for key in order {
        let Some(new_row) = b.get(&key) else { continue };
        let label = new_row["label"].as_str().unwrap_or(&key);
        let unit = unit_of(new_row["unit"].as_str().unwrap_or(""));
        let after = new_row["median"].as_f64().unwrap_or(f64::NAN);
        match a.get(&key).and_then(|r| r["median"].as_f64()) {
            Some(before) => {
                let _ = writeln!(
                    out,
                    "  {:<56} {:>13} {:>13} {:>+7.1}%",
                    label,
                    unit.show(before),
                    unit.show(after),
                    (after - before) / before * 100.0
                );
            }
            None => {
                let _ = writeln!(out, "  {:<56} {:>13} {:>13}", label, "-", unit.show(after));
            }
        }
    }
    out
}
