//! [`ProducerClient`]: sends events to an event hub — one at a time, many at once (batched
//! to the link's limit), or as batches built by the caller.

use std::sync::Arc;

use bytes::Bytes;
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_amqp::message::BATCH_MESSAGE_FORMAT;
use eventhubs_protocol::address::partition_address;

use crate::auth::TokenProvider;
use crate::batch::{CreateBatchOptions, EventDataBatch, TryAddReason};
use crate::client::ClientCore;
use crate::client_options::ClientOptions;
use crate::coalesce::{self, Coalescer};
use crate::error::{Error, ErrorKind};
use crate::event::EventData;
use crate::properties::{EventHubProperties, PartitionProperties};

/// Where a single send goes: a partition, or the partition a key hashes to (not both);
/// neither lets the service choose.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
#[must_use = "setters return the changed value: use it"]
pub struct SendEventOptions {
    /// Send to this partition.
    pub partition_id: Option<String>,
    /// Send to the partition this key hashes to (overrides the events' own keys).
    pub partition_key: Option<String>,
}

impl SendEventOptions {
    /// Sends to partition `id`.
    pub fn partition_id(mut self, id: impl Into<String>) -> Self {
        self.partition_id = Some(id.into());
        self
    }

    /// Sends to the partition `key` hashes to.
    pub fn partition_key(mut self, key: impl Into<String>) -> Self {
        self.partition_key = Some(key.into());
        self
    }
}

/// Sends events to one event hub. Cheap to clone; clones share one AMQP connection (which
/// is opened on first use and replaced when it fails) and one sender link per target.
///
/// Every `async fn` is bounded by the operation timeout (per try) and retries transient
/// failures. Cancelling a send (dropping its future) is safe, but the event may or may not
/// have been stored: as with any retried send, delivery is at least once.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let emulator = eventhubs_emulator::Emulator::start(Default::default()).await?;
/// # let connection_string = emulator.connection_string(Some("eh1"));
/// use eventhubs::{ClientOptions, EventData, ProducerClient, SendEventOptions};
/// let producer =
///     ProducerClient::from_connection_string(&connection_string, None, ClientOptions::default())?;
/// producer.send_event("hello", SendEventOptions::default()).await?;
/// producer
///     .send_event(EventData::from("pinned").with_property("n", 1), SendEventOptions::default().partition_id("2"))
///     .await?;
/// producer.send_events((0..500).map(|i| format!("event {i}")), SendEventOptions::default()).await?;
/// assert_eq!(producer.get_partition_ids().await?, ["0", "1", "2", "3"]);
/// producer.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ProducerClient {
    core: Arc<ClientCore>,
    coalescer: Arc<Coalescer>,
}

impl ProducerClient {
    /// A producer from a connection string (`Endpoint`, `SharedAccessKeyName` +
    /// `SharedAccessKey` or `SharedAccessSignature`, optional `EntityPath`,
    /// `UseDevelopmentEmulator=true` for a local emulator). `eventhub` names the hub when
    /// the connection string has no `EntityPath` (if both are given they must agree).
    #[doc(alias = "NewHubFromConnectionString")]
    pub fn from_connection_string(
        connection_string: &str,
        eventhub: Option<&str>,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        ClientCore::from_connection_string(connection_string, eventhub, &options).map(Self::wrap)
    }

    /// A producer of `eventhub` in `fully_qualified_namespace` (`my-ns.servicebus.windows.net`,
    /// or just `my-ns`), authorized by `credential`.
    #[doc(alias = "NewHub")]
    pub fn new(
        fully_qualified_namespace: &str,
        eventhub: &str,
        credential: Arc<dyn TokenProvider>,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        ClientCore::new(fully_qualified_namespace, eventhub, credential, &options).map(Self::wrap)
    }

    /// A producer from the environment: `EVENTHUB_CONNECTION_STRING` (with `EntityPath` or
    /// `EVENTHUB_NAME`), else `EVENTHUB_NAMESPACE` + `EVENTHUB_NAME` with
    /// `EVENTHUB_KEY_NAME` + `EVENTHUB_KEY_VALUE`, else with the
    /// Entra ID credential the `AZURE_*` variables describe
    /// ([`EnvironmentCredential`](crate::identity::EnvironmentCredential)).
    #[doc(alias = "NewHubFromEnvironment")]
    pub fn from_env(options: ClientOptions) -> Result<Self, Error> {
        ClientCore::from_env(None, &options).map(Self::wrap)
    }

    fn wrap(core: ClientCore) -> Self {
        Self::from_core(Arc::new(core))
    }

    pub(crate) fn from_core(core: Arc<ClientCore>) -> Self {
        Self {
            core,
            coalescer: Arc::default(),
        }
    }

    /// The event hub's name.
    pub fn eventhub_name(&self) -> &str {
        self.core.hub()
    }

