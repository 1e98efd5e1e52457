//! [`ConsumerClient`]: reads an event hub's partitions as one consumer group.

use std::sync::Arc;

use crate::auth::TokenProvider;
use crate::client::ClientCore;
use crate::client_options::ClientOptions;
use crate::error::Error;
use crate::properties::{EventHubProperties, PartitionProperties};
use crate::receiver::{PartitionReceiver, PartitionReceiverOptions};

/// Reads one event hub as one consumer group. Cheap to clone; clones share one AMQP
/// connection, which every partition receiver opened from them uses too.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let emulator = eventhubs_emulator::Emulator::start(Default::default()).await?;
/// # let connection_string = emulator.connection_string(Some("eh1"));
/// # let producer = eventhubs::ProducerClient::from_connection_string(&connection_string, None, Default::default())?;
/// # producer.send_event("hello", eventhubs::SendEventOptions::default().partition_id("0")).await?;
/// use std::time::Duration;
/// use eventhubs::{
///     ClientOptions, ConsumerClient, PartitionReceiverOptions, StartPosition, DEFAULT_CONSUMER_GROUP,
/// };
/// let consumer = ConsumerClient::from_connection_string(
///     &connection_string,
///     None,
///     DEFAULT_CONSUMER_GROUP,
///     ClientOptions::default(),
/// )?;
/// let options = PartitionReceiverOptions::default().start_position(StartPosition::earliest());
/// let mut receiver = consumer.open_partition_receiver("0", options).await?;
/// let events = receiver.recv_batch(100, Duration::from_secs(1)).await?;
/// assert_eq!(events[0].data_as_str(), Some("hello"));
/// receiver.close().await;
/// consumer.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ConsumerClient {
    core: Arc<ClientCore>,
    consumer_group: String,
}

impl ConsumerClient {
    /// A consumer from a connection string (see
    /// [`ProducerClient::from_connection_string`](crate::ProducerClient::from_connection_string))
    /// reading as `consumer_group` (`DEFAULT_CONSUMER_GROUP` is `$Default`).
    pub fn from_connection_string(
        connection_string: &str,
        eventhub: Option<&str>,
        consumer_group: &str,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        let core = ClientCore::from_connection_string(connection_string, eventhub, &options)?;
        Self::from_core(Arc::new(core), consumer_group)
    }

    /// A consumer of `eventhub` in `fully_qualified_namespace`, authorized by `credential`.
    pub fn new(
        fully_qualified_namespace: &str,
        eventhub: &str,
        consumer_group: &str,
        credential: Arc<dyn TokenProvider>,
        options: ClientOptions,
    ) -> Result<Self, Error> {
        let core = ClientCore::new(fully_qualified_namespace, eventhub, credential, &options)?;
        Self::from_core(Arc::new(core), consumer_group)
    }

    /// A consumer from the environment (as
    /// [`ProducerClient::from_env`](crate::ProducerClient::from_env)).
    pub fn from_env(consumer_group: &str, options: ClientOptions) -> Result<Self, Error> {
        let core = ClientCore::from_env(None, &options)?;
        Self::from_core(Arc::new(core), consumer_group)
    }

    pub(crate) fn from_core(core: Arc<ClientCore>, consumer_group: &str) -> Result<Self, Error> {
        if consumer_group.trim().is_empty() {
            return Err(Error::invalid("the consumer group name is empty"));
        }
        Ok(Self {
            core,
            consumer_group: consumer_group.to_owned(),
        })
    }

    /// The event hub's name.
    pub fn eventhub_name(&self) -> &str {
        self.core.hub()
    }

    /// The namespace host.
    pub fn fully_qualified_namespace(&self) -> &str {
        self.core.namespace()
    }

    /// The consumer group it reads as.
    pub fn consumer_group(&self) -> &str {
        &self.consumer_group
    }

    /// A receiver on `partition_id`, attached before this returns (so a wrong partition,
    /// consumer group, key or owner level fails here). Cancel-safe: dropped while
    /// attaching, no link is left behind.
    #[tracing::instrument(name = "eventhubs.open_partition_receiver", level = "debug", skip_all, fields(hub = %self.eventhub_name(), consumer_group = %self.consumer_group, partition = %partition_id))]
    pub async fn open_partition_receiver(
        &self,
        partition_id: &str,
        options: PartitionReceiverOptions,
    ) -> Result<PartitionReceiver, Error> {
        PartitionReceiver::open(
            self.core.clone(),
            partition_id,
            &self.consumer_group,
            options,
        )
        .await
    }

    /// The hub's name, creation time and partition ids.
    #[tracing::instrument(name = "eventhubs.get_eventhub_properties", level = "debug", skip_all, fields(hub = %self.eventhub_name()))]
    pub async fn get_eventhub_properties(&self) -> Result<EventHubProperties, Error> {
        self.core.eventhub_properties().await
    }

    /// The hub's partition ids.
    pub async fn get_partition_ids(&self) -> Result<Vec<String>, Error> {
        Ok(self.core.eventhub_properties().await?.partition_ids)
    }

    /// A partition's sequence numbers, last offset and time, and whether it is empty.
    #[tracing::instrument(name = "eventhubs.get_partition_properties", level = "debug", skip_all, fields(hub = %self.eventhub_name(), partition = %partition_id))]
    pub async fn get_partition_properties(
        &self,
        partition_id: &str,
    ) -> Result<PartitionProperties, Error> {
        self.core.partition_properties(partition_id).await
    }

    /// Closes the connection and every receiver on it; later calls fail with
    /// [`ErrorKind::Closed`](crate::ErrorKind::Closed). Bounded by the operation timeout.
    pub async fn close(&self) {
        self.core.close().await;
    }
}
