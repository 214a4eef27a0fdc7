//! Go's `time.Duration` text: `ParseDuration` syntax in, `Duration.String()` out ("0s", "10s", "1m30s", "1.5ms").

use std::time::Duration;

/// Parses Go duration text such as `"300ms"`, `"1.5h"` or `"2h45m"`; `"0"`
/// alone is zero. Negative durations are refused.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration \"{text}\"");
    let mut s = text.strip_prefix('+').unwrap_or(text);
    if s.starts_with('-') {
        return Err(format!(
            "invalid duration \"{text}\": it must not be negative"
        ));
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let digits_end = s
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(|| format!("missing unit in duration \"{text}\""))?;
        let (number, rest) = s.split_at(digits_end);
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let (unit, rest) = rest.split_at(unit_end);
        let nanos_per: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("missing unit in duration \"{text}\"")),
            other => return Err(format!("unknown unit \"{other}\" in duration \"{text}\"")),
        };
        let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
        if (whole.is_empty() && frac.is_empty()) || frac.contains('.') {
            return Err(bad());
        }
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let mut value = whole.checked_mul(nanos_per).ok_or_else(bad)?;
        let mut scale = nanos_per;
        for digit in frac.bytes() {
            scale /= 10;
            value += u128::from(digit - b'0') * scale;
        }
        total = total.checked_add(value).ok_or_else(bad)?;
        s = rest;
    }
    u64::try_from(total)
        .ok()
        .filter(|n| *n <= i64::MAX as u64)
        .map(Duration::from_nanos)
        .ok_or_else(bad)
}

/// Go's `Duration.String()`: `0s`, `750ms`, `1.5s`, `1m30s`, `1h0m0s`.
pub(crate) fn format(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}\u{b5}s", fraction(nanos, 3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", fraction(nanos, 6));
    }
    let seconds = fraction(nanos % 60_000_000_000, 9);
    let minutes_total = nanos / 60_000_000_000;
    if minutes_total == 0 {
        return format!("{seconds}s");
    }
    let hours = minutes_total / 60;
    let minutes = minutes_total % 60;
    if hours == 0 {
        format!("{minutes}m{seconds}s")
    } else {
        format!("{hours}h{minutes}m{seconds}s")
    }
}

/// `value / 10^digits` as a decimal with trailing zeros (and a bare point) removed.
fn fraction(value: u128, digits: u32) -> String {
    let scale = 10u128.pow(digits);
    let whole = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let frac = format!("{frac:0width$}", width = digits as usize);
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        for (d, go) in [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(42), "42ns"),
            (Duration::from_nanos(1_500), "1.5\u{b5}s"),
            (Duration::from_millis(20), "20ms"),
            (Duration::from_millis(1_500), "1.5s"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(3_600), "1h0m0s"),
            (Duration::from_millis(3_661_001), "1h1m1.001s"),
        ] {
            assert_eq!(format(d), go);
        }
    }

    #[test]
    fn parses_like_go() {
        for (text, d) in [
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            ("10s", Duration::from_secs(10)),
            ("1.5s", Duration::from_millis(1_500)),
            (".5m", Duration::from_secs(30)),
            ("2h45m", Duration::from_secs(9_900)),
            ("300ms", Duration::from_millis(300)),
            ("1us", Duration::from_micros(1)),
            ("+1m30s", Duration::from_secs(90)),
        ] {
            assert_eq!(parse(text), Ok(d), "{text}");
            assert_eq!(parse(&format(d)), Ok(d), "round trip of {text}");
        }
        for bad in ["", "10", "1x", "-1s", "s", "1..5s", "."] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
