//! Logging into the host's log with the [`trace!`](crate::trace) … [`error!`](crate::error) macros.
//!
//! Inside a component (wasm32 with the `guest` feature) each message goes to
//! the host's `log` import, which tags it with the plugin's name. Anywhere
//! else, for example in a plugin author's native `cargo test`, messages are
//! written to standard error as `LEVEL message`.

use std::fmt;

/// How important a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Very detailed diagnostics.
    Trace,
    /// Diagnostics.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that the plugin handled.
    Warn,
    /// A failure.
    Error,
}

impl Level {
    /// The level's name in capitals, as written natively: `TRACE` … `ERROR`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Writes one message to the host's log (natively: to standard error).
pub fn log(level: Level, message: &str) {
    backend::write(level, message);
}

/// What the logging macros call; formats lazily into one message.
#[doc(hidden)]
pub fn __log(level: Level, args: fmt::Arguments<'_>) {
    match args.as_str() {
        Some(text) => log(level, text),
        None => log(level, &fmt::format(args)),
    }
}

#[cfg(all(feature = "guest", target_arch = "wasm32"))]
mod backend {
    use super::Level;
    use crate::wit::deploykit::plugin::log as wit;

    pub(super) fn write(level: Level, message: &str) {
        let level = match level {
            Level::Trace => wit::Level::Trace,
            Level::Debug => wit::Level::Debug,
            Level::Info => wit::Level::Info,
            Level::Warn => wit::Level::Warn,
            Level::Error => wit::Level::Error,
        };
        wit::log(level, message);
    }
}

#[cfg(not(all(feature = "guest", target_arch = "wasm32")))]
mod backend {
    use super::Level;

    pub(super) fn write(level: Level, message: &str) {
        eprintln!("{level:<5} {message}");
    }
}

/// Logs a message at [`Level::Trace`], formatted like [`format!`].
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::log::__log($crate::log::Level::Trace, ::core::format_args!($($arg)+)) };
}

/// Logs a message at [`Level::Debug`], formatted like [`format!`].
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log::__log($crate::log::Level::Debug, ::core::format_args!($($arg)+)) };
}

/// Logs a message at [`Level::Info`], formatted like [`format!`].
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log::__log($crate::log::Level::Info, ::core::format_args!($($arg)+)) };
}

/// Logs a message at [`Level::Warn`], formatted like [`format!`].
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log::__log($crate::log::Level::Warn, ::core::format_args!($($arg)+)) };
}

/// Logs a message at [`Level::Error`], formatted like [`format!`].
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log::__log($crate::log::Level::Error, ::core::format_args!($($arg)+)) };
}

#[cfg(test)]
mod tests {
    use super::Level;

    #[test]
    fn macros_format_their_arguments() {
        let who = "world";
        crate::trace!("hello {who}");
        crate::debug!("hello {}", 1);
        crate::info!("plain text");
        crate::warn!("{:>3}", 7);
        crate::error!("{who:?}");
    }

    #[test]
    fn levels_are_ordered_and_padded() {
        assert!(Level::Trace < Level::Error);
        assert_eq!(format!("{:<5}|", Level::Info), "INFO |");
    }
}
