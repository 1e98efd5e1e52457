//! Receiving through the [`Hub`] facade: Go v3's receive options, [`Hub::receiver`]
//! (starting at the persisted checkpoint by default, as v3 does), and [`Hub::receive`] with
//! a handler and a [`ListenerHandle`].

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::watch;

use crate::checkpoint::{Checkpoint, CheckpointKey};
use crate::error::Error;
use crate::event::ReceivedEvent;
use crate::hub::Hub;
use crate::position::StartPosition;
use crate::receiver::{PartitionReceiver, PartitionReceiverOptions};

/// Where, as whom and how a receiver reads a partition.
///
/// ```
/// use eventhubs::ReceiveOptions;
/// let options = ReceiveOptions::default()
///     .from_sequence_number(42, true)
///     .epoch(7)
///     .prefetch(500)
///     .track_last_enqueued(true);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct ReceiveOptions {
    start: Option<StartPosition>,
    consumer_group: Option<String>,
    epoch: Option<i64>,
    prefetch: u32,
    identifier: Option<String>,
    track_last_enqueued: bool,
}

impl Default for ReceiveOptions {
    /// Start at the persisted checkpoint, else the beginning; the hub's consumer group;
    /// no epoch; prefetch 300.
    fn default() -> Self {
        Self {
            start: None,
            consumer_group: None,
            epoch: None,
            prefetch: 300,
            identifier: None,
            track_last_enqueued: false,
        }
    }
}

impl ReceiveOptions {
    /// From the first retained event.
    pub fn from_beginning(mut self) -> Self {
        self.start = Some(StartPosition::earliest());
        self
    }

    /// Only events enqueued after the receiver opens.
    #[doc(alias = "ReceiveWithLatestOffset")]
    pub fn from_latest(mut self) -> Self {
        self.start = Some(StartPosition::latest());
        self
    }

    /// From an offset (as [`ReceivedEvent::offset`] gives it; offsets are opaque text).
    #[doc(alias = "ReceiveWithStartingOffset")]
    pub fn from_offset(mut self, offset: &str, inclusive: bool) -> Self {
        self.start = Some(StartPosition::offset(offset).inclusive(inclusive));
        self
    }

    /// From a sequence number.
    pub fn from_sequence_number(mut self, sequence_number: i64, inclusive: bool) -> Self {
        self.start = Some(StartPosition::sequence_number(sequence_number).inclusive(inclusive));
        self
    }

    /// From the first event enqueued at (inclusive) or after `time`.
    #[doc(alias = "ReceiveFromTimestamp")]
    pub fn from_enqueued_time(mut self, time: SystemTime, inclusive: bool) -> Self {
        self.start = Some(StartPosition::enqueued_time(time).inclusive(inclusive));
        self
    }

    /// Reads as this consumer group instead of the hub's.
    #[doc(alias = "ReceiveWithConsumerGroup")]
    pub fn consumer_group(mut self, group: impl Into<String>) -> Self {
        self.consumer_group = Some(group.into());
        self
    }

    /// Owner level: a receiver with a higher epoch takes the partition from lower ones
    /// (they fail with [`ErrorKind::OwnershipLost`](crate::ErrorKind::OwnershipLost)).
    #[doc(alias = "ReceiveWithEpoch")]
    pub fn epoch(mut self, epoch: i64) -> Self {
        self.epoch = Some(epoch);
        self
    }

    /// Credit kept outstanding (events fetched ahead), default 300; 0 fetches only what
    /// each receive asks for.
    #[doc(alias = "ReceiveWithPrefetchCount")]
    pub fn prefetch(mut self, prefetch: u32) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// A name for the receiver, reported by the service in ownership errors.
    pub fn identifier(mut self, identifier: impl Into<String>) -> Self {
        self.identifier = Some(identifier.into());
        self
    }

    /// Ask for the partition's last enqueued event with every event
    /// ([`ReceivedEvent::last_enqueued`](crate::ReceivedEventData::last_enqueued)).
    pub fn track_last_enqueued(mut self, on: bool) -> Self {
        self.track_last_enqueued = on;
        self
    }
}