    /// The namespace host.
    pub fn fully_qualified_namespace(&self) -> &str {
        self.core.namespace()
    }

    /// Sends one event and waits for the service to accept it. Many concurrent calls to
    /// one partition (or one partition key) share deliveries: past 2 in flight, the next
    /// ones go out together in a batch message, each call still getting its own result.
    #[doc(alias = "Send")]
    // No span of its own: on this path (measured with 256 sends in flight) even a disabled
    // span cost 8% of the rate. The connection and attach under it have spans.
    pub async fn send_event(
        &self,
        event: impl Into<EventData>,
        options: SendEventOptions,
    ) -> Result<(), Error> {
        let mut event = event.into();
        if let Some(key) = &options.partition_key {
            event = event.with_partition_key(key.clone());
        }
        let address = self.address(
            options.partition_id.as_deref(),
            options.partition_key.as_deref(),
        )?;
        event.validate()?;
        // Hub sends group by key (a batch routes by its envelope's key); partition sends
        // keep the events' keys inside the batch.
        let key = if options.partition_id.is_none() {
            event.partition_key().map(str::to_owned)
        } else {
            None
        };
        coalesce::send(self, &self.coalescer, (address, key), event.encode()).await
    }

    /// Sends `events` in as few batches as fit: grouped by partition key (order kept within
    /// each key; keys in order of first appearance), each batch filled up to the link's
    /// limit, all to `options`' partition or key when given. If a batch fails, the error's
    /// [`events_sent`](Error::events_sent) says how many events were accepted before it.
    #[doc(alias = "SendBatch")]
    #[tracing::instrument(name = "eventhubs.send_events", level = "debug", skip_all, fields(hub = %self.eventhub_name(), partition = ?options.partition_id))]
    pub async fn send_events<I, E>(&self, events: I, options: SendEventOptions) -> Result<(), Error>
    where
        I: IntoIterator<Item = E>,
        E: Into<EventData>,
    {
        self.address(
            options.partition_id.as_deref(),
            options.partition_key.as_deref(),
        )?;
        let mut groups: Vec<(Option<String>, Vec<EventData>)> = Vec::new();
        for event in events {
            let event = event.into();
            // Refused before anything is sent, so a bad event cannot split the call.
            event.validate()?;
            let key = options
                .partition_key
                .clone()
                .or_else(|| event.partition_key().map(str::to_owned));
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, list)) => list.push(event),
                None => groups.push((key, vec![event])),
            }
        }
        let mut sent = 0;
        for (key, events) in groups {
            let batch_options = CreateBatchOptions {
                partition_key: if options.partition_id.is_some() {
                    None
                } else {
                    key
                },
                partition_id: options.partition_id.clone(),
                max_size_in_bytes: None,
            };
            let mut batch = self
                .create_batch(batch_options.clone())
                .await
                .map_err(|e| e.with_events_sent(sent))?;
            for event in &events {
                match batch.add(event) {
                    None => continue,
                    Some(TryAddReason::TooLarge { size, max }) => {
                        return Err(too_large(size, max).with_events_sent(sent));
                    }
                    Some(_) => {} // full: send it and start the next
                }
                let n = batch.len();
                self.send_batch(batch)
                    .await
                    .map_err(|e| e.with_events_sent(sent))?;
                sent += n;
                batch = self
                    .create_batch(batch_options.clone())
                    .await
                    .map_err(|e| e.with_events_sent(sent))?;
                if let Some(TryAddReason::TooLarge { size, max }) = batch.add(event) {
                    return Err(too_large(size, max).with_events_sent(sent));
                }
            }
            let n = batch.len();
            self.send_batch(batch)
                .await
                .map_err(|e| e.with_events_sent(sent))?;
            sent += n;
        }
        Ok(())
    }

    /// An empty batch sized to the link's max-message-size (or `options`' smaller limit),
    /// for `options`' partition or key.
    #[doc(alias = "NewEventBatch")]
    #[tracing::instrument(name = "eventhubs.create_batch", level = "debug", skip_all, fields(hub = %self.eventhub_name(), partition = ?options.partition_id))]
    pub async fn create_batch(&self, options: CreateBatchOptions) -> Result<EventDataBatch, Error> {
        let address = self.address(
            options.partition_id.as_deref(),
            options.partition_key.as_deref(),
        )?;
        let link_max = self.link_max_message_size(&address).await?;
        let max_size = options
            .max_size_in_bytes
            .map_or(link_max, |m| m.min(link_max));
        Ok(EventDataBatch::new(
            address,
            max_size,
            options.partition_key,
            options.partition_id,
        ))
    }

    /// Sends a batch built with [`ProducerClient::create_batch`]; an empty one is a no-op.
    #[tracing::instrument(name = "eventhubs.send_batch", level = "debug", skip_all, fields(hub = %self.eventhub_name(), partition = ?batch.partition_id(), events = batch.len()))]
    pub async fn send_batch(&self, batch: EventDataBatch) -> Result<(), Error> {
        if batch.is_empty() {
            return Ok(());
        }
        let address = batch.address.clone();
        self.send_payload(address, batch.into_payload(), BATCH_MESSAGE_FORMAT)
            .await
    }

    /// The hub's name, creation time and partition ids.
    #[doc(alias = "GetRuntimeInformation")]
    #[tracing::instrument(name = "eventhubs.get_eventhub_properties", level = "debug", skip_all, fields(hub = %self.eventhub_name()))]
    pub async fn get_eventhub_properties(&self) -> Result<EventHubProperties, Error> {
        self.core.eventhub_properties().await
    }

    /// The hub's partition ids.
    pub async fn get_partition_ids(&self) -> Result<Vec<String>, Error> {
        Ok(self.core.eventhub_properties().await?.partition_ids)
    }

    /// A partition's sequence numbers, last offset and time, and whether it is empty.
    #[doc(alias = "GetPartitionInformation")]
    #[tracing::instrument(name = "eventhubs.get_partition_properties", level = "debug", skip_all, fields(hub = %self.eventhub_name(), partition = %partition_id))]
    pub async fn get_partition_properties(
        &self,
        partition_id: &str,
    ) -> Result<PartitionProperties, Error> {
        self.core.partition_properties(partition_id).await
    }

    /// Closes the connection and every link on it; later calls fail with
    /// [`ErrorKind::Closed`]. Bounded by the operation timeout.
    pub async fn close(&self) {
        self.core.close().await;
    }

    /// The link address for a send to `partition` (or the hub), refusing a partition and a
    /// key together.
    fn address(&self, partition: Option<&str>, key: Option<&str>) -> Result<String, Error> {
        match (partition, key) {
            (Some(_), Some(_)) => Err(Error::invalid(
                "a send takes a partition id or a partition key, not both",
            )),
            (Some(""), _) => Err(Error::invalid("the partition id is empty")),
            (Some(p), None) => Ok(partition_address(self.eventhub_name(), p)),
            (None, Some(k)) if k.chars().count() > MAX_PARTITION_KEY_CHARS => Err(Error::invalid(
                format!("the partition key has {} characters; the service allows {MAX_PARTITION_KEY_CHARS}", k.chars().count()),
            )),
            (None, _) => Ok(self.eventhub_name().to_owned()),
        }
    }

    /// The bound on one network operation.
    pub(crate) fn operation_timeout(&self) -> std::time::Duration {
        self.core.conn.settings.operation_timeout
    }

    pub(crate) async fn link_max_message_size(&self, address: &str) -> Result<u64, Error> {
        self.core
            .with_retry("attach sender", |live| async move {
                let sender = self.core.conn.sender(&live, address).await?;
                Ok(sender.max_message_size())
            })
            .await
            .map_err(|e| self.explain_send(address, e))
    }

    /// Says where a failed send was going.
    fn explain_send(&self, address: &str, e: Error) -> Error {
        let subject = match address.rsplit_once("/Partitions/") {
            Some((hub, partition)) => format!("sending to partition {partition} of {hub}"),
            None => format!("sending to {address}"),
        };
        e.explain(&subject)
    }

    /// Sends one payload to `address`, waiting at most the operation timeout per try for
    /// its outcome.
    pub(crate) async fn send_payload(
        &self,
        address: String,
        payload: Bytes,
        format: u32,
    ) -> Result<(), Error> {
        let timeout = self.core.conn.settings.operation_timeout;
        self.core
            .with_retry("send", |live| {
                let (address, payload) = (&address, payload.clone());
                async move {
                    let sender = self.core.conn.sender(&live, address).await?;
                    let max = sender.max_message_size();
                    if max > 0 && payload.len() as u64 > max {
                        return Err(too_large(payload.len() as u64, max));
                    }
                    let sending =
                        tokio::time::timeout(timeout, sender.send_encoded(payload, format));
                    let Ok(outcome) = sending.await else {
                        return Err(Error::new(
                            ErrorKind::Timeout,
                            format!(
                                "the service did not answer a send to {address} within {timeout:?}"
                            ),
                        ));
                    };
                    match outcome {
                        Ok(DeliveryState::Accepted) => Ok(()),
                        Ok(other) => Err(outcome_error(&other)),
                        Err(e) => {
                            let e = Error::from(e);
                            if e.is_transient() {
                                self.core.conn.forget_sender(&live, address);
                            }
                            Err(e)
                        }
                    }
                }
            })
            .await
            .map_err(|e| self.explain_send(&address, e))
    }
}

/// The longest partition key the service takes.
const MAX_PARTITION_KEY_CHARS: usize = 128;

fn too_large(size: u64, max: u64) -> Error {
    Error::new(
        ErrorKind::MessageTooLarge,
        format!("an event of {size} bytes is larger than the link's limit of {max} bytes"),
    )
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
