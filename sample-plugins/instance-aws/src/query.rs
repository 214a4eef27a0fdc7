//! EC2 query-API parameters, form-encoded with the percent-encoding SigV4 requires.

/// An EC2 request: `Action`, `Version` and the action's parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    params: Vec<(String, String)>,
}

/// The EC2 API version this plugin speaks.
pub const EC2_API_VERSION: &str = "2016-11-15";

impl Query {
    /// A request for `action`.
    pub fn new(action: &str) -> Query {
        Query {
            params: vec![
                ("Action".into(), action.into()),
                ("Version".into(), EC2_API_VERSION.into()),
            ],
        }
    }

    /// The action's name.
    pub fn action(&self) -> &str {
        &self.params[0].1
    }

    /// Adds one parameter.
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.params.push((key.into(), value.into()));
        self
    }

    /// Adds a parameter when the value is present.
    pub fn push_opt<V: ToString>(&mut self, key: &str, value: Option<&V>) -> &mut Self {
        if let Some(v) = value {
            self.push(key, v.to_string());
        }
        self
    }

    /// Adds a list as `prefix.1`, `prefix.2`, … (EC2's list encoding).
    pub fn push_list(&mut self, prefix: &str, values: &[String]) -> &mut Self {
        for (i, v) in values.iter().enumerate() {
            self.push(format!("{prefix}.{}", i + 1), v.clone());
        }
        self
    }

    /// The value of `key`, if set (for tests and logs).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The `application/x-www-form-urlencoded` body.
    pub fn to_form(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.params.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(&encode(k));
            out.push('=');
            out.push_str(&encode(v));
        }
        out
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, in upper-case hex, as SigV4 specifies.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_encodes_reserved_characters() {
        let mut q = Query::new("CreateTags");
        q.push("ResourceId.1", "i-1")
            .push("Tag.1.Key", "infrakit.group")
            .push("Tag.1.Value", "a b/c+d=é*~");
        assert_eq!(q.action(), "CreateTags");
        assert_eq!(
            q.to_form(),
            "Action=CreateTags&Version=2016-11-15&ResourceId.1=i-1&Tag.1.Key=infrakit.group\
             &Tag.1.Value=a%20b%2Fc%2Bd%3D%C3%A9%2A~"
        );
    }

    #[test]
    fn lists_are_numbered_from_one() {
        let mut q = Query::new("X");
        q.push_list("SecurityGroupId", &["sg-1".into(), "sg-2".into()])
            .push_opt("KeyName", None::<&String>)
            .push_opt("MaxResults", Some(&5));
        assert_eq!(q.get("SecurityGroupId.1"), Some("sg-1"));
        assert_eq!(q.get("SecurityGroupId.2"), Some("sg-2"));
        assert_eq!(q.get("KeyName"), None);
        assert_eq!(q.get("MaxResults"), Some("5"));
    }
}
