//! [`Hub`]: the Go `azure-event-hubs-go` v3 surface (`eventhub.Hub`), kept as a thin facade
//! over [`ProducerClient`] and [`ConsumerClient`], which share its one connection.

use std::sync::Arc;
use std::time::SystemTime;

use crate::auth::TokenProvider;
use crate::batch::{CreateBatchOptions, EventDataBatch};
use crate::client::ClientCore;
use crate::consumer::ConsumerClient;
use crate::error::Error;
use crate::event::EventData;
use crate::options::HubOptions;
use crate::producer::{ProducerClient, SendEventOptions};

/// A client of one event hub with the Go v3 library's shape. Cheap to clone; every clone
/// shares one AMQP connection, which carries CBS, management, every sender and every
/// receiver, and is reopened when it fails. New code can use [`ProducerClient`] and
/// [`ConsumerClient`] directly; this facade is built on them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let emulator = eventhubs_emulator::Emulator::start(Default::default()).await?;
/// # let port = emulator.addr().port();
/// use eventhubs::{Hub, HubOptions};
/// let hub = Hub::from_connection_string(
///     &format!("Endpoint=sb://localhost:{port};SharedAccessKeyName=RootManageSharedAccessKey;\
///               SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;EntityPath=eh1"),
///     HubOptions::default(),
/// )?;
/// hub.send("hello, world!").await?;
/// let info = hub.runtime_information().await?;
/// assert_eq!(info.partition_ids, ["0", "1", "2", "3"]);
/// hub.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Hub {
    pub(crate) inner: Arc<HubInner>,
}

#[derive(Debug)]
pub(crate) struct HubInner {
    pub core: Arc<ClientCore>,
    pub producer: ProducerClient,
    pub consumer: ConsumerClient,
    pub options: HubOptions,
}

/// What `$management` says about the hub (Go's `HubRuntimeInformation`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubRuntimeInformation {
    /// The hub's name.
    pub path: String,
    /// When it was created.
    pub created_at: SystemTime,
    /// Number of partitions.
    pub partition_count: usize,
    /// Partition ids.
    pub partition_ids: Vec<String>,
}

/// What `$management` says about a partition (Go's `HubPartitionRuntimeInformation`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionInformation {
    /// The hub's name.
    pub hub_path: String,
    /// The partition's id.
    pub partition_id: String,
    /// First retained sequence number.
    pub beginning_sequence_number: i64,
    /// Last enqueued sequence number (−1 when none).
    pub last_sequence_number: i64,
    /// Offset of the last enqueued event.
    pub last_enqueued_offset: String,
    /// When the last event was enqueued.
    pub last_enqueued_time: SystemTime,
    /// No event is retained.
    pub is_empty: bool,
}

impl Hub {
    /// A client from a connection string (`Endpoint`, `SharedAccessKeyName` +
    /// `SharedAccessKey` or `SharedAccessSignature`, `EntityPath`, and
    /// `UseDevelopmentEmulator=true` for plain AMQP to a local emulator). The hub is
    /// `EntityPath`, or [`HubOptions::hub_name`].
    #[doc(alias = "NewHubFromConnectionString")]
    pub fn from_connection_string(
        connection_string: &str,
        options: HubOptions,
    ) -> Result<Self, Error> {
        let core = ClientCore::from_connection_string(
            connection_string,
            options.hub_name.as_deref(),
            &options.client_options(),
        )?;
        Self::build(core, options)
    }

    /// A client of hub `hub` in `namespace` (a short name like `my-ns`, or a host like
    /// `my-ns.servicebus.windows.net`), authorized by `provider`, over AMQPS.
    #[doc(alias = "NewHub")]
    pub fn new(
        namespace: &str,
        hub: &str,
        provider: Arc<dyn TokenProvider>,
        options: HubOptions,
    ) -> Result<Self, Error> {
        let core = ClientCore::new(namespace, hub, provider, &options.client_options())?;
        Self::build(core, options)
    }

    /// A client from the environment: `EVENTHUB_CONNECTION_STRING` (its `EntityPath`, or
    /// `EVENTHUB_NAME`), else `EVENTHUB_NAMESPACE` + `EVENTHUB_NAME` with
    /// `EVENTHUB_KEY_NAME` + `EVENTHUB_KEY_VALUE`, else with the
    /// Entra ID credential the `AZURE_*` variables describe
    /// ([`EnvironmentCredential`](crate::identity::EnvironmentCredential)).
    #[doc(alias = "NewHubFromEnvironment")]
    pub fn from_env(options: HubOptions) -> Result<Self, Error> {
        let core = ClientCore::from_env(options.hub_name.as_deref(), &options.client_options())?;
        Self::build(core, options)
    }

    fn build(core: ClientCore, options: HubOptions) -> Result<Self, Error> {
        if let Some(p) = &options.partitioned_sender {
            if p.is_empty() {
                return Err(Error::invalid(
                    "the partitioned sender's partition id is empty",
                ));
            }
        }
        let core = Arc::new(core);
        let producer = ProducerClient::from_core(core.clone());
        let consumer = ConsumerClient::from_core(core.clone(), &options.consumer_group)?;
        Ok(Self {
            inner: Arc::new(HubInner {
                core,
                producer,
                consumer,
                options,
            }),
        })
    }

