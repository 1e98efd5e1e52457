//! Receiving: [`PartitionReceiver`] (pull, or a `Stream` that can be moved into
//! `tokio::spawn`), and [`Hub::receive`] with a handler and a [`ListenerHandle`] like the
//! Go library's. Receivers resume after the last delivered event when a link or the
//! connection is replaced, so nothing is skipped.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::types::{Described, Symbol, Value};
use eventhubs_amqp_io::Receiver;
use eventhubs_protocol::constants as k;
use eventhubs_protocol::selector::{StartPosition, SELECTOR_FILTER};
use tokio::sync::watch;

use crate::checkpoint::{Checkpoint, CheckpointKey};
use crate::error::{Error, ErrorKind};
use crate::event::ReceivedEvent;
use crate::hub::Hub;
use crate::rpc::unique;

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
        self.start = Some(StartPosition::Earliest);
        self
    }

    /// Only events enqueued after the receiver opens.
    pub fn from_latest(mut self) -> Self {
        self.start = Some(StartPosition::Latest);
        self
    }

    /// From an offset (as [`ReceivedEvent::offset`] gives it). An offset that is not a
    /// number is refused when the receiver opens.
    pub fn from_offset(mut self, offset: &str, inclusive: bool) -> Self {
        self.start = Some(match offset.trim().parse::<i64>() {
            Ok(offset) => StartPosition::Offset { offset, inclusive },
            // Kept as an impossible offset; `open` reports it.
            Err(_) => StartPosition::Offset {
                offset: i64::MIN,
                inclusive,
            },
        });
        self
    }

    /// From a sequence number.
    pub fn from_sequence_number(mut self, sequence_number: i64, inclusive: bool) -> Self {
        self.start = Some(StartPosition::SequenceNumber {
            sequence_number,
            inclusive,
        });
        self
    }

    /// From the first event enqueued at (inclusive) or after `time`.
    pub fn from_enqueued_time(mut self, time: SystemTime, inclusive: bool) -> Self {
        let millis = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.start = Some(StartPosition::EnqueuedTime { millis, inclusive });
        self
    }

    /// Reads as this consumer group instead of the hub's.
    pub fn consumer_group(mut self, group: impl Into<String>) -> Self {
        self.consumer_group = Some(group.into());
        self
    }

    /// Owner level: a receiver with a higher epoch takes the partition from lower ones
    /// (they fail with [`ErrorKind::OwnershipLost`]).
    pub fn epoch(mut self, epoch: i64) -> Self {
        self.epoch = Some(epoch);
        self
    }

    /// Credit kept outstanding (events fetched ahead), default 300.
    pub fn prefetch(mut self, prefetch: u32) -> Self {
        self.prefetch = prefetch.max(1);
        self
    }

    /// A name for the receiver, reported by the service in ownership errors.
    pub fn identifier(mut self, identifier: impl Into<String>) -> Self {
        self.identifier = Some(identifier.into());
        self
    }

    /// Ask for the partition's last enqueued event with every event
    /// ([`ReceivedEvent::last_enqueued`]).
    pub fn track_last_enqueued(mut self, on: bool) -> Self {
        self.track_last_enqueued = on;
        self
    }
}

/// Reads one partition. `Send + 'static`: move it into a task, or turn it into a
/// [`Stream`](futures_core::Stream) with [`PartitionReceiver::into_stream`].
#[derive(Debug)]
pub struct PartitionReceiver {
    hub: Hub,
    partition_id: String,
    consumer_group: String,
    options: ReceiveOptions,
    link: Option<(u64, Receiver)>,
    /// Sequence number of the last event handed out: where to resume.
    last_sequence: Option<i64>,
}

