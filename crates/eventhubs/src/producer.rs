//! Sending: single events, explicit batches ([`EventBatch`]) and [`Hub::send_batch`],
//! which groups events by partition key and fills each batch up to the link's negotiated
//! max-message-size.

use bytes::{Bytes, BytesMut};
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_amqp::message::{BatchBuilder, Message, BATCH_MESSAGE_FORMAT};
use eventhubs_amqp::types::Value;
use eventhubs_protocol::constants as k;

use crate::error::{Error, ErrorKind};
use crate::event::Event;
use crate::hub::Hub;

/// Options of [`Hub::create_batch`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOptions {
    /// Every event of the batch goes to the partition this key hashes to.
    pub partition_key: Option<String>,
    /// Every event of the batch goes to this partition.
    pub partition_id: Option<String>,
    /// A limit below the link's max-message-size.
    pub max_size_in_bytes: Option<u64>,
}

/// Events sent together as one AMQP batch message; sizes are exact.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let emulator = eventhubs_emulator::Emulator::start(Default::default()).await?;
/// # let hub = eventhubs::Hub::from_connection_string(&emulator.connection_string(Some("eh1")), Default::default())?;
/// let mut batch = hub.create_batch(Default::default()).await?;
/// for i in 0..100 {
///     if !batch.try_add(format!("event {i}").into())? {
///         break; // full: send it and start another
///     }
/// }
/// assert_eq!(batch.len(), 100);
/// hub.send_event_batch(batch).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct EventBatch {
    builder: BatchBuilder,
    max_size: u64,
    address: String,
    /// Reused for each event's encoding (no allocation per event).
    scratch: BytesMut,
}

impl EventBatch {
    /// Adds `event` if it fits: `Ok(false)` when the batch is full, an error when the
    /// event could never fit (it does not even fit an empty batch).
    pub fn try_add(&mut self, event: Event) -> Result<bool, Error> {
        self.add(&event)
    }

    fn add(&mut self, event: &Event) -> Result<bool, Error> {
        self.scratch.clear();
        event.encode_into(&mut self.scratch);
        if self.builder.try_add_encoded(&self.scratch) {
            return Ok(true);
        }
        let alone = BatchBuilder::new(None, usize::MAX).size_with(self.scratch.len()) as u64;
        if alone > self.max_size || self.builder.is_empty() {
            return Err(too_large(alone, self.max_size));
        }
        Ok(false)
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.builder.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.builder.is_empty()
    }

    /// Encoded size in bytes.
    pub fn size(&self) -> usize {
        self.builder.size()
    }

    /// The size limit.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }
}

fn too_large(size: u64, max: u64) -> Error {
    Error::new(
        ErrorKind::MessageTooLarge,
        format!("an event of {size} bytes is larger than the link's limit of {max} bytes"),
    )
}

fn envelope(partition_key: Option<&str>) -> Option<Message> {
    partition_key.map(|key| Message {
        message_annotations: Some(vec![(
            Value::Symbol(k::PARTITION_KEY.into()),
            Value::String(key.to_owned()),
        )]),
        ..Message::default()
    })
}

impl Hub {
    /// The link address for a send: the partitioned sender's partition, else `partition`,
    /// else the hub (the service picks, or hashes the partition key).
    fn address(&self, partition: Option<&str>) -> Result<String, Error> {
        match self
            .inner
            .options
            .partitioned_sender
            .as_deref()
            .or(partition)
        {
            Some("") => Err(Error::invalid("the partition id is empty")),
            Some(p) => Ok(format!("{}/Partitions/{p}", self.name())),
            None => Ok(self.name().to_owned()),
        }
    }

    /// Sends one event (to its partition key's partition if it has one, else any
    /// partition, or the partitioned sender's partition) and waits for the service to
    /// accept it. Transient failures are retried.
    pub async fn send(&self, event: impl Into<Event>) -> Result<(), Error> {
        let address = self.address(None)?;
        self.send_payload(address, event.into().encode(), 0).await
    }

