//! Instance properties in InfraKit's AWS form, `{"Tags": {…}, "RunInstancesInput": {…}}`, checked and turned into RunInstances parameters.

use deploykit_sdk::{Error, Json, Result, Tags};
use serde::Deserialize;

use crate::query::Query;

/// What `Properties` holds: tags for the instance, and the RunInstances
/// fields of aws-sdk-go's `ec2.RunInstancesInput` this plugin supports (an
/// unknown field is refused rather than ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Properties {
    /// Tags on the instance, besides the spec's.
    #[serde(default)]
    pub tags: Tags,
    /// How to launch it.
    #[serde(default)]
    pub run_instances_input: RunInstancesInput,
}

/// The supported fields of `ec2.RunInstancesInput`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RunInstancesInput {
    /// The AMI (required).
    pub image_id: Option<String>,
    /// `t3.micro`, …
    pub instance_type: Option<String>,
    /// The EC2 key pair's name.
    pub key_name: Option<String>,
    /// The subnet, in a VPC.
    pub subnet_id: Option<String>,
    /// Security group IDs (VPC).
    pub security_group_ids: Option<Vec<String>>,
    /// Security group names (default VPC).
    pub security_groups: Option<Vec<String>>,
    /// Where to place the instance.
    pub placement: Option<Placement>,
    /// Disks.
    pub block_device_mappings: Option<Vec<BlockDeviceMapping>>,
    /// The instance profile (IAM role).
    pub iam_instance_profile: Option<IamInstanceProfile>,
    /// The private IP; the spec's LogicalID replaces it.
    pub private_ip_address: Option<String>,
    /// User data; the spec's Init replaces it. Plain text: the plugin encodes it in base64.
    pub user_data: Option<String>,
    /// EBS-optimised.
    pub ebs_optimized: Option<bool>,
    /// Detailed monitoring.
    pub monitoring: Option<Monitoring>,
    /// `stop` or `terminate`.
    pub instance_initiated_shutdown_behavior: Option<String>,
    /// Termination protection.
    pub disable_api_termination: Option<bool>,
    /// Accepted for InfraKit compatibility; always 1.
    pub min_count: Option<i64>,
    /// Accepted for InfraKit compatibility; always 1.
    pub max_count: Option<i64>,
}

/// `ec2.Placement`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Placement {
    /// `eu-west-1a`, …
    pub availability_zone: Option<String>,
    /// A placement group.
    pub group_name: Option<String>,
    /// `default`, `dedicated` or `host`.
    pub tenancy: Option<String>,
}

/// `ec2.BlockDeviceMapping`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BlockDeviceMapping {
    /// `/dev/sdh`, `xvdh`, …
    pub device_name: Option<String>,
    /// An instance-store volume, `ephemeral0`…
    pub virtual_name: Option<String>,
    /// Suppresses a mapping of the AMI.
    pub no_device: Option<String>,
    /// An EBS volume.
    pub ebs: Option<Ebs>,
}

/// `ec2.EbsBlockDevice`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Ebs {
    /// Delete the volume with the instance.
    pub delete_on_termination: Option<bool>,
    /// Encrypt the volume.
    pub encrypted: Option<bool>,
    /// Provisioned IOPS.
    pub iops: Option<i64>,
    /// The KMS key for encryption.
    pub kms_key_id: Option<String>,
    /// Create it from this snapshot.
    pub snapshot_id: Option<String>,
    /// Size in GiB.
    pub volume_size: Option<i64>,
    /// `gp3`, `io2`, …
    pub volume_type: Option<String>,
}

/// `ec2.IamInstanceProfileSpecification`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct IamInstanceProfile {
    /// The profile's ARN.
    pub arn: Option<String>,
    /// The profile's name.
    pub name: Option<String>,
}

/// `ec2.RunInstancesMonitoringEnabled`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Monitoring {
    /// Detailed monitoring on.
    pub enabled: Option<bool>,
}

/// The most tags EC2 keeps on one resource.
pub const MAX_TAGS: usize = 50;

impl Properties {
    /// Parses and checks properties (`null` or absent is refused: an instance needs an image).
    pub fn parse(json: Option<&Json>) -> Result<Properties> {
        let Some(json) = json.filter(|j| !j.is_null()) else {
            return Err(Error::InvalidInput(
                "properties are required: {\"RunInstancesInput\": {\"ImageId\": …}}".into(),
            ));
        };
        let properties: Properties = json.parse()?;
        properties.check()?;
        Ok(properties)
    }

    fn check(&self) -> Result<()> {
        let input = &self.run_instances_input;
        if input.image_id.as_deref().is_none_or(str::is_empty) {
            return Err(Error::InvalidInput(
                "invalid properties: RunInstancesInput.ImageId is required".into(),
            ));
        }
        for (field, n) in [("MinCount", input.min_count), ("MaxCount", input.max_count)] {
            if n.is_some_and(|n| n != 1) {
                return Err(Error::InvalidInput(format!(
                    "invalid properties: RunInstancesInput.{field} must be 1 (one instance per provision)"
                )));
            }
        }
        if let Some(b) = &input.instance_initiated_shutdown_behavior
            && !["stop", "terminate"].contains(&b.as_str())
        {
            return Err(Error::InvalidInput(format!(
                "invalid properties: RunInstancesInput.InstanceInitiatedShutdownBehavior '{b}' is not stop or terminate"
            )));
        }
        check_tags(&self.tags, "Tags")
    }

