//! The error a plugin returns, one variant per kind of failure in the WIT `error` variant.

use std::fmt;

/// Why a plugin operation failed. The message is what InfraKit clients see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The request was malformed or refused by validation.
    InvalidInput(String),
    /// The named instance or group does not exist.
    NotFound(String),
    /// A backend the plugin needs could not be reached; retrying may help.
    Unavailable(String),
    /// Anything else.
    Internal(String),
}

/// A plugin operation's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The message alone, without the kind.
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidInput(m)
            | Error::NotFound(m)
            | Error::Unavailable(m)
            | Error::Internal(m) => m,
        }
    }

    /// The kind as a short word: `invalid-input`, `not-found`, `unavailable`, `internal`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidInput(_) => "invalid-input",
            Error::NotFound(_) => "not-found",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}
