//! The WIT versions the host supports, side by side, and the adapter that lets core code call any of them alike.
//!
//! Each version has its own bindings module (`v0_1`, `v0_2`). Records are
//! shared (`with:` in the old version's bindings), so the adapters here only
//! pick the version's function; calls a version lacks get defaults
//! (`example-properties` and `vendor-info` are `none` for 0.1.0). Core code
//! sees [`InstanceExport`], [`FlavorExport`], [`GroupExport`] and never a
//! version.

mod convert;
mod v0_1;
mod v0_2;

use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre, Linker};

pub(crate) use convert::*;
pub(crate) use v0_2::types as wit;

use crate::state::StoreData;

/// The WIT versions this host loads, as semver tracks.
pub(crate) const SUPPORTED: &[&str] = &["0.1.x", "0.2.x"];

/// One supported WIT version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    V0_1,
    V0_2,
}

impl Version {
    /// The version of a `deploykit:plugin` interface version string, if supported.
    pub(crate) fn of(version: &str) -> Option<Version> {
        if version.starts_with("0.1.") {
            Some(Version::V0_1)
        } else if version.starts_with("0.2.") {
            Some(Version::V0_2)
        } else {
            None
        }
    }
}

/// The `tracing` level of a version's `log.level` (each version has its own enum type).
macro_rules! tracing_level {
    ($level:expr, $Level:ident) => {
        match $level {
            $Level::Trace => tracing::Level::TRACE,
            $Level::Debug => tracing::Level::DEBUG,
            $Level::Info => tracing::Level::INFO,
            $Level::Warn => tracing::Level::WARN,
            $Level::Error => tracing::Level::ERROR,
        }
    };
}
pub(crate) use tracing_level;

/// Adds every version's host imports to `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    v0_2::add_to_linker(linker)?;
    v0_1::add_to_linker(linker)
}

/// Declares, for one SPI, the per-version export lookups and live exports,
/// and forwards each call to the version's binding.
macro_rules! versioned_spi {
    (
        $iface:ident, $Indices:ident, $Export:ident,
        { $( fn $name:ident( $( $arg:ident : $ty:ty ),* ) -> $ret:ty; )* }
        example_properties: $example:ident
    ) => {
        /// Export lookups of this SPI, resolved once at load.
        pub(crate) enum $Indices {
            V0_1(v0_1::$iface::GuestIndices),
            V0_2(v0_2::$iface::GuestIndices),
        }

        impl $Indices {
            pub(crate) fn new(version: Version, pre: &InstancePre<StoreData>) -> wasmtime::Result<Self> {
                Ok(match version {
                    Version::V0_1 => Self::V0_1(v0_1::$iface::GuestIndices::new(pre)?),
                    Version::V0_2 => Self::V0_2(v0_2::$iface::GuestIndices::new(pre)?),
                })
            }

            pub(crate) fn load(&self, store: &mut Store<StoreData>, instance: &Instance) -> wasmtime::Result<$Export> {
                Ok(match self {
                    Self::V0_1(i) => $Export::V0_1(i.load(store, instance)?),
                    Self::V0_2(i) => $Export::V0_2(i.load(store, instance)?),
                })
            }
        }

        /// This SPI's exports on a live instance.
        pub(crate) enum $Export {
            V0_1(v0_1::$iface::Guest),
            V0_2(v0_2::$iface::Guest),
        }

        impl $Export {
            $(
                pub(crate) fn $name(&self, s: &mut Store<StoreData> $(, $arg: $ty)*) -> wasmtime::Result<$ret> {
                    match self {
                        Self::V0_1(g) => g.$name(s $(, $arg)*),
                        Self::V0_2(g) => g.$name(s $(, $arg)*),
                    }
                }
            )*

            /// Example properties; `none` before 0.2.0.
            pub(crate) fn $example(&self, s: &mut Store<StoreData>) -> wasmtime::Result<Option<wit::Json>> {
                match self {
                    Self::V0_1(_) => Ok(None),
                    Self::V0_2(g) => g.call_example_properties(s),
                }
            }
        }
    };
}

