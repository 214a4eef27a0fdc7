//! A small EC2 query-API client: signs a request with SigV4, sends it, and reads EC2's XML answers and errors.

use std::time::SystemTime;

use deploykit_sdk::{Error, Result, Tags};
use roxmltree::{Document, Node};

use crate::config::Config;
use crate::query::Query;
use crate::sigv4::{self, Scope};
use crate::transport::Transport;

/// An EC2 client for one region and endpoint.
pub struct Ec2<'a> {
    config: &'a Config,
    transport: &'a dyn Transport,
    clock: fn() -> SystemTime,
}

/// One instance of a DescribeInstances answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Instance {
    /// `i-…`.
    pub instance_id: String,
    /// The AMI it runs.
    pub image_id: String,
    /// `t3.micro`, …
    pub instance_type: String,
    /// `pending`, `running`, `terminated`, …
    pub state: String,
    /// The primary private IP, if it has one.
    pub private_ip_address: Option<String>,
    /// The public IP, if it has one.
    pub public_ip_address: Option<String>,
    /// Its subnet.
    pub subnet_id: Option<String>,
    /// Its VPC.
    pub vpc_id: Option<String>,
    /// The availability zone.
    pub availability_zone: Option<String>,
    /// When it was launched.
    pub launch_time: Option<String>,
    /// Its tags.
    pub tags: Tags,
}

/// One page of DescribeInstances.
#[derive(Debug, Default)]
pub struct Page {
    /// The instances of the page.
    pub instances: Vec<Instance>,
    /// The token of the next page, if there is one.
    pub next_token: Option<String>,
}

impl<'a> Ec2<'a> {
    /// A client over `transport` with the system clock.
    pub fn new(config: &'a Config, transport: &'a dyn Transport) -> Ec2<'a> {
        Ec2 {
            config,
            transport,
            clock: SystemTime::now,
        }
    }

    /// The same client with another clock (for tests).
    pub fn with_clock(mut self, clock: fn() -> SystemTime) -> Ec2<'a> {
        self.clock = clock;
        self
    }

    /// Signs and sends `query`; returns the XML of a successful answer.
    pub fn call(&self, query: &Query) -> Result<String> {
        let body = query.to_form();
        let amz_date = sigv4::amz_date((self.clock)());
        let endpoint = &self.config.endpoint;
        let mut headers = vec![
            ("host".to_string(), endpoint.authority.clone()),
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded; charset=utf-8".to_string(),
            ),
            ("x-amz-date".to_string(), amz_date.clone()),
        ];
        if let Some(token) = &self.config.credentials.session_token {
            headers.push(("x-amz-security-token".to_string(), token.clone()));
        }
        let authorization = sigv4::authorization(
            &sigv4::Request {
                method: "POST",
                path: &endpoint.path,
                query: "",
                headers: &headers,
                payload: body.as_bytes(),
            },
            &self.config.credentials,
            &Scope {
                amz_date: &amz_date,
                region: &self.config.region,
                service: "ec2",
            },
        );
        // The host sets Host from the URL; it is signed, not sent by us.
        headers.retain(|(k, _)| k != "host");
        headers.push(("authorization".to_string(), authorization));
        let action = query.action();
        let response = self
            .transport
            .post(endpoint, &headers, body.as_bytes())
            .map_err(|e| Error::Unavailable(format!("EC2 {action}: {}", e.message())))?;
        let text = String::from_utf8_lossy(&response.body).into_owned();
        if (200..300).contains(&response.status) {
            Ok(text)
        } else {
            Err(api_error(action, response.status, &text))
        }
    }

    /// RunInstances; returns the new instance's ID.
    pub fn run_instance(&self, query: &Query) -> Result<String> {
        let xml = self.call(query)?;
        let doc = parse(query.action(), &xml)?;
        let ids: Vec<String> = child(doc.root_element(), "instancesSet")
            .map(|set| items(set).filter_map(|i| text(i, "instanceId")).collect())
            .unwrap_or_default();
        match &ids[..] {
            [id] => Ok(id.clone()),
            _ => Err(Error::Internal(format!(
                "EC2 RunInstances: expected one instance in the answer, found {}",
                ids.len()
            ))),
        }
    }

    /// One page of DescribeInstances with `filters` (name, values).
    pub fn describe_page(
        &self,
        filters: &[(String, Vec<String>)],
        next_token: Option<&str>,
    ) -> Result<Page> {
        let mut q = Query::new("DescribeInstances");
        for (i, (name, values)) in filters.iter().enumerate() {
            q.push(format!("Filter.{}.Name", i + 1), name.clone());
            q.push_list(&format!("Filter.{}.Value", i + 1), values);
        }
        q.push_opt("MaxResults", self.config.page_size.as_ref())
            .push_opt("NextToken", next_token.map(str::to_owned).as_ref());
        let xml = self.call(&q)?;
        let doc = parse(q.action(), &xml)?;
        let root = doc.root_element();
        let mut page = Page {
            next_token: text(root, "nextToken").filter(|t| !t.is_empty()),
            ..Page::default()
        };
        for reservation in child(root, "reservationSet").into_iter().flat_map(items) {
            for item in child(reservation, "instancesSet")
                .into_iter()
                .flat_map(items)
            {
                page.instances.push(instance(item));
            }
        }
        Ok(page)
    }

    /// CreateTags on one resource: adds the tags, overwriting same-named ones.
    pub fn create_tags(&self, id: &str, tags: &Tags) -> Result<()> {
        let mut q = Query::new("CreateTags");
        q.push("ResourceId.1", id);
        for (i, (k, v)) in tags.iter().enumerate() {
            q.push(format!("Tag.{}.Key", i + 1), k.clone())
                .push(format!("Tag.{}.Value", i + 1), v.clone());
        }
        self.call(&q).map(drop)
    }

    /// TerminateInstances on one instance; returns the IDs EC2 says it is terminating.
    pub fn terminate(&self, id: &str) -> Result<Vec<String>> {
        let mut q = Query::new("TerminateInstances");
        q.push("InstanceId.1", id);
        let xml = self.call(&q)?;
        let doc = parse(q.action(), &xml)?;
        Ok(child(doc.root_element(), "instancesSet")
            .map(|set| items(set).filter_map(|i| text(i, "instanceId")).collect())
            .unwrap_or_default())
    }
}

