//! [`CheckpointStore`]: where the consumers of a consumer group record which of them owns
//! each partition and how far each partition has been read — the shape of the official
//! SDKs' checkpoint stores, so an event processor can balance partitions across processes.

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use crate::error::Error;
use crate::event::ReceivedEventData;
use crate::position::StartPosition;

/// The future a [`CheckpointStore`] method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// How far a consumer group has read one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The namespace host (`my-ns.servicebus.windows.net`).
    pub fully_qualified_namespace: String,
    /// The event hub.
    pub eventhub_name: String,
    /// The consumer group.
    pub consumer_group: String,
    /// The partition.
    pub partition_id: String,
    /// The offset of the last event read (opaque text).
    pub offset: Option<String>,
    /// The sequence number of the last event read.
    pub sequence_number: Option<i64>,
    /// When that event was enqueued (not every store keeps it).
    pub enqueued_time: Option<SystemTime>,
}

impl Checkpoint {
    /// A checkpoint of `partition_id` with no position yet.
    pub fn new(
        fully_qualified_namespace: impl Into<String>,
        eventhub_name: impl Into<String>,
        consumer_group: impl Into<String>,
        partition_id: impl Into<String>,
    ) -> Self {
        Self {
            fully_qualified_namespace: fully_qualified_namespace.into(),
            eventhub_name: eventhub_name.into(),
            consumer_group: consumer_group.into(),
            partition_id: partition_id.into(),
            offset: None,
            sequence_number: None,
            enqueued_time: None,
        }
    }

    /// Where a reader resumes: right after the checkpointed event (by sequence number,
    /// else offset), or `None` when the checkpoint has no position.
    pub fn start_position(&self) -> Option<StartPosition> {
        match (&self.sequence_number, &self.offset) {
            (Some(seq), _) => Some(StartPosition::sequence_number(*seq)),
            (None, Some(offset)) => Some(StartPosition::offset(offset.clone())),
            (None, None) => None,
        }
    }
}

impl From<&ReceivedEventData> for Checkpoint {
    /// The checkpoint that says `event` has been handled.
    fn from(event: &ReceivedEventData) -> Self {
        Self::at(
            event.origin(),
            event.offset().to_owned(),
            event.sequence_number(),
            event.enqueued_time(),
        )
    }
}

impl Checkpoint {
    /// The checkpoint of the event at this position, read from `origin`.
    pub(crate) fn at(
        origin: &crate::event::Origin,
        offset: String,
        sequence_number: i64,
        enqueued_time: SystemTime,
    ) -> Self {
        Self {
            fully_qualified_namespace: origin.namespace.clone(),
            eventhub_name: origin.eventhub.clone(),
            consumer_group: origin.consumer_group.clone(),
            partition_id: origin.partition_id.clone(),
            offset: Some(offset),
            sequence_number: Some(sequence_number),
            enqueued_time: Some(enqueued_time),
        }
    }
}

/// Who owns a partition for a consumer group, and the version of that claim.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Ownership {
    /// The namespace host.
    pub fully_qualified_namespace: String,
    /// The event hub.
    pub eventhub_name: String,
    /// The consumer group.
    pub consumer_group: String,
    /// The partition.
    pub partition_id: String,
    /// The owner (a processor's id); empty when the partition was given up.
    pub owner_id: String,
    /// When the claim was last written (set by the store).
    pub last_modified_time: SystemTime,
    /// The claim's version (set by the store): a claim must name the version it replaces,
    /// or `None` for a partition nobody has claimed yet.
    pub etag: Option<String>,
}

impl Ownership {
    /// A claim of `partition_id` by `owner_id`, replacing the claim with `etag` (`None`:
    /// the first claim).
    pub fn new(
        fully_qualified_namespace: impl Into<String>,
        eventhub_name: impl Into<String>,
        consumer_group: impl Into<String>,
        partition_id: impl Into<String>,
        owner_id: impl Into<String>,
        etag: Option<String>,
    ) -> Self {
        Self {
            fully_qualified_namespace: fully_qualified_namespace.into(),
            eventhub_name: eventhub_name.into(),
            consumer_group: consumer_group.into(),
            partition_id: partition_id.into(),
            owner_id: owner_id.into(),
            last_modified_time: SystemTime::UNIX_EPOCH,
            etag,
        }
    }
}

/// Keeps ownership claims and checkpoints for consumer groups. Implementations must make
/// [`claim_ownership`](CheckpointStore::claim_ownership) a compare-and-swap on the etag, so
/// that of two processes claiming one partition at once exactly one wins.
pub trait CheckpointStore: Send + Sync + std::fmt::Debug {
    /// Every ownership claim of the consumer group.
    fn list_ownership<'a>(
        &'a self,
        fully_qualified_namespace: &'a str,
        eventhub_name: &'a str,
        consumer_group: &'a str,
    ) -> StoreFuture<'a, Vec<Ownership>>;

    /// Writes each claim whose etag matches the stored one (or that is new, with no etag,
    /// for a partition nobody claimed); returns those written, with their new etag and
    /// time. Claims that lost a race are left out, not errors.
    fn claim_ownership<'a>(&'a self, ownerships: Vec<Ownership>)
        -> StoreFuture<'a, Vec<Ownership>>;

    /// Every checkpoint of the consumer group.
    fn list_checkpoints<'a>(
        &'a self,
        fully_qualified_namespace: &'a str,
        eventhub_name: &'a str,
        consumer_group: &'a str,
    ) -> StoreFuture<'a, Vec<Checkpoint>>;

    /// Records a checkpoint (the last write wins).
    fn update_checkpoint<'a>(&'a self, checkpoint: Checkpoint) -> StoreFuture<'a, ()>;

    /// The store's clock, by which ownerships expire: a remote store returns the time its
    /// last response was sent (so a processor with a skewed clock does not see live claims
    /// as expired); the default is this machine's clock.
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