    /// Sends one event to partition `partition_id`.
    pub async fn send_to_partition(
        &self,
        partition_id: &str,
        event: impl Into<Event>,
    ) -> Result<(), Error> {
        let address = self.address(Some(partition_id))?;
        self.send_payload(address, event.into().encode(), 0).await
    }

    /// An empty batch sized to the link's max-message-size (or `options`' smaller limit).
    pub async fn create_batch(&self, options: BatchOptions) -> Result<EventBatch, Error> {
        if options.partition_key.is_some() && options.partition_id.is_some() {
            return Err(Error::invalid(
                "a batch takes a partition key or a partition id, not both",
            ));
        }
        let address = self.address(options.partition_id.as_deref())?;
        let link_max = self.link_max_message_size(&address).await?;
        let max_size = options
            .max_size_in_bytes
            .map_or(link_max, |m| m.min(link_max));
        let envelope = envelope(options.partition_key.as_deref());
        Ok(EventBatch {
            builder: BatchBuilder::new(envelope.as_ref(), max_size as usize),
            max_size,
            address,
            scratch: BytesMut::with_capacity(256),
        })
    }

    /// Sends a batch built with [`Hub::create_batch`].
    pub async fn send_event_batch(&self, batch: EventBatch) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let EventBatch {
            builder, address, ..
        } = batch;
        self.send_payload(address, builder.finish(), BATCH_MESSAGE_FORMAT)
            .await
    }

    /// Sends `events` in as few batches as fit: grouped by partition key (order kept
    /// within each key; keys in order of first appearance), each batch filled up to the
    /// link's max-message-size. An event larger than the limit fails the call, naming both
    /// sizes; batches before it were sent.
    pub async fn send_batch<I, E>(&self, events: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = E>,
        E: Into<Event>,
    {
        let mut groups: Vec<(Option<String>, Vec<Event>)> = Vec::new();
        for event in events {
            let event = event.into();
            let key = event.partition_key().map(str::to_owned);
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(event),
                None => groups.push((key, vec![event])),
            }
        }
        for (key, events) in groups {
            let options = BatchOptions {
                partition_key: key,
                ..BatchOptions::default()
            };
            let mut batch = self.create_batch(options.clone()).await?;
            for event in &events {
                if batch.add(event)? {
                    continue;
                }
                self.send_event_batch(batch).await?;
                batch = self.create_batch(options.clone()).await?;
                // An empty batch takes the event or `add` fails with its size.
                batch.add(event)?;
            }
            self.send_event_batch(batch).await?;
        }
        Ok(())
    }

    async fn link_max_message_size(&self, address: &str) -> Result<u64, Error> {
        let address = address.to_owned();
        self.with_retry("attach sender", |live| {
            let address = address.clone();
            async move {
                let sender = self.inner.conn.sender(&live, &address).await?;
                Ok(sender.max_message_size())
            }
        })
        .await
    }

    async fn send_payload(
        &self,
        address: String,
        payload: Bytes,
        format: u32,
    ) -> Result<(), Error> {
        self.with_retry("send", |live| {
            let (address, payload) = (address.clone(), payload.clone());
            async move {
                let sender = self.inner.conn.sender(&live, &address).await?;
                let max = sender.max_message_size();
                if max > 0 && payload.len() as u64 > max {
                    return Err(too_large(payload.len() as u64, max));
                }
                match sender.send_encoded(payload, format).await {
                    Ok(DeliveryState::Accepted) => Ok(()),
                    Ok(other) => Err(outcome_error(&other)),
                    Err(e) => {
                        let e = Error::from(e);
                        if e.is_transient() {
                            self.inner.conn.forget_sender(&live, &address);
                        }
                        Err(e)
                    }
                }
            }
        })
        .await
    }
}

fn outcome_error(state: &DeliveryState) -> Error {
    match state {
        DeliveryState::Rejected(Some(e)) => Error::from_condition(
            e.condition.as_str(),
            e.description.clone().unwrap_or_default(),
        ),
        other => Error::new(
            ErrorKind::Service,
            format!("the service did not accept the event: {other:?}"),
        ),
    }
}
