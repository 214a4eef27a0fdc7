//! An instance plugin built against the frozen WIT `deploykit:plugin@0.1.0`, to prove old plugins keep loading.
//!
//! It uses wit-bindgen directly (the SDK targets the newest version), as a
//! plugin compiled before 0.2.0 existed would have.

wit_bindgen::generate!({
    path: "../../../wit/since_v0.1.0",
    world: "instance-plugin",
});

include!("guest.rs");