impl Hub {
    /// A receiver on `partition_id`, attached before this returns (so a wrong partition,
    /// consumer group or key fails here). Without a start position it starts after the
    /// persisted checkpoint, else at the beginning.
    pub async fn receiver(
        &self,
        partition_id: &str,
        options: ReceiveOptions,
    ) -> Result<PartitionReceiver, Error> {
        let consumer_group = options
            .consumer_group
            .clone()
            .unwrap_or_else(|| self.inner.options.consumer_group.clone());
        let start = match options.start.clone() {
            Some(p) => p,
            None => {
                let key = self.checkpoint_key(&consumer_group, partition_id);
                match self.inner.options.persister.read(&key).await? {
                    Some(c) => StartPosition::sequence_number(c.sequence_number),
                    None => StartPosition::earliest(),
                }
            }
        };
        let mut receiver_options = PartitionReceiverOptions::default()
            .start_position(start)
            .prefetch(options.prefetch)
            .track_last_enqueued_event_properties(options.track_last_enqueued);
        receiver_options.owner_level = options.epoch;
        receiver_options.identifier = options.identifier.clone();
        PartitionReceiver::open(
            self.inner.core.clone(),
            partition_id,
            &consumer_group,
            receiver_options,
        )
        .await
    }

    fn checkpoint_key(&self, consumer_group: &str, partition_id: &str) -> CheckpointKey {
        CheckpointKey {
            namespace: self.namespace().to_owned(),
            hub: self.name().to_owned(),
            consumer_group: consumer_group.to_owned(),
            partition_id: partition_id.to_owned(),
        }
    }

    /// Starts receiving `partition_id` in the background, calling `handler` for each event
    /// in order. Returns once the receiver is attached (errors before that are returned);
    /// after each event the handler accepts (`Ok`), its checkpoint is written to the hub's
    /// persister. Stop it with [`ListenerHandle::close`].
    pub async fn receive<H, Fut>(
        &self,
        partition_id: &str,
        mut handler: H,
        options: ReceiveOptions,
    ) -> Result<ListenerHandle, Error>
    where
        H: FnMut(ReceivedEvent) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), Error>> + Send,
    {
        let mut receiver = self.receiver(partition_id, options).await?;
        let (close_tx, mut close_rx) = watch::channel(false);
        let (done_tx, done_rx) = watch::channel(false);
        let error = Arc::new(Mutex::new(None));
        let last_error = error.clone();
        let persister = self.inner.options.persister.clone();
        let key = self.checkpoint_key(receiver.consumer_group(), receiver.partition_id());
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    _ = close_rx.changed() => break,
                    e = receiver.recv() => e,
                };
                let event = match event {
                    Ok(e) => e,
                    Err(e) => {
                        tracing::warn!(partition = %key.partition_id, error = %e, "receiver stopped");
                        *last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(e));
                        break;
                    }
                };
                let checkpoint = Checkpoint {
                    offset: event.offset().to_owned(),
                    sequence_number: event.sequence_number(),
                    enqueued_time: event.enqueued_time(),
                };
                match handler(event).await {
                    Ok(()) => {
                        if let Err(e) = persister.write(&key, &checkpoint).await {
                            tracing::warn!(error = %e, "checkpoint not written");
                            *last_error.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some(Arc::new(e));
                        }
                    }
                    Err(e) => {
                        tracing::info!(error = %e, "handler failed; no checkpoint for this event");
                        *last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(e));
                    }
                }
            }
            receiver.close().await;
            let _ = done_tx.send(true);
        });
        Ok(ListenerHandle {
            close: close_tx,
            done: done_rx,
            error,
        })
    }
}

/// A running [`Hub::receive`]: close it, wait for it to stop, read its last error.
#[derive(Debug)]
pub struct ListenerHandle {
    close: watch::Sender<bool>,
    done: watch::Receiver<bool>,
    error: Arc<Mutex<Option<Arc<Error>>>>,
}

impl ListenerHandle {
    /// Stops the receiver and waits until it has.
    pub async fn close(&self) {
        let _ = self.close.send(true);
        self.done().await;
    }

    /// Resolves when the receiver has stopped (closed, or failed beyond retrying).
    pub async fn done(&self) {
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }

    /// The last error: the one that stopped it, or the last handler or checkpoint error.
    pub fn err(&self) -> Option<Arc<Error>> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
