//! What ended a plugin call: each sandbox limit and trap kind, told apart precisely.

use std::fmt;
use std::time::Duration;

use wasmtime::Trap;

/// Why a call or an instantiation was ended by the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The call used its whole fuel budget (a deterministic CPU bound).
    OutOfFuel {
        /// The budget per call.
        budget: u64,
    },
    /// The call ran past its wall-clock deadline.
    DeadlineExceeded {
        /// The deadline per call.
        deadline: Duration,
    },
    /// The plugin tried to grow its memory or tables past the cap.
    MemoryLimit {
        /// The linear-memory cap in bytes.
        limit: usize,
    },
    /// The plugin panicked; the message comes from its captured stderr.
    Panic {
        /// The panic message, bounded.
        message: String,
    },
    /// The plugin overflowed its stack.
    StackOverflow,
    /// The plugin tried to hand the host more data in one go than the cap:
    /// a result, or the arguments of one host import call.
    ResultTooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// Any other trap, with wasmtime's description.
    Trap {
        /// wasmtime's message.
        message: String,
    },
}

impl Fault {
    /// A short, stable name for the kind: `out-of-fuel`, `deadline`, `memory`,
    /// `panic`, `stack-overflow`, `result-too-large`, `trap`.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::OutOfFuel { .. } => "out-of-fuel",
            Fault::DeadlineExceeded { .. } => "deadline",
            Fault::MemoryLimit { .. } => "memory",
            Fault::Panic { .. } => "panic",
            Fault::StackOverflow => "stack-overflow",
            Fault::ResultTooLarge { .. } => "result-too-large",
            Fault::Trap { .. } => "trap",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::OutOfFuel { budget } => write!(f, "out of fuel (budget {budget} per call)"),
            Fault::DeadlineExceeded { deadline } => {
                write!(
                    f,
                    "deadline of {} exceeded",
                    humantime::format_duration(*deadline)
                )
            }
            Fault::MemoryLimit { limit } => {
                write!(
                    f,
                    "memory limit of {} exceeded",
                    crate::limits::format_bytes(*limit)
                )
            }
            Fault::Panic { message } => write!(f, "guest panic: {message}"),
            Fault::StackOverflow => f.write_str("stack overflow"),
            Fault::ResultTooLarge { limit } => write!(
                f,
                "plugin passed more than {} to the host in one go",
                crate::limits::format_bytes(*limit)
            ),
            Fault::Trap { message } => write!(f, "trap: {message}"),
        }
    }
}

/// What the sandbox knew when a call failed, used to name the fault.
pub(crate) struct FaultEvidence<'a> {
    /// The fuel budget of the call.
    pub fuel_budget: u64,
    /// The deadline of the call.
    pub deadline: Duration,
    /// The memory cap, and whether the limiter refused a growth during the call.
    pub memory_limit: usize,
    /// The cap on data copied from the plugin into the host per transfer.
    pub max_result: usize,
    pub memory_refused: bool,
    /// The tail of the plugin's stderr during the call.
    pub stderr_tail: &'a str,
}

/// How wasmtime's error begins when a lift exceeds `Store::set_hostcall_fuel`.
const HOSTCALL_FUEL_EXHAUSTED: &str =
    "too much data is being copied between the host and the guest";

/// The longest panic message kept, in bytes.
const MAX_PANIC_MESSAGE: usize = 1024;

/// Names the fault behind a wasmtime error.
pub(crate) fn classify(error: &wasmtime::Error, evidence: &FaultEvidence<'_>) -> Fault {
    if evidence.memory_refused {
        return Fault::MemoryLimit {
            limit: evidence.memory_limit,
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Fault::OutOfFuel {
            budget: evidence.fuel_budget,
        },
        Some(Trap::Interrupt) => Fault::DeadlineExceeded {
            deadline: evidence.deadline,
        },
        Some(Trap::StackOverflow) => Fault::StackOverflow,
        Some(_) => trap_or_panic(error, evidence),
        None if error
            .downcast_ref::<crate::deadline_io::HostDeadline>()
            .is_some() =>
        {
            Fault::DeadlineExceeded {
                deadline: evidence.deadline,
            }
        }
        // wasmtime's "hostcall fuel" error type is private; its message is stable.
        None if error
            .root_cause()
            .to_string()
            .starts_with(HOSTCALL_FUEL_EXHAUSTED) =>
        {
            Fault::ResultTooLarge {
                limit: evidence.max_result,
            }
        }
        None => trap_or_panic(error, evidence),
    }
}

/// A panic when the guest's stderr shows one, otherwise the trap's own message.
fn trap_or_panic(error: &wasmtime::Error, evidence: &FaultEvidence<'_>) -> Fault {
    match panic_message(evidence.stderr_tail) {
        Some(message) => Fault::Panic { message },
        None => Fault::Trap {
            message: root_message(error),
        },
    }
}

/// wasmtime's root cause without the backtrace context.
fn root_message(error: &wasmtime::Error) -> String {
    let text = error.root_cause().to_string();
    bounded(text.lines().next().unwrap_or_default().trim()).to_owned()
}

/// The guest's own account of why it died, from its captured stderr: an
/// uncaught Python exception (componentize-py prints the traceback, then its
/// runtime panics with a generic message), a Rust panic, or an uncaught
/// JavaScript error (StarlingMonkey prints it, a `Stack:`, then aborts).
pub(crate) fn panic_message(stderr: &str) -> Option<String> {
    python_exception(stderr)
        .or_else(|| rust_panic(stderr))
        .or_else(|| javascript_error(stderr))
}

/// The exception line of the last Python traceback: the last unindented line
/// after `Traceback (most recent call last):`, before the runtime's panic.
fn python_exception(stderr: &str) -> Option<String> {
    let at = stderr.rfind("Traceback (most recent call last):")?;
    let traceback = &stderr[at..];
    let traceback = traceback
        .find("\nthread '")
        .map_or(traceback, |end| &traceback[..end]);
    let line = traceback
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty() && !l.starts_with(char::is_whitespace))
        .last()?;
    Some(bounded(&format!("uncaught Python exception: {}", line.trim())).to_owned())
}

