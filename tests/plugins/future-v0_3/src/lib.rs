//! An instance plugin built against a WIT version the host does not support (0.3.0), which it must refuse.
//!
//! Its WIT folder is 0.1.0 with the version changed: what matters is the
//! package version the component declares.

wit_bindgen::generate!({
    path: "wit",
    world: "instance-plugin",
});

include!("../../legacy-v0_1/src/guest.rs");
