//! [`PartitionReceiver`]: reads one partition — event by event, in batches, or as a
//! `Stream` — and resumes right after the last event it took when its link or connection
//! is replaced, so nothing is skipped or repeated.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::types::{Described, Symbol, Value};
use eventhubs_amqp_io::Receiver;
use eventhubs_protocol::address::EntityAddress;
use eventhubs_protocol::constants as k;
use eventhubs_protocol::selector::{StartPosition as Selector, SELECTOR_FILTER};
use tracing::Instrument;

use crate::client::ClientCore;
use crate::error::{Error, ErrorKind};
use crate::event::{LastEnqueued, Origin, ReceivedEventData};
use crate::position::StartPosition;
use crate::rpc::unique;

/// How a partition receiver reads. `Default`: from the latest event, no owner level,
/// prefetch 300, no runtime metrics.
///
/// ```
/// use eventhubs::{PartitionReceiverOptions, StartPosition};
/// let options = PartitionReceiverOptions::default()
///     .start_position(StartPosition::earliest())
///     .owner_level(7)
///     .prefetch(500)
///     .track_last_enqueued_event_properties(true);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use = "setters return the changed value: use it"]
pub struct PartitionReceiverOptions {
    /// Where to start.
    pub start_position: StartPosition,
    /// Owner level (epoch): a receiver with a higher one takes the partition; this one
    /// then fails with [`ErrorKind::OwnershipLost`].
    pub owner_level: Option<i64>,
    /// Events fetched ahead (credit kept outstanding). 0 fetches only what each call asks
    /// for.
    pub prefetch: u32,
    /// Ask for the partition's last enqueued event with every event.
    pub track_last_enqueued_event_properties: bool,
    /// A name for the receiver, reported by the service in ownership errors.
    pub identifier: Option<String>,
}

impl Default for PartitionReceiverOptions {
    fn default() -> Self {
        Self {
            start_position: StartPosition::latest(),
            owner_level: None,
            prefetch: 300,
            track_last_enqueued_event_properties: false,
            identifier: None,
        }
    }
}

impl PartitionReceiverOptions {
    /// Sets where to start.
    pub fn start_position(mut self, position: StartPosition) -> Self {
        self.start_position = position;
        self
    }

    /// Sets the owner level (epoch).
    #[doc(alias = "ReceiveWithEpoch")]
    pub fn owner_level(mut self, level: i64) -> Self {
        self.owner_level = Some(level);
        self
    }

    /// Sets the prefetch (0 disables it).
    #[doc(alias = "ReceiveWithPrefetchCount")]
    pub fn prefetch(mut self, prefetch: u32) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// Asks for the partition's last enqueued event with every event.
    pub fn track_last_enqueued_event_properties(mut self, on: bool) -> Self {
        self.track_last_enqueued_event_properties = on;
        self
    }

    /// Names the receiver.
    pub fn identifier(mut self, identifier: impl Into<String>) -> Self {
        self.identifier = Some(identifier.into());
        self
    }
}

/// At most this many deliveries are taken off a link per wake-up.
const DRAIN_AT_ONCE: usize = 256;

/// Reads one partition. `Send + 'static`: move it into a task, or turn it into a
/// [`Stream`](futures_core::Stream) with [`PartitionReceiver::into_stream`].
///
/// [`recv`](PartitionReceiver::recv) and [`recv_batch`](PartitionReceiver::recv_batch)
/// are cancel-safe: raced in `select!` or under `timeout`, a call that is dropped loses no
/// event; the next call returns it.
#[derive(Debug)]
pub struct PartitionReceiver {
    core: Arc<ClientCore>,
    options: PartitionReceiverOptions,
    link: Option<Link>,
    /// Sequence number of the last event taken off a link: where a new link resumes.
    last_sequence: Option<i64>,
    /// Events taken off the link and not yet returned.
    buffer: VecDeque<ReceivedEventData>,
    /// A link error that came after events still in `buffer`: reported once they are.
    pending: Option<eventhubs_amqp_io::Error>,
    last_enqueued: Option<LastEnqueued>,
    /// Namespace, hub, consumer group and partition: stamped on every event (for
    /// checkpoints), and the receiver's own names.
    origin: Arc<Origin>,
}

#[derive(Debug)]
struct Link {
    generation: u64,
    receiver: Receiver,
    /// With prefetch 0: credit granted and not yet used.
    outstanding: u32,
}

impl PartitionReceiver {
    /// Attaches a receiver (with retries) before returning, so a wrong partition, consumer
    /// group, key or owner level fails here.
    pub(crate) async fn open(
        core: Arc<ClientCore>,
        partition_id: &str,
        consumer_group: &str,
        options: PartitionReceiverOptions,
    ) -> Result<Self, Error> {
        if partition_id.is_empty() {
            return Err(Error::invalid("the partition id is empty"));
        }
        options.start_position.validate()?;
        let origin = Arc::new(Origin {
            namespace: core.namespace().to_owned(),
            eventhub: core.hub().to_owned(),
            consumer_group: consumer_group.to_owned(),
            partition_id: partition_id.to_owned(),
        });
        let mut receiver = Self {
            origin,
            core,
            options,
            link: None,
            last_sequence: None,
            buffer: VecDeque::new(),
            pending: None,
            last_enqueued: None,
        };
        receiver.attach().await?;
        Ok(receiver)
    }

