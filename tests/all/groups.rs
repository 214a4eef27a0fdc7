//! The built-in group controller, driven through the host's router like any group plugin.

/// Free, destroy, pretend, validation, restarts and the state file.
mod lifecycle;
/// Rolling updates: order, health gating, a restart midway, InfraKit's config hash.
mod rolling;
/// Scaled and quorum groups: growing, shrinking, replacing, failing provisions.
mod scaling;
/// InfraKit's Group wire objects, and a group on the real wasm samples.
mod wire;

use deploykit_host::DestroyReason;
use deploykit_tests::sim::Event;

/// `{"Size": n}`.
fn size(n: u32) -> String {
    format!(r#"{{"Size":{n}}}"#)
}

/// No `Updating` section.
const NO_UPDATING: &str = "null";

/// The IDs destroyed with `reason`, in order.
fn destroyed(events: &[Event], reason: DestroyReason) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Destroyed(id, r) if *r == reason => Some(id.clone()),
            _ => None,
        })
        .collect()
}

/// Where `wanted` is in `events`; panics when it is not there.
fn position(events: &[Event], wanted: &Event) -> usize {
    events
        .iter()
        .position(|e| e == wanted)
        .unwrap_or_else(|| panic!("no event {wanted:?} in {events:#?}"))
}
