//! Prints results: InfraKit's JSON with `--json`, otherwise tables and plain text.

use std::io::Write;

use anyhow::Result;

/// How results are printed.
pub struct Output {
    /// Print JSON result objects.
    pub json: bool,
}

impl Output {
    /// Prints one line.
    pub fn line(&self, text: &str) -> Result<()> {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{text}")?;
        Ok(())
    }

    /// Prints rows as aligned columns under a header.
    pub fn table(&self, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
        let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
        for row in rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = std::io::stdout().lock();
        let fmt = |cells: Vec<&str>| {
            let last = cells.len() - 1;
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    if i == last {
                        c.to_string()
                    } else {
                        format!("{c:<w$}", w = widths[i])
                    }
                })
                .collect::<Vec<_>>()
                .join("  ")
        };
        writeln!(out, "{}", fmt(header.to_vec()))?;
        for row in rows {
            writeln!(out, "{}", fmt(row.iter().map(String::as_str).collect()))?;
        }
        Ok(())
    }
}
