//! Receiving through the [`Hub`] facade: Go v3's receive options, [`Hub::receiver`]
//! (starting at the persisted checkpoint by default, as v3 does), and [`Hub::receive`] with
//! a handler and a [`ListenerHandle`].

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use crate::error::Error;
use crate::event::ReceivedEvent;
use crate::handler_loop::{self, EventSource, Stopped};
use crate::hub::Hub;
use crate::persist::{Checkpoint, CheckpointKey, CheckpointPersister};
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
#[must_use = "setters return the changed value: use it"]
pub struct ReceiveOptions {
    start: Option<StartPosition>,
    consumer_group: Option<String>,
    epoch: Option<i64>,
    prefetch: u32,
    identifier: Option<String>,
    track_last_enqueued: bool,
    checkpoint_every: (u32, Duration),
    on_handler_error: HandlerErrorPolicy,
}

/// What [`Hub::receive`] does when its handler returns an error for an event. Either way
/// no checkpoint goes past that event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandlerErrorPolicy {
    /// Stop the listener; its last checkpoint is the event before ([`ListenerHandle::err`]
    /// says why it stopped). The default.
    Stop,
    /// Call the handler again with the same event, up to `attempts` times in all, `delay`
    /// apart; then stop.
    Retry {
        /// Calls in all, the first included.
        attempts: u32,
        /// Pause between calls.
        delay: Duration,
    },
}

impl Default for ReceiveOptions {
    /// Start at the persisted checkpoint, else the beginning; the hub's consumer group;
    /// no epoch; prefetch 300; [`Hub::receive`] checkpoints every 1,000 handled events or
    /// 5 s, and stops at the first handler error.
    fn default() -> Self {
        Self {
            start: None,
            consumer_group: None,
            epoch: None,
            prefetch: 300,
            identifier: None,
            track_last_enqueued: false,
            checkpoint_every: (1000, Duration::from_secs(5)),
            on_handler_error: HandlerErrorPolicy::Stop,
        }
    }
}

impl ReceiveOptions {
    /// From the first retained event.
    #[doc(alias = "ReceiveWithStartingOffset")]
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
    #[doc(alias = "ReceiveWithReceiverName")]
    pub fn identifier(mut self, identifier: impl Into<String>) -> Self {
        self.identifier = Some(identifier.into());
        self
    }

    /// How often [`Hub::receive`] writes a checkpoint: after `events` handled events or
    /// `interval` since the last write, whichever comes first (and always when it stops).
    /// `(1, _)` writes after every event.
    pub fn checkpoint_every(mut self, events: u32, interval: Duration) -> Self {
        self.checkpoint_every = (events.max(1), interval);
        self
    }

    /// What [`Hub::receive`] does when its handler fails.
    pub fn on_handler_error(mut self, policy: HandlerErrorPolicy) -> Self {
        self.on_handler_error = policy;
        self
    }

    /// Ask for the partition's last enqueued event with every event
    /// ([`ReceivedEvent::last_enqueued`](crate::ReceivedEventData::last_enqueued)).
    #[doc(alias = "ReceiveWithRuntimeMetricEnabled")]
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
                    Some(c) => {
                        self.inner
                            .core
                            .warn_if_checkpoint_past_end(
                                &consumer_group,
                                partition_id,
                                c.sequence_number,
                            )
                            .await;
                        StartPosition::sequence_number(c.sequence_number)
                    }
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
    /// in order (Go's `Hub.Receive`). Returns once the receiver is attached (errors before
    /// that are returned). Checkpoints of handled events are written to the hub's
    /// persister every so often ([`ReceiveOptions::checkpoint_every`]) and when the
    /// listener stops; never past an event whose handler failed. Stop it with
    /// [`ListenerHandle::close`]; dropping the handle leaves it running.
    #[doc(alias = "Receive")]
    pub async fn receive<H, Fut>(
        &self,
        partition_id: &str,
        handler: H,
        options: ReceiveOptions,
    ) -> Result<ListenerHandle, Error>
    where
        H: FnMut(ReceivedEvent) -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        let (every, interval) = options.checkpoint_every;
        let policy = options.on_handler_error;
        let receiver = self.receiver(partition_id, options).await?;
        let (close_tx, close_rx) = watch::channel(false);
        let (done_tx, done_rx) = watch::channel(false);
        let error = Arc::new(Mutex::new(None));
        let listener = Listener {
            key: self.checkpoint_key(receiver.consumer_group(), receiver.partition_id()),
            persister: self.inner.options.persister.clone(),
            error: error.clone(),
            receiver,
            handler,
            settings: handler_loop::Settings {
                every,
                interval,
                on_handler_error: policy,
            },
        };
        // The listener runs in a task of its own so that a panic in the handler ends it
        // with an error rather than silently.
        let record = error.clone();
        let inner = tokio::spawn(listener.run(close_rx));
        tokio::spawn(async move {
            if let Err(e) = inner.await {
                let why = if e.is_panic() {
                    "the handler panicked"
                } else {
                    "the listener was cancelled"
                };
                tracing::error!(error = %e, "{why}");
                set_error(
                    &record,
                    Error::new(crate::ErrorKind::Service, format!("{why}: {e}")),
                );
            }
            let _ = done_tx.send(true);
        });
        Ok(ListenerHandle {
            close: close_tx,
            done: done_rx,
            error,
        })
    }
}

