//! The one public error type: what went wrong (`kind`), whether retrying can help
//! (`is_transient`), and the AMQP condition when the service gave one.

use eventhubs_amqp::connection::ConnectionError;
use eventhubs_amqp::definitions::condition;
use eventhubs_protocol::constants as k;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad input from the caller: connection string, options, event, partition id.
    InvalidArgument,
    /// Authentication or authorization failed (bad key, expired token, missing claim).
    Unauthorized,
    /// The hub, partition or consumer group does not exist.
    NotFound,
    /// An event or batch is larger than the link allows.
    MessageTooLarge,
    /// A receiver with a higher owner level (epoch) took the partition.
    OwnershipLost,
    /// The service is busy or throttling; retry after a delay.
    ServerBusy,
    /// A limit of the hub or namespace was reached, such as five receivers per partition and
    /// consumer group: close a receiver (or use another consumer group) before retrying.
    QuotaExceeded,
    /// An operation did not complete in time.
    Timeout,
    /// The connection or link was lost; a new one can be opened.
    ConnectionLost,
    /// The client (or the handle) was closed by the application.
    Closed,
    /// The service refused an operation for another reason.
    Service,
    /// A checkpoint store failed.
    Checkpoint,
}

/// An Event Hubs client error. Cloning is cheap (the cause is shared), so one failure can
/// be reported to every caller that waited on the same operation.
///
/// Its `Display` tells the whole story on one line, the underlying cause's text included,
/// so `source()` is `None`: an error reporter that walks the chain (`anyhow`'s `{:#}`,
/// `eyre`) prints every fact once. The cause stays visible in `Debug`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
    condition: Option<String>,
    events_sent: Option<usize>,
    // Not `#[source]`: its text is already part of `message`.
    cause: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            condition: None,
            events_sent: None,
            cause: None,
        }
    }

    /// Keeps `cause` (for `Debug`); the message must already say what it says.
    pub(crate) fn with_source(
        mut self,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.cause = Some(std::sync::Arc::new(cause));
        self
    }

    /// Prefixes the message with what the error is about (once).
    pub(crate) fn context(mut self, about: &str) -> Self {
        if !self.message.starts_with(about) {
            self.message = format!("{about}: {}", self.message);
        }
        self
    }

    /// Says what the failed operation was about (`subject`: "sending to partition 9 of
    /// eh1") and, for failures a user fixes, what to check.
    pub(crate) fn explain(self, subject: &str) -> Self {
        let mut e = self.context(subject);
        let hint = match e.kind {
            ErrorKind::NotFound => {
                "Check the names: the namespace has no such event hub, partition or consumer group (get_eventhub_properties lists the partitions)"
            }
            // The proxy's refusal already says which credentials it wants.
            ErrorKind::Unauthorized if e.message.contains("proxy: the proxy ") => return e,
            // A token service's refusal says what is wrong with the Entra ID credential.
            ErrorKind::Unauthorized if e.message.contains(crate::identity::ENTRA_ERROR) => {
                return e
            }
            ErrorKind::Unauthorized => {
                "Check the credential: the SharedAccessKeyName and SharedAccessKey (or token) must be valid for this namespace and grant Send or Listen on this hub"
            }
            ErrorKind::QuotaExceeded => {
                "Close another receiver of this partition and consumer group, or use another consumer group"
            }
            _ => return e,
        };
        if !e.message.ends_with(hint) {
            e.message = format!("{}. {hint}", e.message.trim_end_matches('.'));
        }
        e
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// For an operation that sends many events in several batches
    /// ([`ProducerClient::send_events`](crate::ProducerClient::send_events)): how many were
    /// accepted before it failed (those are stored; the rest were not sent).
    pub fn events_sent(&self) -> Option<usize> {
        self.events_sent
    }

    pub(crate) fn with_events_sent(mut self, n: usize) -> Self {
        self.events_sent = Some(n);
        self
    }

    /// The AMQP error condition the service sent, if any (e.g. `amqp:link:stolen`).
    pub fn condition(&self) -> Option<&str> {
        self.condition.as_deref()
    }

    /// Whether retrying the same operation may succeed (after reconnecting if needed):
    /// lost connections, busy servers, timeouts. Stolen partitions, authorization
    /// failures, unknown entities and oversize events are not transient.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::ConnectionLost | ErrorKind::ServerBusy | ErrorKind::Timeout
        )
    }

    /// The kind for an AMQP error condition.
    pub(crate) fn kind_of_condition(c: &str) -> ErrorKind {
        match c {
            condition::UNAUTHORIZED_ACCESS => ErrorKind::Unauthorized,
            condition::NOT_FOUND => ErrorKind::NotFound,
            condition::MESSAGE_SIZE_EXCEEDED => ErrorKind::MessageTooLarge,
            condition::STOLEN => ErrorKind::OwnershipLost,
            k::SERVER_BUSY => ErrorKind::ServerBusy,
            condition::RESOURCE_LIMIT_EXCEEDED => ErrorKind::QuotaExceeded,
            k::TIMEOUT_ERROR => ErrorKind::Timeout,
            k::ARGUMENT_ERROR | condition::INVALID_FIELD | condition::NOT_ALLOWED => {
                ErrorKind::InvalidArgument
            }
            condition::DETACH_FORCED
            | condition::CONNECTION_FORCED
            | condition::INTERNAL_ERROR
            | condition::FRAMING_ERROR => ErrorKind::ConnectionLost,
            _ => ErrorKind::Service,
        }
    }

    /// An error from a service response or detach with `condition`.
    pub(crate) fn from_condition(c: &str, description: impl Into<String>) -> Self {
        let mut e = Self::new(Self::kind_of_condition(c), description);
        e.condition = Some(c.to_owned());
        e
    }
}

