//! InfraKit's AWS EC2 instance plugin as a deploykit plugin: EC2's query API over the host's `wasi:http`.
//!
//! Properties are InfraKit's `{"Tags": {…}, "RunInstancesInput": {…}}`.
//! Provision launches one instance (RunInstances, with the spec's Init as
//! UserData, its LogicalID as the private IP and every tag applied at
//! launch); describe lists pending and running instances by tag
//! (DescribeInstances, every page); label merges tags (CreateTags); destroy
//! terminates (TerminateInstances). Requests are signed with SigV4 using the
//! region, endpoint and credentials of the plugin's `[config]` (see
//! [`config::RawConfig`]), so the same plugin talks to AWS or to an emulator;
//! the host sends them only to endpoints the manifest's `[http]` table grants.

pub mod config;
pub mod ec2;
pub mod instances;
pub mod properties;
pub mod query;
pub mod sigv4;
pub mod transport;

use deploykit_sdk::{
    Description, DestroyReason, InstancePlugin, Json, Result, Spec, Tags, VendorInfo, export_plugin,
};

use crate::config::Config;
use crate::ec2::Ec2;
use crate::properties::Properties;
use crate::transport::WasiHttp;

/// The EC2 instance plugin. It keeps no state: EC2 is the record.
#[derive(Debug, Default)]
pub struct AwsInstances;

impl AwsInstances {
    /// Runs `f` with the configuration and an EC2 client over the host's HTTP.
    fn with_ec2<T>(&self, f: impl FnOnce(&Ec2<'_>, &Config) -> Result<T>) -> Result<T> {
        let config = Config::load()?;
        let ec2 = Ec2::new(&config, &WasiHttp);
        f(&ec2, &config)
    }
}

impl InstancePlugin for AwsInstances {
    fn vendor_info(&self) -> Option<VendorInfo> {
        Some(VendorInfo {
            name: "deploykit-instance-aws".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            url: "https://github.com/docker/infrakit/tree/master/pkg/provider/aws".into(),
        })
    }

    fn example_properties(&self) -> Option<Json> {
        Json::new(
            r#"{"Tags":{"tier":"web"},"RunInstancesInput":{"ImageId":"ami-0abcdef1234567890","InstanceType":"t3.micro","KeyName":"ops","SubnetId":"subnet-0123456789abcdef0","SecurityGroupIds":["sg-0123456789abcdef0"],"Placement":{"AvailabilityZone":"eu-west-1a"},"BlockDeviceMappings":[{"DeviceName":"/dev/xvda","Ebs":{"VolumeSize":20,"VolumeType":"gp3","DeleteOnTermination":true}}],"IamInstanceProfile":{"Name":"worker"}}}"#,
        )
        .ok()
    }

    /// Checks the properties' shape and EC2's tag rules, without calling EC2.
    fn validate(&self, properties: &Json) -> Result<()> {
        Properties::parse(Some(properties)).map(drop)
    }

    fn provision(&self, spec: Spec) -> Result<String> {
        self.with_ec2(|ec2, config| instances::provision(ec2, config, &spec))
    }

    fn label(&self, id: &str, labels: Tags) -> Result<()> {
        self.with_ec2(|ec2, _| instances::label(ec2, id, &labels))
    }

    fn destroy(&self, id: &str, reason: DestroyReason) -> Result<()> {
        self.with_ec2(|ec2, _| instances::destroy(ec2, id))?;
        deploykit_sdk::debug!("terminated {id} ({})", reason.as_str());
        Ok(())
    }

    fn describe_instances(&self, tags: &Tags, properties: bool) -> Result<Vec<Description>> {
        self.with_ec2(|ec2, config| instances::describe(ec2, config, tags, properties))
    }
}

export_plugin!(AwsInstances: instance);