/// The uncaught error StarlingMonkey printed before its `Stack:` line; when
/// the error could not be lowered as the WIT error variant, the thrown value
/// it quotes (`(received \`Error: …\`)`).
fn javascript_error(stderr: &str) -> Option<String> {
    let stack = stderr.rfind("\nStack:")?;
    // A JavaScript stack follows: indented `function@file:line:col` frames.
    let frame = stderr[stack + 1..].lines().nth(1)?;
    if !frame.starts_with(char::is_whitespace) || !frame.contains('@') {
        return None;
    }
    let line = stderr[..stack].lines().last()?.trim();
    let thrown = line
        .split_once("(received `")
        .and_then(|(_, rest)| rest.split_once("`)"))
        .map_or(line, |(value, _)| value);
    (!thrown.is_empty())
        .then(|| bounded(&format!("uncaught JavaScript error: {thrown}")).to_owned())
}

/// A Rust panic message (`… panicked at FILE:LINE:COL:\nMESSAGE`).
fn rust_panic(stderr: &str) -> Option<String> {
    let at = stderr.rfind("panicked at ")?;
    let after = &stderr[at..];
    let body = after
        .split_once('\n')
        .map(|(_, rest)| rest)
        .unwrap_or(after);
    let message = body
        .split("\nnote: run with `RUST_BACKTRACE")
        .next()
        .unwrap_or(body)
        .trim_end();
    Some(bounded(message).to_owned())
}

/// Cuts `s` to at most [`MAX_PANIC_MESSAGE`] bytes on a character boundary.
fn bounded(s: &str) -> &str {
    if s.len() <= MAX_PANIC_MESSAGE {
        return s;
    }
    let mut end = MAX_PANIC_MESSAGE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_panic_message_is_extracted() {
        let stderr = "thread '<unnamed>' (1) panicked at src/lib.rs:21:9:\nguest panic: boom\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(panic_message(stderr).as_deref(), Some("guest panic: boom"));
    }

    #[test]
    fn multi_line_panic_message_is_kept() {
        let stderr = "thread 'x' panicked at a.rs:1:1:\nline one\nline two\n";
        assert_eq!(panic_message(stderr).as_deref(), Some("line one\nline two"));
    }

    #[test]
    fn python_exceptions_are_named_not_the_runtime_panic() {
        let stderr = "Traceback (most recent call last):\n  File \"/0/app.py\", line 112, in provision\nRuntimeError: instance-memory-py was asked to crash\nthread '<unnamed>' (1) panicked at runtime/src/lib.rs:1293:29:\nPython function threw an unexpected exception\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("uncaught Python exception: RuntimeError: instance-memory-py was asked to crash")
        );
    }

    #[test]
    fn javascript_errors_are_named_not_the_abort() {
        let stderr = "invalid variant tag value `undefined` (received `Error: asked to crash (group )`) specified for `Error`\nStack:\n  export_flavor_0_1_0$prepare@/tmp/x/initializer.js:3224:15\nRedirecting call to abort() to mozalloc_abort\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("uncaught JavaScript error: Error: asked to crash (group )")
        );
        let stderr = "TypeError: x is undefined\nStack:\n  f@app.js:1:1\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("uncaught JavaScript error: TypeError: x is undefined")
        );
        assert_eq!(panic_message("a log line\nStack: 3 items\n"), None);
    }

    #[test]
    fn no_panic_in_plain_output() {
        assert_eq!(panic_message("hello\n"), None);
    }

    #[test]
    fn long_messages_are_bounded() {
        let stderr = format!("panicked at a.rs:1:1:\n{}", "é".repeat(2000));
        let message = panic_message(&stderr).unwrap();
        assert!(message.len() <= MAX_PANIC_MESSAGE);
        assert!(message.starts_with('é'));
    }
}