    /// The event hub's name.
    pub fn name(&self) -> &str {
        self.inner.core.hub()
    }

    /// The namespace host.
    pub fn namespace(&self) -> &str {
        self.inner.core.namespace()
    }

    /// The options it was built with.
    pub fn options(&self) -> &HubOptions {
        &self.inner.options
    }

    /// The [`ProducerClient`] this hub sends with.
    pub fn producer(&self) -> &ProducerClient {
        &self.inner.producer
    }

    /// The [`ConsumerClient`] this hub receives with.
    pub fn consumer(&self) -> &ConsumerClient {
        &self.inner.consumer
    }

    /// The partition a send goes to: the partitioned sender's, or `partition`; both given
    /// and different is an error rather than a silent redirect.
    fn target(&self, partition: Option<&str>) -> Result<Option<String>, Error> {
        match (self.inner.options.partitioned_sender.as_deref(), partition) {
            (Some(pinned), Some(p)) if pinned != p => Err(Error::invalid(format!(
                "this hub client sends only to partition {pinned} (HubOptions::partitioned_sender); it cannot send to partition {p}"
            ))),
            (pinned, p) => Ok(p.or(pinned).map(str::to_owned)),
        }
    }

    fn send_options(&self, partition: Option<&str>) -> Result<SendEventOptions, Error> {
        Ok(SendEventOptions {
            partition_id: self.target(partition)?,
            partition_key: None,
        })
    }

    /// Sends one event (to its partition key's partition if it has one, else any
    /// partition, or the partitioned sender's partition) and waits for the service to
    /// accept it. Transient failures are retried.
    #[doc(alias = "Send")]
    pub async fn send(&self, event: impl Into<EventData>) -> Result<(), Error> {
        let event = event.into();
        let mut options = self.send_options(None)?;
        if options.partition_id.is_none() {
            options.partition_key = event.partition_key().map(str::to_owned);
        }
        self.inner.producer.send_event(event, options).await
    }

    /// Sends one event to partition `partition_id`.
    pub async fn send_to_partition(
        &self,
        partition_id: &str,
        event: impl Into<EventData>,
    ) -> Result<(), Error> {
        let options = self.send_options(Some(partition_id))?;
        self.inner.producer.send_event(event, options).await
    }

    /// Sends `events` in as few batches as fit: grouped by partition key, each batch
    /// filled to the link's limit (Go's `SendBatch` with an `EventBatchIterator`). On a
    /// failure part-way, [`Error::events_sent`] says how many were accepted.
    #[doc(alias = "SendBatch")]
    pub async fn send_batch<I, E>(&self, events: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = E>,
        E: Into<EventData>,
    {
        let options = self.send_options(None)?;
        self.inner.producer.send_events(events, options).await
    }

    /// An empty batch sized to the link's limit (or `options`' smaller one), for the
    /// partitioned sender's partition unless `options` names one.
    pub async fn create_batch(&self, options: CreateBatchOptions) -> Result<EventDataBatch, Error> {
        let mut options = options;
        if options.partition_key.is_none() {
            options.partition_id = self.target(options.partition_id.as_deref())?;
        }
        self.inner.producer.create_batch(options).await
    }

    /// Sends a batch built with [`Hub::create_batch`].
    #[doc(alias = "SendBatch")]
    pub async fn send_event_batch(&self, batch: EventDataBatch) -> Result<(), Error> {
        self.inner.producer.send_batch(batch).await
    }

    /// The hub's name, creation time and partitions.
    #[doc(alias = "GetRuntimeInformation")]
    pub async fn runtime_information(&self) -> Result<HubRuntimeInformation, Error> {
        let p = self.inner.core.eventhub_properties().await?;
        Ok(HubRuntimeInformation {
            path: p.name,
            created_at: p.created_on,
            partition_count: p.partition_ids.len(),
            partition_ids: p.partition_ids,
        })
    }

    /// A partition's sequence numbers, last offset and time, and whether it is empty.
    #[doc(alias = "GetPartitionInformation")]
    pub async fn partition_information(
        &self,
        partition_id: &str,
    ) -> Result<PartitionInformation, Error> {
        let p = self.inner.core.partition_properties(partition_id).await?;
        Ok(PartitionInformation {
            hub_path: p.eventhub_name,
            partition_id: p.id,
            beginning_sequence_number: p.beginning_sequence_number,
            last_sequence_number: p.last_enqueued_sequence_number,
            last_enqueued_offset: p.last_enqueued_offset,
            last_enqueued_time: p.last_enqueued_time,
            is_empty: p.is_empty,
        })
    }

    /// Closes the connection and every link on it; later calls fail with
    /// [`ErrorKind::Closed`](crate::ErrorKind::Closed).
    #[doc(alias = "Close")]
    pub async fn close(&self) {
        self.inner.core.close().await;
    }
}
