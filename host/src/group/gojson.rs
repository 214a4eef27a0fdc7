//! Go's `encoding/json` output, byte for byte, where InfraKit's behaviour depends on it: compacting and sorted indenting.
//!
//! Two places need Go's exact bytes: the config hash (SHA-1 over
//! `json.MarshalIndent` of a decoded map) and the normalized specs of
//! `InspectGroups` (raw properties re-marshalled through Go, which compacts
//! them). Go escapes `<`, `>` and `&` in strings as `\u003c`, `\u003e` and
//! `\u0026` (and U+2028, U+2029 likewise), writes other control characters
//! as `\u00XX` except `\n`, `\r` and `\t`, and formats every number of a
//! decoded map as a float64.

use std::fmt::Write;

use serde_json::Value;

/// Go's `json.Compact` with HTML escaping (what `json.Marshal` does to a
/// `json.RawMessage`): whitespace between tokens is removed, key order and
/// number text are kept. `raw` must be valid JSON.
pub(crate) fn compact(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_string {
            if escaped {
                escaped = false;
                out.push(c);
            } else if c == '\\' {
                escaped = true;
                out.push(c);
            } else if c == '"' {
                in_string = false;
                out.push(c);
            } else {
                push_html_safe(&mut out, c);
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Go's `json.MarshalIndent(v, prefix, indent)` of a value decoded into
/// `interface{}`: object keys sorted, numbers as float64.
pub(crate) fn marshal_indent(value: &Value, prefix: &str, indent: &str) -> String {
    let mut out = String::new();
    write_indented(&mut out, value, prefix, indent, 0);
    out
}

fn newline(out: &mut String, prefix: &str, indent: &str, depth: usize) {
    out.push('\n');
    out.push_str(prefix);
    for _ in 0..depth {
        out.push_str(indent);
    }
}

fn write_indented(out: &mut String, value: &Value, prefix: &str, indent: &str, depth: usize) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, prefix, indent, depth + 1);
                write_string(out, key);
                out.push_str(": ");
                write_indented(out, &map[key], prefix, indent, depth + 1);
            }
            newline(out, prefix, indent, depth);
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, prefix, indent, depth + 1);
                write_indented(out, item, prefix, indent, depth + 1);
            }
            newline(out, prefix, indent, depth);
            out.push(']');
        }
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&format_float(n.as_f64().unwrap_or(f64::NAN))),
        Value::String(s) => write_string(out, s),
    }
}

/// A string as Go's encoder writes it (with HTML escaping, as `json.Marshal` does).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Go before 1.22 (InfraKit's releases) wrote \b and \f this way too.
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => push_html_safe(out, c),
        }
    }
    out.push('"');
}

fn push_html_safe(out: &mut String, c: char) {
    match c {
        '<' => out.push_str("\\u003c"),
        '>' => out.push_str("\\u003e"),
        '&' => out.push_str("\\u0026"),
        '\u{2028}' => out.push_str("\\u2028"),
        '\u{2029}' => out.push_str("\\u2029"),
        c => out.push(c),
    }
}

/// A float64 as Go's encoder writes it: the shortest text that reads back
/// the same, plain decimal for 1e-6 <= |f| < 1e21, else exponent form with
/// Go's sign and digits (`1e-7`, `1e+21`).
fn format_float(f: f64) -> String {
    let abs = f.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        return format!("{f}");
    }
    let text = format!("{f:e}");
    let (mantissa, exp) = text.split_once('e').expect("{:e} always has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponents are integers");
    if exp < 0 {
        format!("{mantissa}e-{}", -exp)
    } else {
        format!("{mantissa}e+{exp:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indent(json: &str) -> String {
        marshal_indent(&serde_json::from_str(json).unwrap(), "  ", "  ")
    }

    #[test]
    fn indents_like_go_with_a_prefix() {
        assert_eq!(
            indent(r#"{"Properties":{"note":"v1"},"Plugin":"file"}"#),
            "{\n    \"Plugin\": \"file\",\n    \"Properties\": {\n      \"note\": \"v1\"\n    }\n  }"
        );
        assert_eq!(
            indent(r#"{"a":[],"b":{},"c":[1,null,true]}"#),
            "{\n    \"a\": [],\n    \"b\": {},\n    \"c\": [\n      1,\n      null,\n      true\n    ]\n  }"
        );
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(
            indent(r#""<a href=\"x\">&\u0001\n\u2028é""#),
            r#""\u003ca href=\"x\"\u003e\u0026\u0001\n\u2028é""#
        );
    }

    #[test]
    fn numbers_are_float64_in_go_notation() {
        for (input, go) in [
            ("1", "1"),
            ("1.0", "1"),
            ("-0.5", "-0.5"),
            ("1e3", "1000"),
            ("0.000001", "0.000001"),
            ("0.0000001", "1e-7"),
            ("1.5e-10", "1.5e-10"),
            ("1e21", "1e+21"),
            ("123456789012345678901234", "1.2345678901234569e+23"),
            ("12345678901234567890", "12345678901234567000"),
        ] {
            assert_eq!(indent(input), go, "{input}");
        }
    }

    #[test]
    fn compact_keeps_order_and_number_text() {
        assert_eq!(
            compact("{ \"b\" : 1.50,\n \"a\": [ \"x y\", \"<\" ] }"),
            r#"{"b":1.50,"a":["x y","\u003c"]}"#
        );
        assert_eq!(compact(r#""a\"<b""#), r#""a\"\u003cb""#);
    }
}
