//! [`ProcessorPartitionClient`]: one partition a processor owns — its events, its
//! checkpoints (refused once the partition is known to be lost), and why it ended.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::checkpoint_store::{Checkpoint, CheckpointStore};
use crate::error::{Error, ErrorKind};
use crate::event::{Origin, ReceivedEventData};
use crate::handler_loop::{EventSource, Position};
use crate::receiver::PartitionReceiver;

/// Why a partition client stopped receiving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PartitionEndReason {
    /// Another processor owns the partition now (it claimed it, or its receiver took the
    /// link with `amqp:link:stolen`).
    OwnershipLost,
    /// The processor is closing.
    Shutdown,
}

/// What the processor and a partition client share about one partition.
#[derive(Debug)]
pub(crate) struct PartitionState {
    pub partition_id: String,
    ended: watch::Sender<Option<PartitionEndReason>>,
    /// When the partition's ownership was last written by this processor.
    renewed: Mutex<tokio::time::Instant>,
    expiration: Duration,
    /// Set when the client is closed or dropped; `released` is notified then.
    closed: AtomicBool,
    released: Notify,
}

impl PartitionState {
    pub(crate) fn new(partition_id: &str, expiration: Duration) -> Arc<Self> {
        Arc::new(Self {
            partition_id: partition_id.to_owned(),
            ended: watch::channel(None).0,
            renewed: Mutex::new(tokio::time::Instant::now()),
            expiration,
            closed: AtomicBool::new(false),
            released: Notify::new(),
        })
    }

    /// Records a successful renewal of the ownership.
    pub(crate) fn renewed(&self) {
        *self.renewed.lock().unwrap_or_else(|p| p.into_inner()) = tokio::time::Instant::now();
    }

    /// Ends the partition (the first reason sticks).
    pub(crate) fn end(&self, reason: PartitionEndReason) {
        self.ended.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                true
            } else {
                false
            }
        });
    }

    pub(crate) fn end_reason(&self) -> Option<PartitionEndReason> {
        *self.ended.borrow()
    }

    /// Waits (bounded by `limit`) until the client has been closed or dropped.
    pub(crate) async fn wait_closed(&self, limit: Duration) {
        let _ = tokio::time::timeout(limit, async {
            loop {
                let notified = self.released.notified();
                if self.closed.load(Ordering::Acquire) {
                    return;
                }
                notified.await;
            }
        })
        .await;
    }

    /// True once the client was closed or dropped.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn mark_closed(&self) {
        self.closed.store(true, Ordering::Release);
        self.released.notify_waiters();
    }

    /// Why a checkpoint may not be written now, if it may not. A partition ended by the
    /// processor closing is still this processor's until it is released (after its client
    /// is gone), so its final checkpoint is written.
    fn fence(&self) -> Option<Error> {
        if self.end_reason() == Some(PartitionEndReason::OwnershipLost) {
            return Some(ended_error(
                &self.partition_id,
                PartitionEndReason::OwnershipLost,
            ));
        }
        let age = self
            .renewed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed();
        (age > self.expiration).then(|| {
            Error::new(
                ErrorKind::OwnershipLost,
                format!(
                    "partition {}: this processor's ownership was last renewed {age:?} ago, past \
                     the {:?} expiration, so another processor may own it; the checkpoint is \
                     not written",
                    self.partition_id, self.expiration
                ),
            )
        })
    }
}

fn ended_error(partition: &str, reason: PartitionEndReason) -> Error {
    match reason {
        PartitionEndReason::OwnershipLost => Error::new(
            ErrorKind::OwnershipLost,
            format!("partition {partition} is owned by another processor now; stop processing it (its checkpoint is not written)"),
        ),
        PartitionEndReason::Shutdown => Error::new(
            ErrorKind::Closed,
            format!("partition {partition}: the processor is closing"),
        ),
    }
}

/// One partition this processor owns, handed out by
/// [`Processor::next_partition_client`](super::Processor::next_partition_client).
///
/// [`recv`](Self::recv) and [`recv_batch`](Self::recv_batch) are cancel-safe, and return an
/// error as soon as the partition ends: lost to another processor
/// ([`ErrorKind::OwnershipLost`]) or the processor closing ([`ErrorKind::Closed`]);
/// [`end_reason`](Self::end_reason) says which. Drop or [`close`](Self::close) it then: the
/// processor releases a partition on shutdown only after its client is gone, so a final
/// checkpoint written before that is what the next owner starts after.
#[derive(Debug)]
pub struct ProcessorPartitionClient {
    receiver: PartitionReceiver,
    state: Arc<PartitionState>,
    store: Arc<dyn CheckpointStore>,
}

impl ProcessorPartitionClient {
    pub(crate) fn new(
        receiver: PartitionReceiver,
        state: Arc<PartitionState>,
        store: Arc<dyn CheckpointStore>,
    ) -> Self {
        Self {
            receiver,
            state,
            store,
        }
    }