    /// The RunInstances request for one instance with `tags`, `user_data` and `private_ip`.
    pub fn run_instances(
        &self,
        tags: &Tags,
        user_data: Option<&str>,
        private_ip: Option<&str>,
    ) -> Result<Query> {
        check_tags(tags, "tags")?;
        let input = &self.run_instances_input;
        let mut q = Query::new("RunInstances");
        q.push("MinCount", "1").push("MaxCount", "1");
        q.push_opt("ImageId", input.image_id.as_ref())
            .push_opt("InstanceType", input.instance_type.as_ref())
            .push_opt("KeyName", input.key_name.as_ref())
            .push_opt("SubnetId", input.subnet_id.as_ref())
            .push_opt("EbsOptimized", input.ebs_optimized.as_ref())
            .push_opt(
                "InstanceInitiatedShutdownBehavior",
                input.instance_initiated_shutdown_behavior.as_ref(),
            )
            .push_opt(
                "DisableApiTermination",
                input.disable_api_termination.as_ref(),
            );
        q.push_list(
            "SecurityGroupId",
            input.security_group_ids.as_deref().unwrap_or_default(),
        );
        q.push_list(
            "SecurityGroup",
            input.security_groups.as_deref().unwrap_or_default(),
        );
        if let Some(p) = &input.placement {
            q.push_opt("Placement.AvailabilityZone", p.availability_zone.as_ref())
                .push_opt("Placement.GroupName", p.group_name.as_ref())
                .push_opt("Placement.Tenancy", p.tenancy.as_ref());
        }
        for (i, m) in input.block_device_mappings.iter().flatten().enumerate() {
            let k = |f: &str| format!("BlockDeviceMapping.{}.{f}", i + 1);
            q.push_opt(&k("DeviceName"), m.device_name.as_ref())
                .push_opt(&k("VirtualName"), m.virtual_name.as_ref())
                .push_opt(&k("NoDevice"), m.no_device.as_ref());
            if let Some(e) = &m.ebs {
                q.push_opt(
                    &k("Ebs.DeleteOnTermination"),
                    e.delete_on_termination.as_ref(),
                )
                .push_opt(&k("Ebs.Encrypted"), e.encrypted.as_ref())
                .push_opt(&k("Ebs.Iops"), e.iops.as_ref())
                .push_opt(&k("Ebs.KmsKeyId"), e.kms_key_id.as_ref())
                .push_opt(&k("Ebs.SnapshotId"), e.snapshot_id.as_ref())
                .push_opt(&k("Ebs.VolumeSize"), e.volume_size.as_ref())
                .push_opt(&k("Ebs.VolumeType"), e.volume_type.as_ref());
            }
        }
        if let Some(p) = &input.iam_instance_profile {
            q.push_opt("IamInstanceProfile.Arn", p.arn.as_ref())
                .push_opt("IamInstanceProfile.Name", p.name.as_ref());
        }
        if let Some(m) = &input.monitoring {
            q.push_opt("Monitoring.Enabled", m.enabled.as_ref());
        }
        q.push_opt(
            "PrivateIpAddress",
            private_ip.or(input.private_ip_address.as_deref()).as_ref(),
        );
        if let Some(data) = user_data.or(input.user_data.as_deref()) {
            use base64::Engine as _;
            q.push(
                "UserData",
                base64::engine::general_purpose::STANDARD.encode(data),
            );
        }
        if !tags.is_empty() {
            q.push("TagSpecification.1.ResourceType", "instance");
            for (i, (key, value)) in tags.iter().enumerate() {
                q.push(format!("TagSpecification.1.Tag.{}.Key", i + 1), key.clone())
                    .push(
                        format!("TagSpecification.1.Tag.{}.Value", i + 1),
                        value.clone(),
                    );
            }
        }
        Ok(q)
    }
}

