//! Helpers for a plugin author's native unit tests.
//!
//! Available everywhere except inside a component, where the host provides
//! what these helpers fake.

/// Sets the configuration that [`config::get`](crate::config::get) and
/// [`config::parse`](crate::config::parse) return on the current thread.
///
/// Each `#[test]` runs on its own thread, so tests do not see each other's
/// configuration. The text is stored as given; text that is not JSON is
/// handled as it would be if the host sent it.
pub fn set_config(json_text: impl Into<String>) {
    crate::config::backend::set(json_text.into());
}

/// Empties the current thread's in-memory [`kv`](crate::kv) store.
pub fn clear_kv() {
    crate::kv::backend::clear();
}

/// Makes [`plugins::instance`](crate::plugins::instance)`(name)` call `plugin` on the current thread.
pub fn register_instance(name: &str, plugin: impl crate::InstancePlugin + 'static) {
    crate::plugins::backend::register_instance(name, std::rc::Rc::new(plugin));
}

/// Makes [`plugins::flavor`](crate::plugins::flavor)`(name)` call `plugin` on the current thread.
pub fn register_flavor(name: &str, plugin: impl crate::FlavorPlugin + 'static) {
    crate::plugins::backend::register_flavor(name, std::rc::Rc::new(plugin));
}
