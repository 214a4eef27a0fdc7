//! The chain of plugin calls running on this thread: plugins calling plugins through the `plugins` import.
//!
//! A call made from inside another plugin's call shares its deadline (the
//! nested call ends no later than its caller must), and chains are limited
//! in depth so a plugin calling itself, directly or around a cycle, ends with
//! a clear error instead of running forever.

use std::cell::RefCell;
use std::time::Instant;

/// How deep plugin-to-plugin calls may nest.
pub(crate) const MAX_DEPTH: usize = 8;

thread_local! {
    static CHAIN: RefCell<Vec<(std::sync::Arc<str>, Instant)>> = const { RefCell::new(Vec::new()) };
}

/// Membership of the chain for the duration of one call.
pub(crate) struct Frame(());

impl Drop for Frame {
    fn drop(&mut self) {
        CHAIN.with(|c| c.borrow_mut().pop());
    }
}

/// The deadline of the innermost running call on this thread, if any.
pub(crate) fn outer_deadline() -> Option<Instant> {
    CHAIN.with(|c| c.borrow().last().map(|(_, d)| *d))
}

/// Whether a call of `plugin` is already running on this thread: a plugin
/// reached again through its own chain of calls.
pub(crate) fn contains(plugin: &str) -> bool {
    CHAIN.with(|c| c.borrow().iter().any(|(n, _)| &**n == plugin))
}

/// Whether a call is already running on this thread (so this one is nested).
pub(crate) fn is_nested() -> bool {
    CHAIN.with(|c| !c.borrow().is_empty())
}

/// Enters a call of `plugin` ending at `deadline`; `Err` with the chain's
/// names when it would be deeper than [`MAX_DEPTH`].
pub(crate) fn enter(plugin: &std::sync::Arc<str>, deadline: Instant) -> Result<Frame, String> {
    CHAIN.with(|c| {
        let mut chain = c.borrow_mut();
        if chain.len() >= MAX_DEPTH {
            let names: Vec<&str> = chain.iter().map(|(n, _)| &**n).collect();
            return Err(format!("{} -> {plugin}", names.join(" -> ")));
        }
        chain.push((plugin.clone(), deadline));
        Ok(Frame(()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn depth_is_limited_and_frames_pop() {
        let name: std::sync::Arc<str> = "p".into();
        let d = Instant::now() + Duration::from_secs(1);
        let frames: Vec<Frame> = (0..MAX_DEPTH).map(|_| enter(&name, d).unwrap()).collect();
        let err = enter(&name, d).err().unwrap();
        assert_eq!(err.matches("p").count(), MAX_DEPTH + 1, "{err}");
        assert_eq!(outer_deadline(), Some(d));
        drop(frames);
        assert!(!is_nested());
    }
}