fn parse<'x>(action: &str, xml: &'x str) -> Result<Document<'x>> {
    Document::parse(xml)
        .map_err(|e| Error::Internal(format!("EC2 {action}: the answer is not XML: {e}")))
}

/// The first child element named `name`.
fn child<'x, 'i>(node: Node<'x, 'i>, name: &str) -> Option<Node<'x, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The text of the child element `name`.
fn text(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).map(|c| c.text().unwrap_or_default().to_owned())
}

/// The `<item>` children of a set.
fn items<'x, 'i>(set: Node<'x, 'i>) -> impl Iterator<Item = Node<'x, 'i>> {
    set.children()
        .filter(|c| c.is_element() && c.tag_name().name() == "item")
}

fn instance(item: Node<'_, '_>) -> Instance {
    let tags = child(item, "tagSet")
        .into_iter()
        .flat_map(items)
        .filter_map(|t| Some((text(t, "key")?, text(t, "value").unwrap_or_default())))
        .collect();
    Instance {
        instance_id: text(item, "instanceId").unwrap_or_default(),
        image_id: text(item, "imageId").unwrap_or_default(),
        instance_type: text(item, "instanceType").unwrap_or_default(),
        state: child(item, "instanceState")
            .and_then(|s| text(s, "name"))
            .unwrap_or_default(),
        private_ip_address: text(item, "privateIpAddress").filter(|s| !s.is_empty()),
        public_ip_address: text(item, "ipAddress").filter(|s| !s.is_empty()),
        subnet_id: text(item, "subnetId").filter(|s| !s.is_empty()),
        vpc_id: text(item, "vpcId").filter(|s| !s.is_empty()),
        availability_zone: child(item, "placement").and_then(|p| text(p, "availabilityZone")),
        launch_time: text(item, "launchTime"),
        tags,
    }
}

/// EC2's error answer (`<Response><Errors><Error><Code>…`) as the plugin error of the right kind.
fn api_error(action: &str, status: u16, body: &str) -> Error {
    let (code, message) = Document::parse(body)
        .ok()
        .and_then(|doc| {
            let error = doc.descendants().find(|n| n.has_tag_name("Error"))?;
            Some((
                text(error, "Code")?,
                text(error, "Message").unwrap_or_default(),
            ))
        })
        .unwrap_or_else(|| {
            let snippet: String = body.chars().take(200).collect();
            (format!("HTTP {status}"), snippet)
        });
    let text = format!("EC2 {action}: {code}: {message}");
    let retryable = [
        "RequestLimitExceeded",
        "Throttling",
        "ServiceUnavailable",
        "Unavailable",
        "InternalError",
        "InsufficientInstanceCapacity",
    ];
    if code.ends_with("NotFound") {
        Error::NotFound(text)
    } else if status >= 500 || retryable.contains(&code.as_str()) {
        Error::Unavailable(text)
    } else {
        Error::InvalidInput(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_ec2s_code_and_kind() {
        let xml = |code: &str| {
            format!(
                "<?xml version=\"1.0\"?><Response><Errors><Error><Code>{code}</Code>\
                 <Message>details</Message></Error></Errors><RequestID>r</RequestID></Response>"
            )
        };
        let e = api_error(
            "TerminateInstances",
            400,
            &xml("InvalidInstanceID.NotFound"),
        );
        assert_eq!(
            e,
            Error::NotFound("EC2 TerminateInstances: InvalidInstanceID.NotFound: details".into())
        );
        assert!(matches!(
            api_error("X", 503, &xml("RequestLimitExceeded")),
            Error::Unavailable(_)
        ));
        assert!(matches!(
            api_error("X", 400, &xml("InvalidAMIID.Malformed")),
            Error::InvalidInput(_)
        ));
        assert_eq!(
            api_error("X", 502, "<html>bad gateway</html>"),
            Error::Unavailable("EC2 X: HTTP 502: <html>bad gateway</html>".into())
        );
    }
}