    /// The partition.
    pub fn partition_id(&self) -> &str {
        &self.state.partition_id
    }

    /// Why it ended, once it has.
    pub fn end_reason(&self) -> Option<PartitionEndReason> {
        self.state.end_reason()
    }

    /// The next event. Cancel-safe.
    pub async fn recv(&mut self) -> Result<ReceivedEventData, Error> {
        if let Some(reason) = self.state.end_reason() {
            return Err(ended_error(&self.state.partition_id, reason));
        }
        // A link stolen behind the buffered events ends the partition now: those events
        // are the new owner's.
        if self.receiver.link_stolen() {
            self.state.end(PartitionEndReason::OwnershipLost);
            return Err(ended_error(
                &self.state.partition_id,
                PartitionEndReason::OwnershipLost,
            ));
        }
        // Most calls find an event already received: no need to watch for the end then.
        if let Some(event) = self.receiver.take_buffered() {
            return Ok(event);
        }
        self.until_ended(|r| Box::pin(r.recv())).await
    }

    /// Up to `max` events, waiting at most `max_wait` (see
    /// [`PartitionReceiver::recv_batch`]). Cancel-safe.
    pub async fn recv_batch(
        &mut self,
        max: usize,
        max_wait: Duration,
    ) -> Result<Vec<ReceivedEventData>, Error> {
        self.until_ended(|r| Box::pin(r.recv_batch(max, max_wait)))
            .await
    }

    /// Runs a receive until it finishes or the partition ends, whichever is first.
    async fn until_ended<'a, T>(
        &'a mut self,
        receive: impl FnOnce(
            &'a mut PartitionReceiver,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<T, Error>> + Send + 'a>,
        >,
    ) -> Result<T, Error> {
        let state = self.state.clone();
        let mut ended = state.ended.subscribe();
        if let Some(reason) = *ended.borrow_and_update() {
            return Err(ended_error(&state.partition_id, reason));
        }
        tokio::select! {
            biased;
            _ = ended.changed() => {
                let reason = state.end_reason().unwrap_or(PartitionEndReason::Shutdown);
                Err(ended_error(&state.partition_id, reason))
            }
            r = receive(&mut self.receiver) => {
                if let Err(e) = &r {
                    if e.kind() == ErrorKind::OwnershipLost {
                        state.end(PartitionEndReason::OwnershipLost);
                    }
                }
                r
            }
        }
    }

    /// Records that `event` (and everything before it) is processed. Refused with
    /// [`ErrorKind::OwnershipLost`] once this processor knows the partition is lost — its
    /// link was stolen, the last claim did not keep it, or its ownership was not renewed
    /// within the expiration — so a former owner cannot move the checkpoint of a partition
    /// another processor is working on. After the processor starts closing it is still
    /// written: that final checkpoint is where the next owner starts.
    pub async fn update_checkpoint(&self, event: &ReceivedEventData) -> Result<(), Error> {
        if event.partition_id() != self.partition_id() {
            return Err(Error::invalid(format!(
                "the event is from partition {}, not {}",
                event.partition_id(),
                self.partition_id()
            )));
        }
        self.checkpointer().write(Checkpoint::from(event)).await
    }

    /// What writes this partition's checkpoints (fenced as `update_checkpoint` is), apart
    /// from the client, so a task of its own can write while the client receives.
    pub(crate) fn checkpointer(&self) -> Checkpointer {
        Checkpointer {
            state: self.state.clone(),
            store: self.store.clone(),
            origin: self.receiver.origin().clone(),
        }
    }

    /// Closes the receiver; the processor may then release the partition.
    pub async fn close(mut self) {
        self.receiver.detach().await;
        // `Drop` marks it closed.
    }
}

/// Writes one partition's checkpoints, refusing once the partition is known to be lost.
#[derive(Clone)]
pub(crate) struct Checkpointer {
    state: Arc<PartitionState>,
    store: Arc<dyn CheckpointStore>,
    origin: Arc<Origin>,
}

impl Checkpointer {
    async fn write(&self, checkpoint: Checkpoint) -> Result<(), Error> {
        match self.state.fence() {
            Some(refused) => Err(refused),
            None => self.store.update_checkpoint(checkpoint).await,
        }
    }

    /// Writes the checkpoint of a handled event's position.
    pub(crate) async fn write_position(&self, position: Position) -> Result<(), Error> {
        self.write(Checkpoint::at(
            &self.origin,
            position.offset,
            position.sequence_number,
            position.enqueued_time,
        ))
        .await
    }
}

impl EventSource for ProcessorPartitionClient {
    fn next_event(
        &mut self,
    ) -> impl std::future::Future<Output = Result<ReceivedEventData, Error>> + Send + '_ {
        self.recv()
    }
}

impl Drop for ProcessorPartitionClient {
    fn drop(&mut self) {
        self.state.mark_closed();
    }
}
