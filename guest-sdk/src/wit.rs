//! The `host-imports` world's bindings: the WIT types and the `log`, `config` and `kv` imports.
//!
//! Only this world is generated here. The exports are generated in the plugin
//! crate by [`export_plugin!`](crate::export_plugin), which maps these modules
//! in with `with:`: generating several export worlds in one crate would make
//! the linker merge all of them into one component type, and the component
//! would then claim exports it does not implement.

wit_bindgen::generate!({
    path: "wit/since_v0.2.0",
    world: "host-imports",
    generate_all,
});
