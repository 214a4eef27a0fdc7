//! One group's supervisor: its settings, its update state, and the thread that reconciles it right after a commit and then every poll.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::members::Members;
use super::options::GroupOptions;
use super::rolling::{self, Work};
use super::settings::Settings;
use super::{quorum, scaler};
use crate::host::WeakHost;
use crate::{Host, Result};

/// Locks a mutex, ignoring poisoning: every critical section here leaves its data consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Default)]
struct Signal {
    kick: bool,
    stop: bool,
}

/// A managed group.
pub(crate) struct Supervisor {
    pub id: String,
    settings: Mutex<Arc<Settings>>,
    /// Held for a whole reconcile round, so a commit never interleaves with one.
    pub work: Mutex<Work>,
    updating: AtomicBool,
    signal: Mutex<Signal>,
    wake: Condvar,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Supervisor {
    pub(crate) fn new(settings: Settings) -> Arc<Supervisor> {
        Arc::new(Supervisor {
            id: settings.id.clone(),
            settings: Mutex::new(Arc::new(settings)),
            work: Mutex::new(Work::default()),
            updating: AtomicBool::new(false),
            signal: Mutex::new(Signal::default()),
            wake: Condvar::new(),
            thread: Mutex::new(None),
        })
    }

    /// The committed settings.
    pub(crate) fn settings(&self) -> Arc<Settings> {
        lock(&self.settings).clone()
    }

    /// Installs new settings, starting any update from scratch (the caller holds `work`).
    pub(crate) fn replace(&self, work: &mut Work, settings: Settings, hold_size: Option<u32>) {
        *lock(&self.settings) = Arc::new(settings);
        *work = Work {
            roll: None,
            hold_size,
        };
        self.updating.store(hold_size.is_some(), Ordering::SeqCst);
    }

    /// True while a rolling update is under way.
    pub(crate) fn is_updating(&self) -> bool {
        self.updating.load(Ordering::SeqCst)
    }

    /// Starts the reconcile thread unless it runs; it reconciles at once.
    pub(crate) fn start(self: &Arc<Self>, host: WeakHost, options: GroupOptions) -> Result<()> {
        let mut thread = lock(&self.thread);
        if thread.is_some() {
            return Ok(());
        }
        lock(&self.signal).stop = false;
        let me = self.clone();
        let handle = std::thread::Builder::new()
            .name(format!("group-{}", self.id))
            .spawn(move || me.run(host, options))
            .map_err(|e| crate::Error::Group(format!("cannot start group '{}': {e}", self.id)))?;
        *thread = Some(handle);
        Ok(())
    }

    /// Asks for a reconcile round now.
    pub(crate) fn kick(&self) {
        lock(&self.signal).kick = true;
        self.wake.notify_all();
    }

    /// Stops the thread and waits for its round in progress to finish (unless
    /// called from that very thread, which then ends after its round).
    pub(crate) fn stop(&self) {
        lock(&self.signal).stop = true;
        self.wake.notify_all();
        let handle = lock(&self.thread).take();
        if let Some(handle) = handle
            && handle.thread().id() != std::thread::current().id()
        {
            let _ = handle.join();
        }
    }

    fn run(&self, host: WeakHost, options: GroupOptions) {
        let span = tracing::info_span!("group", group = %self.id);
        let _entered = span.enter();
        tracing::debug!("reconciling");
        loop {
            {
                // A strong handle only for the round: the host may go away between rounds.
                let Some(host) = host.upgrade() else { break };
                self.round(&host, &options);
            }
            if !self.wait(options.get_poll_interval()) {
                break;
            }
        }
        tracing::debug!("stopped reconciling");
    }

    /// Waits for the next round; false when asked to stop.
    fn wait(&self, interval: Duration) -> bool {
        let deadline = Instant::now() + interval;
        let mut signal = lock(&self.signal);
        loop {
            if signal.stop {
                return false;
            }
            if signal.kick {
                signal.kick = false;
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            signal = self
                .wake
                .wait_timeout(signal, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// One round, with any panic of a native plugin caught and logged so the group keeps being managed.
    fn round(&self, host: &Host, options: &GroupOptions) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.reconcile(host, options)
        }));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "reconcile failed; retrying at the next poll")
            }
            Err(_) => tracing::error!("reconcile panicked; retrying at the next poll"),
        }
    }

    /// Lists the members, lets the scaler or quorum fix the count, and when
    /// it had nothing to do, takes one rolling-update step.
    fn reconcile(&self, host: &Host, options: &GroupOptions) -> Result<()> {
        let mut work = lock(&self.work);
        let settings = self.settings();
        let m = Members::lookup(host, settings.clone())?;
        let members = m.list()?;
        let acted = if settings.is_quorum() {
            quorum::converge(
                &m,
                &members,
                &settings.allocation().logical_ids,
                options.get_max_parallel(),
            )
        } else {
            let target = work.hold_size.unwrap_or(settings.target());
            scaler::converge(&m, &members, target, options.get_max_parallel())
        };
        if !acted {
            rolling::step(&m, &mut work, &members);
        }
        self.updating.store(
            work.roll.is_some() || work.hold_size.is_some(),
            Ordering::SeqCst,
        );
        Ok(())
    }
}
