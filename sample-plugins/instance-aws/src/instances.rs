//! InfraKit's EC2 instance semantics over the EC2 client: provision, describe, label and destroy.

use deploykit_sdk::{Description, Error, Json, Result, Spec, Tags};

use crate::config::Config;
use crate::ec2::{Ec2, Instance};
use crate::properties::{Properties, check_tags};

/// The states DescribeInstances keeps, as InfraKit's plugin does: shutting
/// down, terminated, stopping and stopped instances are not members.
pub const LIVE_STATES: [&str; 2] = ["pending", "running"];

/// Launches one instance for `spec` and returns its ID.
///
/// Its tags are the properties' `Tags`, then the spec's, then the
/// configured namespace (later ones win), applied at launch with a tag
/// specification, so an instance is never untagged; `Init` becomes the
/// UserData and `LogicalID` the private IP.
pub fn provision(ec2: &Ec2<'_>, config: &Config, spec: &Spec) -> Result<String> {
    let properties = Properties::parse(spec.properties.as_ref())?;
    let mut tags = properties.tags.clone();
    tags.extend(spec.tags.clone());
    tags.extend(config.namespace.clone());
    let init = (!spec.init.is_empty()).then_some(spec.init.as_str());
    let query = properties.run_instances(&tags, init, spec.logical_id.as_deref())?;
    let id = ec2.run_instance(&query)?;
    deploykit_sdk::debug!("launched {id}");
    Ok(id)
}

/// Every live instance carrying all of `tags` (and the namespace), following
/// NextToken across pages, sorted by ID.
pub fn describe(
    ec2: &Ec2<'_>,
    config: &Config,
    tags: &Tags,
    properties: bool,
) -> Result<Vec<Description>> {
    let mut wanted = tags.clone();
    wanted.extend(config.namespace.clone());
    let mut filters = vec![(
        "instance-state-name".to_string(),
        LIVE_STATES.iter().map(|s| s.to_string()).collect(),
    )];
    filters.extend(
        wanted
            .iter()
            .map(|(k, v)| (format!("tag:{k}"), vec![escape_filter(v)])),
    );
    let mut found = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ec2.describe_page(&filters, token.as_deref())?;
        found.extend(page.instances.into_iter().filter(|i| keep(i, &wanted)));
        match page.next_token {
            Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
            _ => break,
        }
    }
    found.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    found.dedup_by(|a, b| a.instance_id == b.instance_id);
    found
        .into_iter()
        .map(|i| describe_one(i, properties))
        .collect()
}

/// The filters have already selected these; checked again here because EC2
/// filter values are patterns, and so that a lenient endpoint cannot widen them.
fn keep(instance: &Instance, wanted: &Tags) -> bool {
    LIVE_STATES.contains(&instance.state.as_str())
        && wanted.iter().all(|(k, v)| instance.tags.get(k) == Some(v))
}

