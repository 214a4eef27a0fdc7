//! Writes the expansion of `export_plugin!` as Rust source text and parses it.
//!
//! The expansion generates the export bindings in the plugin crate (only
//! there, so the component claims exactly the SPIs it implements), reusing
//! the SDK's `host-imports` modules through `with:`, and implements each
//! generated `Guest` trait by forwarding to the glue in
//! `deploykit_sdk::__private`.

use std::fmt::Write as _;
use std::path::PathBuf;

use proc_macro::TokenStream;

use crate::parse::{Request, Spi};

/// The WIT package folder inside this crate (in the repository, `wit` is a
/// link to the workspace's `wit/`; `cargo package` copies the files in, so a
/// published crate carries its own WIT).
fn wit_dir() -> String {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/wit/since_v0.2.0"));
    let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
    dir.to_string_lossy().into_owned()
}

/// `type __DeploykitPlugin = <path>;` keeps the user's tokens, so a wrong
/// path is reported where it was written.
pub fn expand(request: &Request) -> TokenStream {
    let mut out: TokenStream = "#[doc(hidden)] type __DeploykitPlugin ="
        .parse()
        .expect("valid Rust");
    out.extend(request.plugin.clone());
    out.extend(";".parse::<TokenStream>().expect("valid Rust"));
    out.extend(
        module(&request.spis)
            .parse::<TokenStream>()
            .expect("the expansion is valid Rust"),
    );
    out
}

fn module(spis: &[Spi]) -> String {
    let includes: String = spis
        .iter()
        .map(|s| format!("include deploykit:plugin/{}-plugin@0.2.0; ", s.name()))
        .collect();
    let mut impls = String::new();
    for spi in spis {
        let body = match spi {
            Spi::Instance => INSTANCE,
            Spi::Flavor => FLAVOR,
            Spi::Group => GROUP,
        };
        let interface = spi.name();
        let trait_path = spi.trait_path();
        writeln!(
            impls,
            "impl self::exports::deploykit::plugin::{interface}::Guest for __Export {{ {body}
                fn example_properties() -> ::core::option::Option<__t::Json> {{
                    __glue::example_properties(<super::__DeploykitPlugin as {trait_path}>::example_properties(__plugin()))
                }}
            }}"
        )
        .expect("writing to a String");
    }
    // The plugin-level metadata answers through the first SPI named.
    let first = spis[0].trait_path();
    writeln!(
        impls,
        "impl self::exports::deploykit::plugin::metadata::Guest for __Export {{
            fn vendor_info() -> ::core::option::Option<__t::Vendor> {{
                __glue::vendor_info(<super::__DeploykitPlugin as {first}>::vendor_info(__plugin()))
            }}
        }}"
    )
    .expect("writing to a String");
    format!(
        r#"
#[doc(hidden)]
mod __deploykit_export {{
    ::deploykit_sdk::__private::wit_bindgen::generate!({{
        inline: "package deploykit:exported; world plugin {{ {includes}}}",
        path: {path:?},
        world: "plugin",
        runtime_path: "::deploykit_sdk::__private::wit_bindgen::rt",
        with: {{
            "deploykit:plugin/types@0.2.0": ::deploykit_sdk::wit::deploykit::plugin::types,
            "deploykit:plugin/log@0.2.0": ::deploykit_sdk::wit::deploykit::plugin::log,
            "deploykit:plugin/config@0.2.0": ::deploykit_sdk::wit::deploykit::plugin::config,
            "deploykit:plugin/kv@0.2.0": ::deploykit_sdk::wit::deploykit::plugin::kv,
            "deploykit:plugin/plugins@0.2.0": ::deploykit_sdk::wit::deploykit::plugin::plugins,
        }},
    }});

    use ::deploykit_sdk::__private as __glue;
    use ::deploykit_sdk::__private::t as __t;

    static __PLUGIN: ::std::sync::OnceLock<super::__DeploykitPlugin> = ::std::sync::OnceLock::new();

    /// The plugin value, made with `Default::default()` on first use.
    fn __plugin() -> &'static super::__DeploykitPlugin {{
        __PLUGIN.get_or_init(::core::default::Default::default)
    }}

    // Natively (an author's `cargo test`) nothing is exported: the linker
    // refuses symbol names like `deploykit:plugin/instance@0.1.0#provision`,
    // but the glue is still type-checked.
    #[cfg_attr(
        not(target_arch = "wasm32"),
        allow(dead_code, reason = "exported only when built for wasm32")
    )]
    struct __Export;

    {impls}

    #[cfg(target_arch = "wasm32")]
    export!(__Export with_types_in self);
}}
"#,
        path = wit_dir(),
    )
}