    /// Where its events come from.
    pub(crate) fn origin(&self) -> &Arc<Origin> {
        &self.origin
    }

    /// True when the link was taken by another receiver (`amqp:link:stolen`) after the
    /// events still buffered: they are the new owner's to handle now.
    pub(crate) fn link_stolen(&self) -> bool {
        self.pending
            .as_ref()
            .and_then(|e| e.condition())
            .is_some_and(|c| Error::kind_of_condition(c) == ErrorKind::OwnershipLost)
    }

    /// An event already received, if one is waiting; never waits.
    pub(crate) fn take_buffered(&mut self) -> Option<ReceivedEventData> {
        self.buffer.pop_front()
    }

    /// The partition it reads.
    pub fn partition_id(&self) -> &str {
        &self.origin.partition_id
    }

    /// The consumer group it reads as.
    pub fn consumer_group(&self) -> &str {
        &self.origin.consumer_group
    }

    /// The partition's last enqueued event as of the latest event received, when
    /// [`PartitionReceiverOptions::track_last_enqueued_event_properties`] is on.
    pub fn last_enqueued_event_properties(&self) -> Option<&LastEnqueued> {
        self.last_enqueued.as_ref()
    }

    /// The next event. A lost link or connection is reopened (per the retry options) and
    /// reading resumes right after the last event taken. Errors retrying cannot fix —
    /// ownership lost to a higher owner level, unauthorized, not found — come at once.
    /// Cancel-safe.
    pub async fn recv(&mut self) -> Result<ReceivedEventData, Error> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Ok(event);
            }
            self.fill(1, None).await?;
        }
    }

    /// Up to `max` events: returns once `max` are here or `max_wait` has passed (with what
    /// came, possibly none). Errors as [`PartitionReceiver::recv`]; events received before
    /// an error are returned first, the error on the next call. Cancel-safe.
    #[doc(alias = "ReceiveEvents")]
    pub async fn recv_batch(
        &mut self,
        max: usize,
        max_wait: Duration,
    ) -> Result<Vec<ReceivedEventData>, Error> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let deadline = tokio::time::Instant::now() + max_wait;
        if self.buffer.len() < max {
            if let Err(e) = self.fill(max, Some(deadline)).await {
                if self.buffer.is_empty() {
                    return Err(e);
                }
                tracing::debug!(error = %e, "returning received events; the error comes next");
            }
        }
        let n = self.buffer.len().min(max);
        Ok(self.buffer.drain(..n).collect())
    }

    /// Moves events into the buffer until it holds `want` or `deadline` passes (no
    /// deadline: until at least one). Every wait in here is cancel-safe and state is only
    /// changed between waits, so a dropped call loses nothing.
    async fn fill(
        &mut self,
        want: usize,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<(), Error> {
        let mut attempt = 0;
        while self.buffer.len() < want {
            if self.link.is_none() {
                self.attach().await?;
            }
            let prefetch = self.options.prefetch;
            let Some(link) = self.link.as_mut() else {
                continue;
            };
            if prefetch == 0 {
                let asked = (want - self.buffer.len()) as u32;
                if link.outstanding < asked {
                    let more = asked - link.outstanding;
                    // Fails only with the connection, which the receive below reports.
                    let _ = link.receiver.add_credit(more).await;
                    link.outstanding = asked;
                }
            }
            let next = match self.pending.take() {
                Some(e) => Some(Err(e)),
                None => match deadline {
                    None => Some(link.receiver.recv().await),
                    Some(d) => tokio::time::timeout_at(d, link.receiver.recv()).await.ok(),
                },
            };
            let Some(next) = next else { return Ok(()) };
            match next {
                Ok(delivery) => {
                    let mut delivery = Some(delivery);
                    let mut taken = 0;
                    while let Some(d) = delivery.take() {
                        link.outstanding = link.outstanding.saturating_sub(1);
                        let event = ReceivedEventData::decode(d.payload, &self.origin)?;
                        self.last_sequence = Some(event.sequence_number());
                        if let Some(le) = event.last_enqueued() {
                            self.last_enqueued = Some(le.clone());
                        }
                        self.buffer.push_back(event);
                        taken += 1;
                        // Also take what has already arrived, without waiting: one wake-up
                        // serves a burst. An error found here is kept for after the
                        // events before it.
                        if taken < DRAIN_AT_ONCE {
                            match link.receiver.try_recv().await {
                                Ok(next) => delivery = next,
                                Err(e) => self.pending = Some(e),
                            }
                        }
                    }
                    if deadline.is_none() {
                        return Ok(());
                    }
                }
                Err(e) => {
                    let e = Error::from(e);
                    let generation = link.generation;
                    self.link = None;
                    if e.kind() == ErrorKind::ConnectionLost {
                        self.core.conn.invalidate(generation);
                    }
                    let retry = &self.core.retry;
                    if !e.is_transient() || attempt >= retry.max_retries {
                        return Err(self.name_partition(e));
                    }
                    let delay = retry.delay_for(attempt);
                    tracing::info!(partition = %self.origin.partition_id, attempt, ?delay, error = %e, "receiver lost its link; reopening");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
        Ok(())
    }

    /// Detaches the link (bounded by the operation timeout).
    pub async fn close(mut self) {
        self.detach().await;
    }

    /// Detaches the link, if any (bounded by the operation timeout); a later receive
    /// attaches a new one.
    pub(crate) async fn detach(&mut self) {
        if let Some(link) = self.link.take() {
            let timeout = self.core.conn.settings.operation_timeout;
            let _ = tokio::time::timeout(timeout, link.receiver.close(None)).await;
        }
    }

    /// A `Stream` of events (`Send + 'static`) that ends after the first error retrying
    /// cannot fix (which it yields).
    pub fn into_stream(self) -> EventStream {
        EventStream {
            state: StreamState::Idle(Box::new(self)),
        }
    }

    /// Attaches a link, with retries, at the resume point or the start position.
    async fn attach(&mut self) -> Result<(), Error> {
        let selector = match self.last_sequence {
            Some(seq) => Selector::SequenceNumber {
                sequence_number: seq,
                inclusive: false,
            },
            None => self.options.start_position.selector(),
        };
        let core = self.core.clone();
        let address = self.address();
        let audience = core.conn.settings.endpoint.audience(
            address
                .strip_prefix(core.hub())
                .unwrap_or("")
                .trim_start_matches('/'),
        );
        let timeout = core.conn.settings.operation_timeout;
        let prefetch = self.options.prefetch;
        let this = &*self;
        let link = core
            .with_retry("attach receiver", |live| {
                let config = this.link_config(&selector);
                let span = tracing::debug_span!(
                    "eventhubs.attach_receiver",
                    hub = %core.hub(),
                    consumer_group = %this.consumer_group(),
                    partition = %this.partition_id(),
                    link = %config.name,
                    generation = live.generation,
                );
                let (core, audience) = (&core, &audience);
                async move {
                    core.conn.authorize(&live, audience).await?;
                    let attach = live.session.attach_receiver(config, prefetch);
                    let receiver =
                        tokio::time::timeout(timeout, attach).await.map_err(|_| {
                            Error::new(
                                ErrorKind::Timeout,
                                format!(
                                    "attaching a receiver to {} took longer than {timeout:?}",
                                    this.address()
                                ),
                            )
                        })??;
                    tracing::debug!("receiver attached");
                    Ok(Link {
                        generation: live.generation,
                        receiver,
                        outstanding: 0,
                    })
                }
                .instrument(span)
            })
            .await
            .map_err(|e| self.name_partition(e))?;
        self.link = Some(link);
        // An error kept from an earlier link is not this one's.
        self.pending = None;
        Ok(())
    }

    /// Says which partition and consumer group an error is about.
    fn name_partition(&self, e: Error) -> Error {
        let context = format!(
            "receiving from partition {} of {} (consumer group {})",
            self.origin.partition_id,
            self.core.hub(),
            self.origin.consumer_group
        );
        e.explain(&context)
    }

    fn address(&self) -> String {
        EntityAddress::ConsumerPartition {
            hub: self.core.hub().to_owned(),
            consumer_group: self.origin.consumer_group.clone(),
            partition: self.origin.partition_id.clone(),
        }
        .to_address()
    }

    fn link_config(&self, selector: &Selector) -> LinkConfig {
        let mut config = LinkConfig::receiver(
            format!("receiver-{}-{}", self.origin.partition_id, unique()),
            self.address(),
        );
        if let Some(source) = config.source.as_mut() {
            source.filter = Some(vec![(
                Symbol::from(SELECTOR_FILTER),
                Value::Described(Box::new(Described {
                    descriptor: Value::Symbol(SELECTOR_FILTER.into()),
                    value: Value::String(selector.to_expression()),
                })),
            )]);
        }
        let mut properties = Vec::new();
        if let Some(epoch) = self.options.owner_level {
            properties.push((Symbol::from(k::EPOCH), Value::Long(epoch)));
        }
        if let Some(id) = &self.options.identifier {
            properties.push((Symbol::from(k::RECEIVER_NAME), Value::from(id.as_str())));
        }
        if !properties.is_empty() {
            config.properties = Some(properties);
        }
        if self.options.track_last_enqueued_event_properties {
            config.desired_capabilities = Some(vec![Symbol::from(k::RUNTIME_METRIC)]);
        }
        config
    }
}

type RecvFuture = Pin<
    Box<dyn Future<Output = (Box<PartitionReceiver>, Result<ReceivedEventData, Error>)> + Send>,
>;

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
    type Item = Result<ReceivedEventData, Error>;

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
