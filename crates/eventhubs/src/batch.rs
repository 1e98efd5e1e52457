//! [`EventDataBatch`]: events sent together as one AMQP batch message, sized exactly to the
//! link's limit. Adding is lossless: an event that does not fit comes back to the caller.

use bytes::BytesMut;
use eventhubs_amqp::message::{BatchBuilder, Message};
use eventhubs_amqp::types::Value;
use eventhubs_protocol::constants as k;

use crate::error::{Error, ErrorKind};
use crate::event::EventData;

/// Options of [`ProducerClient::create_batch`](crate::ProducerClient::create_batch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "setters return the changed value: use it"]
pub struct CreateBatchOptions {
    /// Every event of the batch goes to the partition this key hashes to.
    pub partition_key: Option<String>,
    /// Every event of the batch goes to this partition.
    pub partition_id: Option<String>,
    /// A limit below the link's max-message-size.
    pub max_size_in_bytes: Option<u64>,
}

impl CreateBatchOptions {
    /// Sends the batch to the partition `key` hashes to.
    pub fn partition_key(mut self, key: impl Into<String>) -> Self {
        self.partition_key = Some(key.into());
        self
    }

    /// Sends the batch to partition `id`.
    pub fn partition_id(mut self, id: impl Into<String>) -> Self {
        self.partition_id = Some(id.into());
        self
    }

    /// Keeps the batch under `bytes` (and the link's limit).
    pub fn max_size_in_bytes(mut self, bytes: u64) -> Self {
        self.max_size_in_bytes = Some(bytes);
        self
    }
}

/// Events sent together as one batch message. Sizes are exact, so a batch is filled to
/// the link's limit and never over it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let emulator = eventhubs_emulator::Emulator::start(Default::default()).await?;
/// # let cs = emulator.connection_string(Some("eh1"));
/// use eventhubs::{ClientOptions, CreateBatchOptions, EventData, ProducerClient};
/// let producer = ProducerClient::from_connection_string(&cs, None, ClientOptions::default())?;
/// let mut batch = producer.create_batch(CreateBatchOptions::default()).await?;
/// for i in 0..1000 {
///     let event = EventData::from(format!("event {i}"));
///     if let Err(full) = batch.try_add(event) {
///         // Not lost: send what is there, then start a new batch with it.
///         producer.send_batch(batch).await?;
///         batch = producer.create_batch(CreateBatchOptions::default()).await?;
///         batch.try_add(full.into_event())?;
///     }
/// }
/// producer.send_batch(batch).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct EventDataBatch {
    builder: BatchBuilder,
    max_size: u64,
    pub(crate) address: String,
    partition_key: Option<String>,
    partition_id: Option<String>,
    /// Reused for each event's encoding (no allocation per event).
    scratch: BytesMut,
}

/// Why [`EventDataBatch::try_add`] handed an event back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryAddReason {
    /// The batch has no room left for it; it fits an empty batch.
    Full,
    /// It is larger than any batch on this link can be.
    TooLarge {
        /// Its size inside a batch, in bytes.
        size: u64,
        /// The batch's limit.
        max: u64,
    },
    /// One of its properties cannot be encoded (an array whose elements differ in type);
    /// the error's text names it.
    InvalidProperty,
}

/// An event [`EventDataBatch::try_add`] did not take, handed back with the reason.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", match reason {
    TryAddReason::Full => "the batch is full".to_owned(),
    TryAddReason::InvalidProperty => event.validate().err().map_or_else(String::new, |e| e.to_string()),
    TryAddReason::TooLarge { size, max } => format!("the event takes {size} bytes in a batch; the limit is {max} bytes"),
})]
pub struct TryAddError {
    // Boxed: an error that carries the event stays small on the happy path's `Result`.
    event: Box<EventData>,
    reason: TryAddReason,
}

impl TryAddError {
    /// Why the event was not added.
    pub fn reason(&self) -> TryAddReason {
        self.reason
    }

    /// True when the batch is full (the event fits a new one).
    pub fn is_full(&self) -> bool {
        self.reason == TryAddReason::Full
    }

    /// The event, back to the caller.
    pub fn into_event(self) -> EventData {
        *self.event
    }

    /// The event.
    pub fn event(&self) -> &EventData {
        &self.event
    }
}

impl From<TryAddError> for Error {
    fn from(e: TryAddError) -> Self {
        let kind = match e.reason {
            TryAddReason::Full | TryAddReason::InvalidProperty => ErrorKind::InvalidArgument,
            TryAddReason::TooLarge { .. } => ErrorKind::MessageTooLarge,
        };
        Self::new(kind, e.to_string())
    }
}

impl EventDataBatch {
    pub(crate) fn new(
        address: String,
        max_size: u64,
        partition_key: Option<String>,
        partition_id: Option<String>,
    ) -> Self {
        let envelope = envelope(partition_key.as_deref());
        Self {
            builder: BatchBuilder::new(envelope.as_ref(), max_size.min(usize::MAX as u64) as usize),
            max_size,
            address,
            partition_key,
            partition_id,
            scratch: BytesMut::with_capacity(256),
        }
    }

    /// Adds `event` if it fits. If not, it comes back inside the error: `is_full()` when a
    /// new batch would take it, `TooLarge` when no batch can, `InvalidProperty` when a
    /// property value cannot be encoded.
    pub fn try_add(&mut self, event: EventData) -> Result<(), TryAddError> {
        match self.add(&event) {
            None => Ok(()),
            Some(reason) => Err(TryAddError {
                event: Box::new(event),
                reason,
            }),
        }
    }

    /// Adds `event` by reference; `Some(reason)` when it did not fit.
    pub(crate) fn add(&mut self, event: &EventData) -> Option<TryAddReason> {
        if event.validate().is_err() {
            return Some(TryAddReason::InvalidProperty);
        }
        self.scratch.clear();
        event.encode_into(&mut self.scratch);
        if self.builder.try_add_encoded(&self.scratch) {
            return None;
        }
        let alone = BatchBuilder::new(None, usize::MAX).size_with(self.scratch.len()) as u64;
        if alone > self.max_size || self.builder.is_empty() {
            return Some(TryAddReason::TooLarge {
                size: alone,
                max: self.max_size,
            });
        }
        Some(TryAddReason::Full)
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
    pub fn size_in_bytes(&self) -> usize {
        self.builder.size()
    }

    /// The size limit.
    pub fn max_size_in_bytes(&self) -> u64 {
        self.max_size
    }

    /// The partition key the batch is sent with, if any.
    pub fn partition_key(&self) -> Option<&str> {
        self.partition_key.as_deref()
    }

    /// The partition the batch is sent to, if one was chosen.
    pub fn partition_id(&self) -> Option<&str> {
        self.partition_id.as_deref()
    }

    /// The encoded batch message.
    pub(crate) fn into_payload(self) -> bytes::Bytes {
        self.builder.finish()
    }
}

/// The batch envelope: the partition key in its annotations, when there is one.
fn envelope(partition_key: Option<&str>) -> Option<Message> {
    partition_key.map(|key| Message {
        message_annotations: Some(vec![(
            Value::Symbol(k::PARTITION_KEY.into()),
            Value::String(key.to_owned()),
        )]),
        ..Message::default()
    })
}