impl From<eventhubs_amqp_io::Error> for Error {
    fn from(e: eventhubs_amqp_io::Error) -> Self {
        use eventhubs_amqp_io::Error as E;
        let kind = match (&e, e.condition()) {
            (_, Some(c)) => Self::kind_of_condition(c),
            (E::Io(_) | E::Closed | E::ConnectionClosed(None), _) => ErrorKind::ConnectionLost,
            (E::LinkDetached(None) | E::SessionEnded(None), _) => ErrorKind::ConnectionLost,
            (E::Tls(_) | E::WebSocket(_), _) => ErrorKind::ConnectionLost,
            (
                E::Proxy {
                    status: Some(407), ..
                },
                _,
            ) => ErrorKind::Unauthorized,
            (E::Proxy { .. }, _) => ErrorKind::ConnectionLost,
            (E::Connection(ConnectionError::MessageTooLarge { .. }), _) => {
                ErrorKind::MessageTooLarge
            }
            _ => ErrorKind::Service,
        };
        let condition = e.condition().map(str::to_owned);
        let message = match &e {
            E::LinkDetached(Some(err)) => format!(
                "the service refused or closed the link ({}): {}",
                err.condition.as_str(),
                err.description.as_deref().unwrap_or("no description")
            ),
            E::ConnectionClosed(Some(err)) => format!(
                "the service closed the connection ({}): {}",
                err.condition.as_str(),
                err.description.as_deref().unwrap_or("no description")
            ),
            _ => e.to_string(),
        };
        Self {
            kind,
            message,
            condition,
            events_sent: None,
            cause: Some(std::sync::Arc::new(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Conditions map to kinds, and only the recoverable ones are transient.
    #[test]
    fn conditions_and_transience() {
        let stolen = Error::from_condition(condition::STOLEN, "taken");
        assert_eq!(stolen.kind(), ErrorKind::OwnershipLost);
        assert!(!stolen.is_transient());
        assert_eq!(stolen.condition(), Some(condition::STOLEN));
        assert!(Error::from_condition(k::SERVER_BUSY, "busy").is_transient());
        assert!(Error::from_condition(condition::DETACH_FORCED, "x").is_transient());
        assert!(!Error::from_condition(condition::UNAUTHORIZED_ACCESS, "x").is_transient());
        let io: Error = eventhubs_amqp_io::Error::Closed.into();
        assert_eq!(io.kind(), ErrorKind::ConnectionLost);
        assert!(io.is_transient());
    }

    /// No fact is printed twice by a reporter that walks the `source()` chain.
    #[test]
    fn display_and_source_do_not_repeat() {
        use std::error::Error as _;
        let bad_string = eventhubs_protocol::connection_string::ConnectionString::parse("x=1")
            .map(|_| ())
            .unwrap_err();
        let errors = [
            Error::invalid(format!("invalid connection string: {bad_string}"))
                .with_source(bad_string),
            eventhubs_amqp_io::Error::Io(std::io::Error::other("connection reset")).into(),
        ];
        for e in errors {
            let mut chain = vec![e.to_string()];
            let mut next = e.source();
            while let Some(s) = next {
                chain.push(s.to_string());
                next = s.source();
            }
            for (i, outer) in chain.iter().enumerate() {
                for inner in &chain[i + 1..] {
                    assert!(
                        !outer.contains(inner.as_str()),
                        "{chain:?} repeats {inner:?}"
                    );
                }
            }
            assert!(
                format!("{e:?}").contains("cause"),
                "the cause stays in Debug"
            );
        }
    }
}