versioned_spi!(instance, InstanceIndices, InstanceExport, {
    fn call_validate(properties: &wit::Json) -> Result<(), wit::Error>;
    fn call_provision(spec: &wit::InstanceSpec) -> Result<wit::InstanceId, wit::Error>;
    fn call_label(id: &wit::InstanceId, labels: &wit::Tags) -> Result<(), wit::Error>;
    fn call_destroy(id: &wit::InstanceId, reason: wit::DestroyReason) -> Result<(), wit::Error>;
    fn call_describe_instances(tags: &wit::Tags, properties: bool) -> Result<Vec<wit::InstanceDescription>, wit::Error>;
} example_properties: call_example_properties);

versioned_spi!(flavor, FlavorIndices, FlavorExport, {
    fn call_validate(properties: &wit::Json, allocation: &wit::Allocation) -> Result<(), wit::Error>;
    fn call_prepare(properties: &wit::Json, spec: &wit::InstanceSpec, allocation: &wit::Allocation, index: &wit::Index) -> Result<wit::InstanceSpec, wit::Error>;
    fn call_healthy(properties: &wit::Json, instance: &wit::InstanceDescription) -> Result<wit::Health, wit::Error>;
    fn call_drain(properties: &wit::Json, instance: &wit::InstanceDescription) -> Result<(), wit::Error>;
} example_properties: call_example_properties);

versioned_spi!(group, GroupIndices, GroupExport, {
    fn call_commit_group(spec: &wit::GroupSpec, pretend: bool) -> Result<String, wit::Error>;
    fn call_free_group(id: &str) -> Result<(), wit::Error>;
    fn call_describe_group(id: &str) -> Result<wit::GroupDescription, wit::Error>;
    fn call_destroy_group(id: &str) -> Result<(), wit::Error>;
    fn call_inspect_groups() -> Result<Vec<wit::GroupSpec>, wit::Error>;
    fn call_destroy_instances(id: &str, instances: &[wit::InstanceId]) -> Result<(), wit::Error>;
    fn call_size(id: &str) -> Result<u32, wit::Error>;
    fn call_set_size(id: &str, size: u32) -> Result<(), wit::Error>;
} example_properties: call_example_properties);

/// The plugin-level metadata export (0.2.0 and later).
pub(crate) enum MetadataIndices {
    V0_1,
    V0_2(v0_2::metadata::GuestIndices),
}

impl MetadataIndices {
    /// Whether the plugin's version has the metadata export at all.
    pub(crate) fn exists(&self) -> bool {
        !matches!(self, Self::V0_1)
    }

    pub(crate) fn new(version: Version, pre: &InstancePre<StoreData>) -> wasmtime::Result<Self> {
        Ok(match version {
            Version::V0_1 => Self::V0_1,
            Version::V0_2 => Self::V0_2(v0_2::metadata::GuestIndices::new(pre)?),
        })
    }

    pub(crate) fn load(
        &self,
        store: &mut Store<StoreData>,
        instance: &Instance,
    ) -> wasmtime::Result<MetadataExport> {
        Ok(match self {
            Self::V0_1 => MetadataExport::V0_1,
            Self::V0_2(i) => MetadataExport::V0_2(i.load(store, instance)?),
        })
    }
}

/// The metadata export on a live instance.
pub(crate) enum MetadataExport {
    V0_1,
    V0_2(v0_2::metadata::Guest),
}

impl MetadataExport {
    /// Who made the plugin; `none` before 0.2.0.
    pub(crate) fn call_vendor_info(
        &self,
        s: &mut Store<StoreData>,
    ) -> wasmtime::Result<Option<wit::Vendor>> {
        match self {
            Self::V0_1 => Ok(None),
            Self::V0_2(g) => g.call_vendor_info(s),
        }
    }
}
