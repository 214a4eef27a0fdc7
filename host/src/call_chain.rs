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

/// A call that has joined its thread's chain; it leaves the chain when dropped.
pub(crate) struct Entered {
    /// The call's own deadline, or its caller's if that is sooner.
    pub(crate) deadline: Instant,
    /// Called from inside another plugin's call.
    pub(crate) nested: bool,
    /// This plugin was already in the chain (reached again through its own calls).
    pub(crate) reentrant: bool,
}

/// Enters a call of `plugin` that may run until `own_deadline`, all in one
/// look at the thread's chain (this runs on every call); `Err` with the
/// chain's names when it would be deeper than [`MAX_DEPTH`].
pub(crate) fn enter(
    plugin: &std::sync::Arc<str>,
    own_deadline: Instant,
) -> Result<Entered, String> {
    CHAIN.with(|c| {
        let mut chain = c.borrow_mut();
        if chain.len() >= MAX_DEPTH {
            let names: Vec<&str> = chain.iter().map(|(n, _)| &**n).collect();
            return Err(format!("{} -> {plugin}", names.join(" -> ")));
        }
        let deadline = chain
            .last()
            .map_or(own_deadline, |(_, outer)| own_deadline.min(*outer));
        let nested = !chain.is_empty();
        let reentrant = chain.iter().any(|(n, _)| **n == **plugin);
        chain.push((plugin.clone(), deadline));
        Ok(Entered {
            deadline,
            nested,
            reentrant,
        })
    })
}

impl Drop for Entered {
    fn drop(&mut self) {
        CHAIN.with(|c| c.borrow_mut().pop());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn depth_is_limited_and_frames_pop() {
        let name: std::sync::Arc<str> = "p".into();
        let d = Instant::now() + Duration::from_secs(1);
        let frames: Vec<Entered> = (0..MAX_DEPTH).map(|_| enter(&name, d).unwrap()).collect();
        let err = enter(&name, d).err().unwrap();
        assert_eq!(err.matches("p").count(), MAX_DEPTH + 1, "{err}");
        assert!(!frames[0].nested && !frames[0].reentrant);
        assert!(frames[1].nested && frames[1].reentrant);
        drop(frames);
        let other: std::sync::Arc<str> = "q".into();
        let first = enter(&other, d).unwrap();
        assert!(!first.nested, "every frame popped");
        drop(first);
    }

    #[test]
    fn a_nested_call_keeps_the_sooner_deadline_and_knows_its_chain() {
        let (a, b): (std::sync::Arc<str>, std::sync::Arc<str>) = ("a".into(), "b".into());
        let now = Instant::now();
        let outer = enter(&a, now + Duration::from_secs(1)).unwrap();
        let later = enter(&b, now + Duration::from_secs(5)).unwrap();
        assert_eq!(later.deadline, now + Duration::from_secs(1));
        assert!(later.nested && !later.reentrant);
        let sooner = enter(&a, now + Duration::from_millis(10)).unwrap();
        assert_eq!(sooner.deadline, now + Duration::from_millis(10));
        assert!(sooner.nested && sooner.reentrant);
        drop((sooner, later, outer));
    }
}