/// The background half of [`Hub::receive`].
struct Listener<H> {
    key: CheckpointKey,
    persister: Arc<dyn CheckpointPersister>,
    error: Arc<Mutex<Option<Arc<Error>>>>,
    receiver: PartitionReceiver,
    handler: H,
    settings: handler_loop::Settings,
}

impl EventSource for PartitionReceiver {
    fn next_event(&mut self) -> impl Future<Output = Result<ReceivedEvent, Error>> + Send + '_ {
        self.recv()
    }
}

impl<H, Fut> Listener<H>
where
    H: FnMut(ReceivedEvent) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    async fn run(mut self, mut close: watch::Receiver<bool>) {
        let stop = async move {
            loop {
                match close.changed().await {
                    Ok(()) if *close.borrow() => return,
                    Ok(()) => {}
                    // The handle was dropped: keep running until the receiver stops.
                    Err(_) => std::future::pending::<()>().await,
                }
            }
        };
        let (key, persister, record) =
            (self.key.clone(), self.persister.clone(), self.error.clone());
        let write: handler_loop::WriteCheckpoint = Arc::new(move |p| {
            let (key, persister, record) = (key.clone(), persister.clone(), record.clone());
            Box::pin(async move {
                let checkpoint = Checkpoint {
                    offset: p.offset,
                    sequence_number: p.sequence_number,
                    enqueued_time: p.enqueued_time,
                };
                let written = persister.write(&key, &checkpoint).await;
                if let Err(e) = &written {
                    set_error(&record, e.clone());
                }
                written
            })
        });
        let stopped = handler_loop::run(
            &mut self.receiver,
            &mut self.handler,
            self.settings,
            write,
            stop,
        )
        .await;
        let partition = &self.key.partition_id;
        match stopped {
            Stopped::Asked => {}
            Stopped::Source(e) => {
                tracing::warn!(%partition, error = %e, "receiver stopped");
                set_error(&self.error, e);
            }
            Stopped::Handler(e) => {
                tracing::info!(%partition, error = %e, "handler failed; stopping before this event");
                set_error(&self.error, e);
            }
        }
        self.receiver.close().await;
    }
}

fn set_error(slot: &Mutex<Option<Arc<Error>>>, e: Error) {
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(e));
}

/// A running [`Hub::receive`]: close it, wait for it to stop, read its last error.
/// Dropping it leaves the listener running.
#[derive(Debug)]
#[must_use = "without the handle the listener cannot be closed or checked"]
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
    #[doc(alias = "Done")]
    pub async fn done(&self) {
        let mut done = self.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }

    /// The last error: the one that stopped it, or the last handler or checkpoint error.
    #[doc(alias = "Err")]
    pub fn err(&self) -> Option<Arc<Error>> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Calls `handler` with `event` as `policy` says: once, or again after each failure up to
/// the policy's attempts (the event is cloned only when a retry may need it).
pub(crate) async fn call_with_policy<H, Fut>(
    policy: HandlerErrorPolicy,
    handler: &mut H,
    event: ReceivedEvent,
) -> Result<(), Error>
where
    H: FnMut(ReceivedEvent) -> Fut,
    Fut: Future<Output = Result<(), Error>>,
{
    let (attempts, delay) = match policy {
        HandlerErrorPolicy::Stop => (1, Duration::ZERO),
        HandlerErrorPolicy::Retry { attempts, delay } => (attempts.max(1), delay),
    };
    if attempts == 1 {
        return handler(event).await;
    }
    let mut attempt = 1;
    loop {
        match handler(event.clone()).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < attempts => {
                tracing::info!(attempt, error = %e, "handler failed; calling it again");
                tokio::time::sleep(delay).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}
