//! Waits for a group to converge, showing "ready/target" progress on stderr.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use deploykit_host::GroupStatus;

/// How often the group is looked at while waiting.
const LOOK_EVERY: Duration = Duration::from_millis(200);

/// Polls the group until it converges; fails after `timeout`, naming how far it got.
pub fn converged(
    status_of: &dyn Fn(&str) -> Result<GroupStatus>,
    id: &str,
    timeout: Duration,
) -> Result<()> {
    let start = Instant::now();
    let terminal = std::io::stderr().is_terminal();
    let mut shown: Option<String> = None;
    loop {
        let status = status_of(id);
        let line = match &status {
            Ok(s) => format!("group {id}: {}", progress(s)),
            Err(e) => format!("group {id}: {e}"),
        };
        if shown.as_deref() != Some(line.as_str()) {
            let mut err = std::io::stderr().lock();
            if terminal {
                write!(err, "\r\x1b[2K{line}")?;
            } else {
                writeln!(err, "{line}")?;
            }
            err.flush()?;
            shown = Some(line);
        }
        if matches!(&status, Ok(s) if s.converged) {
            if terminal {
                eprintln!();
            }
            return Ok(());
        }
        if start.elapsed() >= timeout {
            if terminal {
                eprintln!();
            }
            let got = match status {
                Ok(s) => progress(&s),
                Err(e) => e.to_string(),
            };
            bail!(
                "group '{id}' did not converge within {} ({got}); the spec stays committed: commit it again to carry on",
                humantime::format_duration(timeout)
            );
        }
        std::thread::sleep(
            LOOK_EVERY
                .min(timeout.saturating_sub(start.elapsed()))
                .max(Duration::from_millis(1)),
        );
    }
}

/// `2/3 instances ready, 4 members, rolling update`.
fn progress(s: &GroupStatus) -> String {
    let ready = s.ready.min(s.target as usize);
    let mut line = format!("{ready}/{} instances ready", s.target);
    if s.members != ready {
        line.push_str(&format!(", {} members", s.members));
    }
    if s.updating {
        line.push_str(", rolling update");
    }
    if s.converged {
        line.push_str(", converged");
    }
    line
}