/// Checks tags against EC2's rules: at most 50, keys of 1 to 128
/// characters not starting with `aws:`, values of at most 256.
pub fn check_tags(tags: &Tags, what: &str) -> Result<()> {
    if tags.len() > MAX_TAGS {
        return Err(Error::InvalidInput(format!(
            "invalid {what}: {} tags, EC2 keeps at most {MAX_TAGS}",
            tags.len()
        )));
    }
    for (k, v) in tags {
        if k.is_empty() || k.chars().count() > 128 {
            return Err(Error::InvalidInput(format!(
                "invalid {what}: tag key '{k}' must have 1 to 128 characters"
            )));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::InvalidInput(format!(
                "invalid {what}: tag key '{k}' uses the reserved prefix aws:"
            )));
        }
        if v.chars().count() > 256 {
            return Err(Error::InvalidInput(format!(
                "invalid {what}: the value of tag '{k}' is longer than 256 characters"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Properties> {
        Properties::parse(Some(&Json::new(json).unwrap()))
    }

    const FULL: &str = r#"{
        "Tags": {"tier": "web"},
        "RunInstancesInput": {
            "ImageId": "ami-12345678",
            "InstanceType": "t3.micro",
            "KeyName": "ops",
            "SubnetId": "subnet-1",
            "SecurityGroupIds": ["sg-1", "sg-2"],
            "Placement": {"AvailabilityZone": "eu-west-1a"},
            "BlockDeviceMappings": [{"DeviceName": "/dev/sdh", "Ebs": {"VolumeSize": 20, "VolumeType": "gp3", "DeleteOnTermination": true}}],
            "IamInstanceProfile": {"Name": "worker"},
            "Monitoring": {"Enabled": false}
        }
    }"#;

    #[test]
    fn every_supported_field_becomes_a_parameter() {
        let p = parse(FULL).unwrap();
        let tags: Tags = [
            ("tier".to_string(), "web".to_string()),
            ("a b".to_string(), "c".to_string()),
        ]
        .into_iter()
        .collect();
        let q = p
            .run_instances(&tags, Some("#!/bin/sh\necho hi"), Some("10.0.0.7"))
            .unwrap();
        let expect = [
            ("Action", "RunInstances"),
            ("MinCount", "1"),
            ("MaxCount", "1"),
            ("ImageId", "ami-12345678"),
            ("InstanceType", "t3.micro"),
            ("KeyName", "ops"),
            ("SubnetId", "subnet-1"),
            ("SecurityGroupId.1", "sg-1"),
            ("SecurityGroupId.2", "sg-2"),
            ("Placement.AvailabilityZone", "eu-west-1a"),
            ("BlockDeviceMapping.1.DeviceName", "/dev/sdh"),
            ("BlockDeviceMapping.1.Ebs.DeleteOnTermination", "true"),
            ("BlockDeviceMapping.1.Ebs.VolumeSize", "20"),
            ("BlockDeviceMapping.1.Ebs.VolumeType", "gp3"),
            ("IamInstanceProfile.Name", "worker"),
            ("Monitoring.Enabled", "false"),
            ("PrivateIpAddress", "10.0.0.7"),
            ("UserData", "IyEvYmluL3NoCmVjaG8gaGk="),
            ("TagSpecification.1.ResourceType", "instance"),
            ("TagSpecification.1.Tag.1.Key", "a b"),
            ("TagSpecification.1.Tag.1.Value", "c"),
            ("TagSpecification.1.Tag.2.Key", "tier"),
            ("TagSpecification.1.Tag.2.Value", "web"),
        ];
        for (k, v) in expect {
            assert_eq!(q.get(k), Some(v), "{k}");
        }
        assert_eq!(q.get("SecurityGroup.1"), None);
    }

    #[test]
    fn properties_own_user_data_and_ip_when_the_spec_has_none() {
        let p = parse(r#"{"RunInstancesInput":{"ImageId":"ami-1","UserData":"hi","PrivateIpAddress":"10.0.0.1"}}"#)
            .unwrap();
        let q = p.run_instances(&Tags::new(), None, None).unwrap();
        assert_eq!(q.get("UserData"), Some("aGk="));
        assert_eq!(q.get("PrivateIpAddress"), Some("10.0.0.1"));
        assert_eq!(
            q.get("TagSpecification.1.ResourceType"),
            None,
            "no tags, no tag specification"
        );
    }

    #[test]
    fn validation_names_the_problem() {
        let err = |json: &str| parse(json).unwrap_err().to_string();
        assert!(err("{}").contains("ImageId is required"));
        assert!(err(r#"{"RunInstancesInput":{"ImageId":""}}"#).contains("ImageId is required"));
        assert!(
            err(r#"{"RunInstancesInput":{"ImageId":"a","InstanceTyp":"t3"}}"#)
                .contains("unknown field `InstanceTyp`")
        );
        assert!(
            err(r#"{"RunInstancesInput":{"ImageId":"a","MaxCount":3}}"#)
                .contains("MaxCount must be 1")
        );
        assert!(
            err(r#"{"RunInstancesInput":{"ImageId":"a","SecurityGroupIds":"sg-1"}}"#)
                .contains("SecurityGroupIds")
        );
        assert!(
            err(r#"{"Tags":{"aws:x":"1"},"RunInstancesInput":{"ImageId":"a"}}"#)
                .contains("reserved prefix aws:")
        );
        assert!(err(r#"{"RunInstancesInput":{"ImageId":"a","InstanceInitiatedShutdownBehavior":"halt"}}"#).contains("halt"));
        assert!(
            Properties::parse(None)
                .unwrap_err()
                .to_string()
                .contains("properties are required")
        );
        assert!(parse(FULL).is_ok());
    }

    #[test]
    fn too_many_tags_are_refused() {
        let tags: Tags = (0..51)
            .map(|i| (format!("k{i}"), "v".to_string()))
            .collect();
        assert!(
            check_tags(&tags, "tags")
                .unwrap_err()
                .to_string()
                .contains("at most 50")
        );
    }
}
