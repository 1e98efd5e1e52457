//! [`Failure`]: how a command ends badly — one line for stderr and the exit code (2 for
//! usage and argument errors, 1 for everything that went wrong at run time).

use eventhubs::{Error, ErrorKind};

/// A command's failure.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// A bad argument or option (exit code 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            message: message.into(),
        }
    }

    /// Something failed while running (exit code 1).
    pub(crate) fn runtime(message: impl Into<String>) -> Self {
        Self {
            code: 1,
            message: message.into(),
        }
    }
}

impl From<Error> for Failure {
    /// Library errors are run-time failures, except bad arguments; the kinds a script
    /// may want to tell apart lead the line (`unauthorized: ...`).
    fn from(e: Error) -> Self {
        let code = if e.kind() == ErrorKind::InvalidArgument {
            2
        } else {
            1
        };
        let label = match e.kind() {
            ErrorKind::Unauthorized => Some("unauthorized"),
            ErrorKind::NotFound => Some("not found"),
            ErrorKind::Timeout => Some("timeout"),
            ErrorKind::QuotaExceeded => Some("quota exceeded"),
            ErrorKind::ServerBusy => Some("server busy"),
            ErrorKind::ConnectionLost => Some("connection lost"),
            _ => None,
        };
        let message = match label {
            Some(label) => format!("{label}: {e}"),
            None => e.to_string(),
        };
        Self { code, message }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::runtime(message)
    }
}
