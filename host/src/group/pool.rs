//! Runs a round of blocking plugin calls on scoped threads, at most N at once, and waits for all of them.

use std::sync::Mutex;

/// Calls `f` on every item, on up to `max` threads at once (0: one thread
/// per item), and returns when every call has returned. Each thread runs
/// inside the caller's tracing span.
pub(crate) fn for_each<T: Send>(items: Vec<T>, max: usize, f: impl Fn(T) + Sync) {
    let threads = match max {
        0 => items.len(),
        max => max.min(items.len()),
    };
    if threads <= 1 {
        items.into_iter().for_each(f);
        return;
    }
    let queue = Mutex::new(items.into_iter());
    let span = tracing::Span::current();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let _entered = span.enter();
                loop {
                    // Take the next item, then release the lock before the call.
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).next();
                    match next {
                        Some(item) => f(item),
                        None => break,
                    }
                }
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn never_runs_more_than_max_at_once_and_runs_everything() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        for_each((0..12).collect(), 3, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            running.fetch_sub(1, Ordering::SeqCst);
            done.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(done.load(Ordering::SeqCst), 12);
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn zero_means_no_limit() {
        let done = AtomicUsize::new(0);
        for_each(vec![(); 5], 0, |_| {
            done.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(done.load(Ordering::SeqCst), 5);
    }
}