/// EC2 filter values treat `*` and `?` as wildcards; a backslash makes them literal.
fn escape_filter(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn describe_one(instance: Instance, properties: bool) -> Result<Description> {
    let properties = properties
        .then(|| Json::from_value(&instance))
        .transpose()?;
    Ok(Description {
        id: instance.instance_id,
        logical_id: instance.private_ip_address,
        tags: instance.tags,
        properties,
    })
}

/// Merges `labels` into the instance's tags (CreateTags overwrites the
/// named keys and keeps the others). Keys under `aws:` are EC2's own and are
/// left alone.
pub fn label(ec2: &Ec2<'_>, id: &str, labels: &Tags) -> Result<()> {
    check_id(id)?;
    let labels: Tags = labels
        .iter()
        .filter(|(k, _)| !k.to_ascii_lowercase().starts_with("aws:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    check_tags(&labels, "labels")?;
    if labels.is_empty() {
        return Ok(());
    }
    ec2.create_tags(id, &labels)
}

/// Terminates the instance; an unknown ID is `not-found`.
pub fn destroy(ec2: &Ec2<'_>, id: &str) -> Result<()> {
    check_id(id)?;
    match ec2.terminate(id)?.as_slice() {
        [one] if one == id => Ok(()),
        _ => Err(Error::NotFound(format!("destroy {id}: no such instance"))),
    }
}

/// EC2 instance IDs are `i-` and hex.
fn check_id(id: &str) -> Result<()> {
    let ok = id
        .strip_prefix("i-")
        .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(Error::NotFound(format!("'{id}' is not an EC2 instance ID")))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use super::*;
    use crate::config::{Endpoint, RawConfig};
    use crate::transport::{Response, Transport};

    /// A request as the fake saw it: headers and form body.
    type Sent = (Vec<(String, String)>, String);

    /// An instance of a canned answer: ID, state, tags.
    type Item<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)]);

    /// Records requests and answers from a queue.
    #[derive(Default)]
    struct Fake {
        sent: RefCell<Vec<Sent>>,
        answers: RefCell<VecDeque<Response>>,
    }

    impl Fake {
        fn answer(self, status: u16, body: &str) -> Fake {
            self.answers.borrow_mut().push_back(Response {
                status,
                body: body.as_bytes().to_vec(),
            });
            self
        }

        /// The form parameters of request `n`, decoded.
        fn params(&self, n: usize) -> Vec<(String, String)> {
            let sent = self.sent.borrow();
            sent[n]
                .1
                .split('&')
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (decode(k), decode(v))
                })
                .collect()
        }

        fn param(&self, n: usize, key: &str) -> Option<String> {
            self.params(n)
                .into_iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
        }
    }

    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    impl Transport for Fake {
        fn post(
            &self,
            _: &Endpoint,
            headers: &[(String, String)],
            body: &[u8],
        ) -> Result<Response> {
            self.sent
                .borrow_mut()
                .push((headers.to_vec(), String::from_utf8(body.to_vec()).unwrap()));
            self.answers
                .borrow_mut()
                .pop_front()
                .ok_or_else(|| Error::Unavailable("no answer queued".into()))
        }
    }

    fn config(extra: &str) -> Config {
        let raw: RawConfig = serde_json::from_str(&format!(
            r#"{{"region":"us-east-1","endpoint":"http://127.0.0.1:5000","access-key-id":"AKIDEXAMPLE",
                "secret-access-key":"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"{extra}}}"#
        ))
        .unwrap();
        Config::resolve(raw, |_| None).unwrap()
    }

    fn fixed_clock() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_440_938_160)
    }

    const RUN: &str = r#"<RunInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
        <reservationId>r-1</reservationId><instancesSet><item><instanceId>i-0abc</instanceId>
        <instanceState><code>0</code><name>pending</name></instanceState></item></instancesSet></RunInstancesResponse>"#;

    fn spec(properties: &str) -> Spec {
        Spec {
            properties: Some(Json::new(properties).unwrap()),
            tags: [("infrakit.group".to_string(), "web".to_string())]
                .into_iter()
                .collect(),
            init: "#!/bin/sh\necho hello".into(),
            logical_id: Some("10.0.0.5".into()),
            ..Spec::default()
        }
    }

    #[test]
    fn provision_sends_a_signed_run_instances_with_every_tag() {
        let fake = Fake::default().answer(200, RUN);
        let config = config(r#","namespace":{"cluster":"c1"}"#);
        let ec2 = Ec2::new(&config, &fake).with_clock(fixed_clock);
        let id = provision(
            &ec2,
            &config,
            &spec(r#"{"Tags":{"tier":"web","infrakit.group":"overridden"},"RunInstancesInput":{"ImageId":"ami-1"}}"#),
        )
        .unwrap();
        assert_eq!(id, "i-0abc");
        assert_eq!(fake.param(0, "Action").as_deref(), Some("RunInstances"));
        assert_eq!(fake.param(0, "ImageId").as_deref(), Some("ami-1"));
        assert_eq!(
            fake.param(0, "PrivateIpAddress").as_deref(),
            Some("10.0.0.5")
        );
        assert_eq!(
            fake.param(0, "UserData").as_deref(),
            Some("IyEvYmluL3NoCmVjaG8gaGVsbG8=")
        );
        let tags: Vec<(String, String)> = (1..=3)
            .map(|i| {
                (
                    fake.param(0, &format!("TagSpecification.1.Tag.{i}.Key"))
                        .unwrap(),
                    fake.param(0, &format!("TagSpecification.1.Tag.{i}.Value"))
                        .unwrap(),
                )
            })
            .collect();
        assert_eq!(
            tags,
            [
                ("cluster".to_string(), "c1".to_string()),
                ("infrakit.group".to_string(), "web".to_string()),
                ("tier".to_string(), "web".to_string()),
            ],
            "spec tags win over property tags; the namespace is added"
        );
        let headers = &fake.sent.borrow()[0].0;
        let auth = &headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1;
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, \
                 SignedHeaders=content-type;host;x-amz-date, Signature="
            ),
            "{auth}"
        );
        assert!(
            headers.iter().all(|(k, _)| k != "host"),
            "the host sets Host"
        );
    }

    #[test]
    fn a_session_token_is_sent_and_signed() {
        let fake = Fake::default().answer(200, RUN);
        let config = config(r#","session-token":"tok""#);
        let ec2 = Ec2::new(&config, &fake).with_clock(fixed_clock);
        provision(
            &ec2,
            &config,
            &spec(r#"{"RunInstancesInput":{"ImageId":"ami-1"}}"#),
        )
        .unwrap();
        let headers = &fake.sent.borrow()[0].0;
        assert!(headers.contains(&("x-amz-security-token".into(), "tok".into())));
        let auth = &headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .unwrap()
            .1;
        assert!(
            auth.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token"),
            "{auth}"
        );
    }

    fn reservation(items: &[Item<'_>]) -> String {
        let mut xml =
            String::from("<reservationSet><item><reservationId>r-1</reservationId><instancesSet>");
        for (id, state, tags) in items {
            xml.push_str(&format!(
                "<item><instanceId>{id}</instanceId><imageId>ami-1</imageId><instanceType>t3.micro</instanceType>\
                 <instanceState><code>16</code><name>{state}</name></instanceState>\
                 <privateIpAddress>10.0.0.9</privateIpAddress><groupSet><item><groupId>sg-1</groupId></item></groupSet><tagSet>"
            ));
            for (k, v) in *tags {
                xml.push_str(&format!("<item><key>{k}</key><value>{v}</value></item>"));
            }
            xml.push_str("</tagSet></item>");
        }
        xml.push_str("</instancesSet></item></reservationSet>");
        xml
    }

    #[test]
    fn describe_follows_pages_and_keeps_live_matching_instances() {
        let page1 = format!(
            "<DescribeInstancesResponse>{}<nextToken>t2</nextToken></DescribeInstancesResponse>",
            reservation(&[
                ("i-2", "running", &[("tier", "web")]),
                ("i-9", "terminated", &[("tier", "web")])
            ])
        );
        let page2 = format!(
            "<DescribeInstancesResponse>{}</DescribeInstancesResponse>",
            reservation(&[
                ("i-1", "pending", &[("tier", "web")]),
                ("i-3", "running", &[("tier", "db")])
            ])
        );
        let fake = Fake::default().answer(200, &page1).answer(200, &page2);
        let config = config(r#","page-size":5"#);
        let ec2 = Ec2::new(&config, &fake);
        let tags: Tags = [("tier".to_string(), "web*".to_string())]
            .into_iter()
            .collect();
        let found = describe(&ec2, &config, &tags, false).unwrap();
        assert!(
            found.is_empty(),
            "web* is a literal value, not a pattern: {found:?}"
        );
        assert_eq!(
            fake.param(0, "Filter.1.Name").as_deref(),
            Some("instance-state-name")
        );
        assert_eq!(
            fake.param(0, "Filter.1.Value.1").as_deref(),
            Some("pending")
        );
        assert_eq!(
            fake.param(0, "Filter.1.Value.2").as_deref(),
            Some("running")
        );
        assert_eq!(fake.param(0, "Filter.2.Name").as_deref(), Some("tag:tier"));
        assert_eq!(fake.param(0, "Filter.2.Value.1").as_deref(), Some("web\\*"));
        assert_eq!(fake.param(0, "MaxResults").as_deref(), Some("5"));
        assert_eq!(fake.param(1, "NextToken").as_deref(), Some("t2"));

        let fake = Fake::default().answer(200, &page1).answer(200, &page2);
        let ec2 = Ec2::new(&config, &fake);
        let tags: Tags = [("tier".to_string(), "web".to_string())]
            .into_iter()
            .collect();
        let found = describe(&ec2, &config, &tags, true).unwrap();
        let ids: Vec<&str> = found.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(
            ids,
            ["i-1", "i-2"],
            "two pages, sorted, terminated and other tiers left out"
        );
        assert_eq!(found[0].logical_id.as_deref(), Some("10.0.0.9"));
        let props: serde_json::Value = found[0].properties.as_ref().unwrap().parse().unwrap();
        assert_eq!(props["InstanceId"], "i-1");
        assert_eq!(props["State"], "pending");
        assert_eq!(props["Tags"]["tier"], "web");
    }

    #[test]
    fn label_merges_with_create_tags_and_skips_aws_keys() {
        let fake = Fake::default().answer(
            200,
            "<CreateTagsResponse><return>true</return></CreateTagsResponse>",
        );
        let config = config("");
        let ec2 = Ec2::new(&config, &fake);
        let labels: Tags = [
            ("a".to_string(), "1".to_string()),
            ("aws:x".to_string(), "2".to_string()),
        ]
        .into_iter()
        .collect();
        label(&ec2, "i-0abc", &labels).unwrap();
        assert_eq!(fake.param(0, "Action").as_deref(), Some("CreateTags"));
        assert_eq!(fake.param(0, "ResourceId.1").as_deref(), Some("i-0abc"));
        assert_eq!(fake.param(0, "Tag.1.Key").as_deref(), Some("a"));
        assert_eq!(fake.param(0, "Tag.2.Key"), None);
        assert!(matches!(
            label(&ec2, "nope", &labels),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn destroy_terminates_and_reports_unknown_ids() {
        let ok = "<TerminateInstancesResponse><instancesSet><item><instanceId>i-0abc</instanceId></item></instancesSet></TerminateInstancesResponse>";
        let missing = "<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-0def' does not exist</Message></Error></Errors></Response>";
        let fake = Fake::default().answer(200, ok).answer(400, missing);
        let config = config("");
        let ec2 = Ec2::new(&config, &fake);
        destroy(&ec2, "i-0abc").unwrap();
        assert_eq!(fake.param(0, "InstanceId.1").as_deref(), Some("i-0abc"));
        let err = destroy(&ec2, "i-0def").unwrap_err();
        assert!(
            matches!(&err, Error::NotFound(m) if m.contains("InvalidInstanceID.NotFound")),
            "{err:?}"
        );
    }

    #[test]
    fn http_failures_are_unavailable() {
        let fake = Fake::default();
        let config = config("");
        let ec2 = Ec2::new(&config, &fake);
        let err = destroy(&ec2, "i-1").unwrap_err();
        assert_eq!(
            err,
            Error::Unavailable("EC2 TerminateInstances: no answer queued".into())
        );
    }
}
