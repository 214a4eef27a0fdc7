//! The plugin's configuration: region, endpoint and credentials from the manifest's `[config]` (or its granted `[env]`).

use deploykit_sdk::{Error, Result, Tags};
use serde::Deserialize;

use crate::sigv4::Credentials;

/// The `[config]` table of the plugin's manifest.
///
/// ```toml
/// [config]
/// region = "eu-west-1"
/// # endpoint = "http://127.0.0.1:5000"   # default https://ec2.<region>.amazonaws.com
/// access-key-id = "AKIA…"
/// secret-access-key = "…"
/// # session-token = "…"                  # temporary credentials
/// # namespace = { cluster = "prod" }      # tags on every instance, and filters on every describe
/// # page-size = 100                       # DescribeInstances MaxResults (5 to 1000)
/// ```
///
/// `region`, `access-key-id`, `secret-access-key` and `session-token` fall
/// back to `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
/// `AWS_SESSION_TOKEN` when the manifest's `[env]` grants them: the plugin
/// sees no other environment.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct RawConfig {
    region: Option<String>,
    endpoint: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    namespace: Tags,
    page_size: Option<u32>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The region requests are signed for.
    pub region: String,
    /// Where requests go.
    pub endpoint: Endpoint,
    /// Who signs them.
    pub credentials: Credentials,
    /// Tags on every instance this plugin makes, and filters on every describe.
    pub namespace: Tags,
    /// DescribeInstances' MaxResults, if set.
    pub page_size: Option<u32>,
}

/// An HTTP(S) endpoint, split into what the request and the signature need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `true` for https.
    pub https: bool,
    /// `host[:port]`, the `Host` header.
    pub authority: String,
    /// The path, `/` at least.
    pub path: String,
}

impl Endpoint {
    /// Parses `http(s)://host[:port][/path]`.
    pub fn parse(url: &str) -> Result<Endpoint> {
        let bad =
            |why: &str| Error::InvalidInput(format!("invalid config: endpoint '{url}': {why}"));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected http(s)://host[:port]"))?;
        let https = match scheme {
            "https" => true,
            "http" => false,
            _ => return Err(bad("the scheme must be http or https")),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || authority.contains(['@', '?', '#']) {
            return Err(bad("expected a host"));
        }
        if path.contains(['?', '#']) {
            return Err(bad("an endpoint has no query"));
        }
        Ok(Endpoint {
            https,
            authority: authority.to_owned(),
            path: path.to_owned(),
        })
    }

    /// The endpoint as a URL, for messages.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{}", self.authority, self.path)
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url())
    }
}

/// EC2's regional endpoint: `https://ec2.<region>.amazonaws.com` (`.com.cn` in China).
pub fn regional_endpoint(region: &str) -> String {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://ec2.{region}.{suffix}")
}

impl Config {
    /// Reads the plugin's configuration (and its granted environment).
    pub fn load() -> Result<Config> {
        Config::resolve(deploykit_sdk::config::parse()?, |k| std::env::var(k).ok())
    }

    /// Resolves `raw`, taking missing values from `env`.
    pub fn resolve(raw: RawConfig, env: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let pick =
            |value: Option<String>, var: &str| value.or_else(|| env(var)).filter(|v| !v.is_empty());
        let region = pick(raw.region, "AWS_REGION").ok_or_else(|| {
            Error::InvalidInput(
                "invalid config: region is missing (set region in the manifest's [config])".into(),
            )
        })?;
        let access_key_id = pick(raw.access_key_id, "AWS_ACCESS_KEY_ID");
        let secret_access_key = pick(raw.secret_access_key, "AWS_SECRET_ACCESS_KEY");
        let (Some(access_key_id), Some(secret_access_key)) = (access_key_id, secret_access_key)
        else {
            return Err(Error::InvalidInput(
                "invalid config: no AWS credentials (set access-key-id and secret-access-key in the \
                 manifest's [config], or grant AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in its [env])"
                    .into(),
            ));
        };
        if let Some(n) = raw.page_size
            && !(5..=1000).contains(&n)
        {
            return Err(Error::InvalidInput(format!(
                "invalid config: page-size {n} is outside EC2's 5 to 1000"
            )));
        }
        let endpoint = match raw.endpoint {
            Some(url) => Endpoint::parse(&url)?,
            None => Endpoint::parse(&regional_endpoint(&region))?,
        };
        Ok(Config {
            region,
            endpoint,
            credentials: Credentials {
                access_key_id,
                secret_access_key,
                session_token: pick(raw.session_token, "AWS_SESSION_TOKEN"),
            },
            namespace: raw.namespace,
            page_size: raw.page_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> RawConfig {
        serde_json::from_str(json).unwrap()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_regional_endpoint_is_the_default() {
        let c = Config::resolve(
            raw(r#"{"region":"eu-west-1","access-key-id":"A","secret-access-key":"S"}"#),
            no_env,
        )
        .unwrap();
        assert_eq!(c.endpoint.url(), "https://ec2.eu-west-1.amazonaws.com/");
        assert_eq!(c.endpoint.authority, "ec2.eu-west-1.amazonaws.com");
        assert_eq!(c.credentials.session_token, None);
        assert_eq!(
            regional_endpoint("cn-north-1"),
            "https://ec2.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn an_endpoint_for_an_emulator() {
        let c = Config::resolve(
            raw(
                r#"{"region":"us-east-1","endpoint":"http://127.0.0.1:5000","access-key-id":"A",
                    "secret-access-key":"S","namespace":{"cluster":"test"},"page-size":5}"#,
            ),
            no_env,
        )
        .unwrap();
        assert_eq!(
            c.endpoint,
            Endpoint {
                https: false,
                authority: "127.0.0.1:5000".into(),
                path: "/".into()
            }
        );
        assert_eq!(c.namespace["cluster"], "test");
        assert_eq!(c.page_size, Some(5));
    }

    #[test]
    fn the_granted_environment_fills_gaps() {
        let env = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKIAENV".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("secret".to_string()),
            "AWS_SESSION_TOKEN" => Some("token".to_string()),
            "AWS_REGION" => Some("ap-south-1".to_string()),
            _ => None,
        };
        let c = Config::resolve(raw("{}"), env).unwrap();
        assert_eq!(c.region, "ap-south-1");
        assert_eq!(c.credentials.access_key_id, "AKIAENV");
        assert_eq!(c.credentials.session_token.as_deref(), Some("token"));
        assert!(
            !format!("{:?}", c.credentials).contains("secret"),
            "the secret is not printed"
        );
    }

    #[test]
    fn missing_or_bad_settings_are_named() {
        let err = |json: &str| Config::resolve(raw(json), no_env).unwrap_err().to_string();
        assert!(err("{}").contains("region is missing"));
        assert!(err(r#"{"region":"x"}"#).contains("no AWS credentials"));
        let base = r#""region":"x","access-key-id":"A","secret-access-key":"S""#;
        assert!(err(&format!(r#"{{{base},"page-size":1}}"#)).contains("page-size 1"));
        assert!(err(&format!(r#"{{{base},"endpoint":"ftp://x"}}"#)).contains("http or https"));
        assert!(err(&format!(r#"{{{base},"endpoint":"http://x/?a"}}"#)).contains("no query"));
        assert!(serde_json::from_str::<RawConfig>(r#"{"regoin":"x"}"#).is_err());
    }
}
