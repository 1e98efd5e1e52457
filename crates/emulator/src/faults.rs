//! Faults for tests of clients: behaviours a real service shows under stress, switched on
//! one by one from code. They are off by default and cannot be set from `Config.json`, so
//! an emulator started from the command line never has them.

use std::time::Duration;

use eventhubs_amqp::definitions::{condition, AmqpError};

/// The faults an emulator injects (none by default).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Faults {
    /// Entity paths (`eh1` or `eh1/partitions/1`, compared case-insensitively) whose sender
    /// links are attached but never given credit: sends to them can never leave the client.
    pub starve_sends_to: Vec<String>,
    /// Every this many events on each producer link, one is rejected with
    /// `com.microsoft:server-busy` (and not stored), as a throttled namespace does.
    pub reject_every: Option<u32>,
    /// Producer and consumer links are detached with `amqp:link:detach-forced` once they
    /// have been attached this long, as the service does when it moves a partition.
    pub detach_links_after: Option<Duration>,
    /// Every this many `$management` requests on a connection, one reply waits this long first
    /// (longer than a client's operation timeout: that request times out and is retried).
    pub delay_management: Option<(u32, Duration)>,
}

impl Faults {
    /// Adds an entity whose senders get no credit.
    pub fn starve_sends_to(mut self, entity_path: impl Into<String>) -> Self {
        self.starve_sends_to.push(entity_path.into());
        self
    }

    /// Rejects one event in `n` on each producer link with server-busy.
    pub fn reject_every(mut self, n: u32) -> Self {
        self.reject_every = Some(n.max(1));
        self
    }

    /// Detaches every producer and consumer link after `after` attached.
    pub fn detach_links_after(mut self, after: Duration) -> Self {
        self.detach_links_after = Some(after);
        self
    }

    /// Delays one `$management` reply in `every` (per connection) by `by`.
    pub fn delay_management(mut self, every: u32, by: Duration) -> Self {
        self.delay_management = Some((every.max(1), by));
        self
    }

    /// How long the `n`th (from 1) `$management` reply of a connection waits first.
    pub(crate) fn management_delay(&self, n: u64) -> Option<Duration> {
        self.delay_management
            .filter(|(every, _)| n.is_multiple_of(u64::from(*every)))
            .map(|(_, by)| by)
    }

    /// Whether the `n`th event (from 1) of a producer link is to be rejected.
    pub(crate) fn rejects(&self, n: u64) -> bool {
        self.reject_every
            .is_some_and(|every| n.is_multiple_of(u64::from(every)))
    }

    /// The error a rejected event gets.
    pub(crate) fn server_busy() -> AmqpError {
        AmqpError::new(
            eventhubs_protocol::constants::SERVER_BUSY,
            "the emulator's reject_every fault: this send is refused as a throttled namespace \
             refuses it; retry it",
        )
    }

    /// Resolves when a link attached now is to be detached (never without the fault).
    pub(crate) async fn link_expiry(&self) {
        match self.detach_links_after {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    }

    /// The error a link is detached with by [`Faults::link_expiry`].
    pub(crate) fn detach_forced() -> AmqpError {
        AmqpError::new(
            condition::DETACH_FORCED,
            "the emulator's detach_links_after fault: the link is detached; attach it again",
        )
    }

    /// True when senders to `path` (lower case, as the emulator resolves it) are starved.
    pub(crate) fn starves(&self, path: &str) -> bool {
        self.starve_sends_to
            .iter()
            .any(|p| p.eq_ignore_ascii_case(path))
    }
}