const INSTANCE: &str = r#"
    fn validate(properties: __t::Json) -> ::core::result::Result<(), __t::Error> {
        __glue::instance::validate(__plugin(), properties)
    }
    fn provision(spec: __t::InstanceSpec) -> ::core::result::Result<__t::InstanceId, __t::Error> {
        __glue::instance::provision(__plugin(), spec)
    }
    fn label(id: __t::InstanceId, labels: __t::Tags) -> ::core::result::Result<(), __t::Error> {
        __glue::instance::label(__plugin(), id, labels)
    }
    fn destroy(id: __t::InstanceId, reason: __t::DestroyReason) -> ::core::result::Result<(), __t::Error> {
        __glue::instance::destroy(__plugin(), id, reason)
    }
    fn describe_instances(
        tags: __t::Tags,
        properties: bool,
    ) -> ::core::result::Result<::std::vec::Vec<__t::InstanceDescription>, __t::Error> {
        __glue::instance::describe_instances(__plugin(), tags, properties)
    }
"#;

const FLAVOR: &str = r#"
    fn validate(properties: __t::Json, allocation: __t::Allocation) -> ::core::result::Result<(), __t::Error> {
        __glue::flavor::validate(__plugin(), properties, allocation)
    }
    fn prepare(
        properties: __t::Json,
        spec: __t::InstanceSpec,
        allocation: __t::Allocation,
        index: __t::Index,
    ) -> ::core::result::Result<__t::InstanceSpec, __t::Error> {
        __glue::flavor::prepare(__plugin(), properties, spec, allocation, index)
    }
    fn healthy(
        properties: __t::Json,
        instance: __t::InstanceDescription,
    ) -> ::core::result::Result<__t::Health, __t::Error> {
        __glue::flavor::healthy(__plugin(), properties, instance)
    }
    fn drain(properties: __t::Json, instance: __t::InstanceDescription) -> ::core::result::Result<(), __t::Error> {
        __glue::flavor::drain(__plugin(), properties, instance)
    }
"#;

const GROUP: &str = r#"
    fn commit_group(spec: __t::GroupSpec, pretend: bool) -> ::core::result::Result<::std::string::String, __t::Error> {
        __glue::group::commit_group(__plugin(), spec, pretend)
    }
    fn free_group(id: ::std::string::String) -> ::core::result::Result<(), __t::Error> {
        __glue::group::free_group(__plugin(), id)
    }
    fn describe_group(id: ::std::string::String) -> ::core::result::Result<__t::GroupDescription, __t::Error> {
        __glue::group::describe_group(__plugin(), id)
    }
    fn destroy_group(id: ::std::string::String) -> ::core::result::Result<(), __t::Error> {
        __glue::group::destroy_group(__plugin(), id)
    }
    fn inspect_groups() -> ::core::result::Result<::std::vec::Vec<__t::GroupSpec>, __t::Error> {
        __glue::group::inspect_groups(__plugin())
    }
    fn destroy_instances(
        id: ::std::string::String,
        instances: ::std::vec::Vec<__t::InstanceId>,
    ) -> ::core::result::Result<(), __t::Error> {
        __glue::group::destroy_instances(__plugin(), id, instances)
    }
    fn size(id: ::std::string::String) -> ::core::result::Result<u32, __t::Error> {
        __glue::group::size(__plugin(), id)
    }
    fn set_size(id: ::std::string::String, size: u32) -> ::core::result::Result<(), __t::Error> {
        __glue::group::set_size(__plugin(), id, size)
    }
"#;