impl Hub {
    /// A receiver on `partition_id`, attached before this returns (so a wrong partition,
    /// consumer group or key fails here).
    pub async fn receiver(
        &self,
        partition_id: &str,
        options: ReceiveOptions,
    ) -> Result<PartitionReceiver, Error> {
        if partition_id.is_empty() {
            return Err(Error::invalid("the partition id is empty"));
        }
        if let Some(StartPosition::Offset {
            offset: i64::MIN, ..
        }) = options.start
        {
            return Err(Error::invalid("the start offset is not a number"));
        }
        let consumer_group = options
            .consumer_group
            .clone()
            .unwrap_or_else(|| self.inner.options.consumer_group.clone());
        let mut receiver = PartitionReceiver {
            hub: self.clone(),
            partition_id: partition_id.to_owned(),
            consumer_group,
            options,
            link: None,
            last_sequence: None,
        };
        receiver.attach_with_retry().await?;
        Ok(receiver)
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
        let key = receiver.checkpoint_key();
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

impl PartitionReceiver {
    /// The partition it reads.
    pub fn partition_id(&self) -> &str {
        &self.partition_id
    }

    /// The consumer group it reads as.
    pub fn consumer_group(&self) -> &str {
        &self.consumer_group
    }

    fn checkpoint_key(&self) -> CheckpointKey {
        CheckpointKey {
            namespace: self.hub.namespace().to_owned(),
            hub: self.hub.name().to_owned(),
            consumer_group: self.consumer_group.clone(),
            partition_id: self.partition_id.clone(),
        }
    }

    /// The next event. Lost links and connections are reopened (per the hub's retry
    /// options) and reading resumes right after the last event returned. Errors that
    /// retrying cannot fix — ownership lost to a higher epoch, unauthorized, not found —
    /// are returned at once.
    pub async fn recv(&mut self) -> Result<ReceivedEvent, Error> {
        let retry = self.hub.inner.options.retry.clone();
        let mut attempt = 0;
        loop {
            if self.link.is_none() {
                self.attach_with_retry().await?;
            }
            let Some((generation, rx)) = self.link.as_mut() else {
                continue;
            };
            let generation = *generation;
            match rx.recv().await {
                Ok(d) => {
                    let event = ReceivedEvent::decode(d.payload, &self.partition_id)?;
                    self.last_sequence = Some(event.sequence_number());
                    return Ok(event);
                }
                Err(e) => {
                    let e = Error::from(e);
                    self.link = None;
                    if e.kind() == ErrorKind::ConnectionLost {
                        self.hub.inner.conn.invalidate(generation).await;
                    }
                    if !e.is_transient() || attempt >= retry.max_retries {
                        return Err(e);
                    }
                    let delay = retry.delay_for(attempt);
                    tracing::info!(partition = %self.partition_id, attempt, ?delay, error = %e, "receiver lost its link; reopening");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }

    /// Detaches the link.
    pub async fn close(mut self) {
        if let Some((_, rx)) = self.link.take() {
            let _ = rx.close(None).await;
        }
    }

    /// A `Stream` of events (`Send + 'static`) that ends after the first error retrying
    /// cannot fix (which it yields).
    pub fn into_stream(self) -> EventStream {
        EventStream {
            state: StreamState::Idle(Box::new(self)),
        }
    }

    async fn attach_with_retry(&mut self) -> Result<(), Error> {
        let hub = self.hub.clone();
        let this = &mut *self;
        let position = this.start_position().await?;
        let link = hub
            .with_retry("attach receiver", |live| {
                let config = this.link_config(&position);
                let address = this.address();
                let audience = hub.inner.conn.settings.endpoint.audience(
                    address
                        .strip_prefix(hub.name())
                        .unwrap_or("")
                        .trim_start_matches('/'),
                );
                let prefetch = this.options.prefetch;
                let hub = &hub;
                async move {
                    hub.inner.conn.authorize(&live, &audience).await?;
                    let rx = live.session.attach_receiver(config, prefetch).await?;
                    Ok((live.generation, rx))
                }
            })
            .await?;
        this.link = Some(link);
        Ok(())
    }

    fn address(&self) -> String {
        format!(
            "{}/ConsumerGroups/{}/Partitions/{}",
            self.hub.name(),
            self.consumer_group,
            self.partition_id
        )
    }

    /// Resume point, else the option, else the persisted checkpoint, else the beginning.
    async fn start_position(&self) -> Result<StartPosition, Error> {
        if let Some(seq) = self.last_sequence {
            return Ok(StartPosition::SequenceNumber {
                sequence_number: seq,
                inclusive: false,
            });
        }
        if let Some(p) = &self.options.start {
            return Ok(p.clone());
        }
        let persisted = self
            .hub
            .inner
            .options
            .persister
            .read(&self.checkpoint_key())
            .await?;
        Ok(
            persisted.map_or(StartPosition::Earliest, |c| StartPosition::SequenceNumber {
                sequence_number: c.sequence_number,
                inclusive: false,
            }),
        )
    }

    fn link_config(&self, position: &StartPosition) -> LinkConfig {
        let mut config = LinkConfig::receiver(
            format!("receiver-{}-{}", self.partition_id, unique()),
            self.address(),
        );
        if let Some(source) = config.source.as_mut() {
            source.filter = Some(vec![(
                Symbol::from(SELECTOR_FILTER),
                Value::Described(Box::new(Described {
                    descriptor: Value::Symbol(SELECTOR_FILTER.into()),
                    value: Value::String(position.to_expression()),
                })),
            )]);
        }
        let mut properties = Vec::new();
        if let Some(epoch) = self.options.epoch {
            properties.push((Symbol::from(k::EPOCH), Value::Long(epoch)));
        }
        if let Some(id) = &self.options.identifier {
            properties.push((Symbol::from(k::RECEIVER_NAME), Value::from(id.as_str())));
        }
        if !properties.is_empty() {
            config.properties = Some(properties);
        }
        if self.options.track_last_enqueued {
            config.desired_capabilities = Some(vec![Symbol::from(k::RUNTIME_METRIC)]);
        }
        config
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

type RecvFuture =
    Pin<Box<dyn Future<Output = (Box<PartitionReceiver>, Result<ReceivedEvent, Error>)> + Send>>;

enum StreamState {
    Idle(Box<PartitionReceiver>),
    Receiving(RecvFuture),
    Done,
}

/// [`PartitionReceiver::into_stream`]'s stream.
pub struct EventStream {
    state: StreamState,
}

impl std::fmt::Debug for EventStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventStream").finish_non_exhaustive()
    }
}

impl futures_core::Stream for EventStream {
    type Item = Result<ReceivedEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match std::mem::replace(&mut self.state, StreamState::Done) {
                StreamState::Done => return Poll::Ready(None),
                StreamState::Idle(mut receiver) => {
                    self.state = StreamState::Receiving(Box::pin(async move {
                        let r = receiver.recv().await;
                        (receiver, r)
                    }));
                }
                StreamState::Receiving(mut fut) => match fut.as_mut().poll(cx) {
                    Poll::Pending => {
                        self.state = StreamState::Receiving(fut);
                        return Poll::Pending;
                    }
                    Poll::Ready((receiver, Ok(event))) => {
                        self.state = StreamState::Idle(receiver);
                        return Poll::Ready(Some(Ok(event)));
                    }
                    Poll::Ready((_, Err(e))) => return Poll::Ready(Some(Err(e))),
                },
            }
        }
    }
}
