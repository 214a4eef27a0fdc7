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
    static CHAIN: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// One call on a thread's chain.
///
/// The plugin's name is a pointer, not an `Arc` clone: cloning the plugin's
/// shared `Arc<str>` on every call bounced its reference count between the
/// cores of threads calling the same plugin.
struct Frame {
    /// Borrowed by the [`within`] call that pushed the frame, which pops it
    /// before it returns or unwinds.
    name: *const str,
    deadline: Instant,
}

impl Frame {
    fn name(&self) -> &str {
        // SAFETY: a frame is on the chain only while the `within` call that
        // pushed it runs further up this thread's stack, holding the borrow
        // of the name; `within` pops it on return and on unwind.
        unsafe { &*self.name }
    }
}

/// A call that has joined its thread's chain, as [`within`] hands it over.
pub(crate) struct Entered {
    /// The call's own deadline, or its caller's if that is sooner.
    pub(crate) deadline: Instant,
    /// Called from inside another plugin's call.
    pub(crate) nested: bool,
    /// This plugin was already in the chain (reached again through its own calls).
    pub(crate) reentrant: bool,
}

/// Runs `call` as a call of `plugin` on this thread's chain, where it may
/// run until `own_deadline` (or its caller's deadline, if sooner); `Err`
/// with the chain's names, without running `call`, when it would be deeper
/// than [`MAX_DEPTH`]. This runs on every call, so it looks at the chain once.
pub(crate) fn within<T>(
    plugin: &str,
    own_deadline: Instant,
    call: impl FnOnce(&Entered) -> T,
) -> Result<T, String> {
    let entered = CHAIN.with(|c| {
        let mut chain = c.borrow_mut();
        if chain.len() >= MAX_DEPTH {
            let names: Vec<&str> = chain.iter().map(Frame::name).collect();
            return Err(format!("{} -> {plugin}", names.join(" -> ")));
        }
        let deadline = chain
            .last()
            .map_or(own_deadline, |outer| own_deadline.min(outer.deadline));
        let nested = !chain.is_empty();
        let reentrant = chain.iter().any(|f| f.name() == plugin);
        chain.push(Frame {
            name: plugin as *const str,
            deadline,
        });
        Ok(Entered {
            deadline,
            nested,
            reentrant,
        })
    })?;
    let _leave = Leave;
    Ok(call(&entered))
}

/// Pops the frame [`within`] pushed, when the call returns or unwinds.
struct Leave;

impl Drop for Leave {
    fn drop(&mut self) {
        CHAIN.with(|c| c.borrow_mut().pop());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Enters `depth` nested calls of `name`, then runs `innermost` inside them.
    fn nest<T>(name: &str, depth: usize, d: Instant, innermost: impl FnOnce() -> T) -> T {
        if depth == 0 {
            return innermost();
        }
        within(name, d, |_| nest(name, depth - 1, d, innermost)).unwrap()
    }

    #[test]
    fn depth_is_limited_and_frames_pop() {
        let d = Instant::now() + Duration::from_secs(1);
        let (err, inner) = nest("p", MAX_DEPTH, d, || {
            let err = within("p", d, |_| ()).err().unwrap();
            (err, CHAIN.with(|c| c.borrow().len()))
        });
        assert_eq!(err.matches("p").count(), MAX_DEPTH + 1, "{err}");
        assert_eq!(inner, MAX_DEPTH, "the refused call pushed no frame");
        within("p", d, |outer| {
            assert!(!outer.nested && !outer.reentrant);
            within("p", d, |inner| assert!(inner.nested && inner.reentrant)).unwrap();
        })
        .unwrap();
        let first = within("q", d, |e| e.nested).unwrap();
        assert!(!first, "every frame popped");
    }

    #[test]
    fn a_panicking_call_leaves_the_chain() {
        let d = Instant::now() + Duration::from_secs(1);
        let caught = std::panic::catch_unwind(|| within("p", d, |_| panic!("guest bug")));
        assert!(caught.is_err());
        assert_eq!(CHAIN.with(|c| c.borrow().len()), 0);
    }

    #[test]
    fn a_nested_call_keeps_the_sooner_deadline_and_knows_its_chain() {
        let now = Instant::now();
        within("a", now + Duration::from_secs(1), |_| {
            within("b", now + Duration::from_secs(5), |later| {
                assert_eq!(later.deadline, now + Duration::from_secs(1));
                assert!(later.nested && !later.reentrant);
                within("a", now + Duration::from_millis(10), |sooner| {
                    assert_eq!(sooner.deadline, now + Duration::from_millis(10));
                    assert!(sooner.nested && sooner.reentrant);
                })
                .unwrap();
            })
            .unwrap();
        })
        .unwrap();
    }
}
