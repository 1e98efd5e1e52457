//! [`HubOptions`]: everything about a hub client that has a default.

use std::sync::Arc;
use std::time::Duration;

use crate::auth::TokenProvider;
use crate::client_options::ClientOptions;
use crate::cloud::Cloud;
use crate::persist::{CheckpointPersister, MemoryPersister};
use crate::retry::RetryOptions;
use crate::transport::TransportType;

/// Options of a [`Hub`](crate::Hub). `Default` gives: consumer group `$Default`, sends
/// to any partition, in-memory checkpoints, 3 retries from 200 ms, 60 s operation
/// timeout.
///
/// ```
/// use std::time::Duration;
/// use eventhubs::{FilePersister, HubOptions, RetryOptions};
/// let options = HubOptions::default()
///     .consumer_group("analytics")
///     .partitioned_sender("0")
///     .user_agent("my-app/1.0")
///     .retry(RetryOptions::default().max_retries(5))
///     .operation_timeout(Duration::from_secs(30));
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
#[must_use = "setters return the changed value: use it"]
pub struct HubOptions {
    pub(crate) hub_name: Option<String>,
    pub(crate) consumer_group: String,
    pub(crate) partitioned_sender: Option<String>,
    pub(crate) persister: Arc<dyn CheckpointPersister>,
    pub(crate) user_agent: Option<String>,
    pub(crate) custom_endpoint: Option<String>,
    pub(crate) retry: RetryOptions,
    pub(crate) operation_timeout: Duration,
    pub(crate) token_provider: Option<Arc<dyn TokenProvider>>,
    pub(crate) transport: TransportType,
    pub(crate) cloud: Option<Cloud>,
}

impl Default for HubOptions {
    fn default() -> Self {
        Self {
            hub_name: None,
            consumer_group: "$Default".into(),
            partitioned_sender: None,
            persister: Arc::new(MemoryPersister::new()),
            user_agent: None,
            custom_endpoint: None,
            retry: RetryOptions::default(),
            operation_timeout: Duration::from_secs(60),
            token_provider: None,
            transport: TransportType::AmqpTcp,
            cloud: None,
        }
    }
}

impl HubOptions {
    /// The event hub's name, for connection strings without `EntityPath` (if both are
    /// given they must agree).
    pub fn hub_name(mut self, name: impl Into<String>) -> Self {
        self.hub_name = Some(name.into());
        self
    }

    /// The consumer group receivers use (default `$Default`).
    pub fn consumer_group(mut self, group: impl Into<String>) -> Self {
        self.consumer_group = group.into();
        self
    }

    /// Pins every send of this hub client to one partition.
    #[doc(alias = "HubWithPartitionedSender")]
    pub fn partitioned_sender(mut self, partition_id: impl Into<String>) -> Self {
        self.partitioned_sender = Some(partition_id.into());
        self
    }

    /// Where receivers record and find checkpoints (default in memory).
    #[doc(alias = "HubWithOffsetPersistence")]
    pub fn checkpoint_persister(mut self, persister: Arc<dyn CheckpointPersister>) -> Self {
        self.persister = persister;
        self
    }

    /// Identifies the application in the connection's properties (`user-agent`).
    #[doc(alias = "HubWithUserAgent")]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Dials this `host:port` instead of the namespace (a proxy or port forward); the
    /// namespace still names the TLS server and token audiences.
    pub fn custom_endpoint(mut self, address: impl Into<String>) -> Self {
        self.custom_endpoint = Some(address.into());
        self
    }

    /// Retry policy for sends, receives and management calls.
    pub fn retry(mut self, retry: RetryOptions) -> Self {
        self.retry = retry;
        self
    }

    /// Sender retries (shorthand for `retry.max_retries`).
    #[doc(alias = "HubWithSenderMaxRetryCount")]
    pub fn sender_max_retries(mut self, n: u32) -> Self {
        self.retry.max_retries = n;
        self
    }

    /// Authorizes with `provider` instead of the connection string's key or signature
    /// (e.g. a JWT provider, or SAS tokens with a custom lifetime).
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.token_provider = Some(provider);
        self
    }

    /// The longest any single network operation may take (default 60 s): connecting,
    /// authorizing, attaching, a send's outcome, a management request.
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Connects over AMQP over WebSockets (port 443) instead of AMQP over TCP (5671).
    #[doc(alias = "HubWithWebSocketConnection")]
    pub fn websocket_connection(mut self) -> Self {
        self.transport = TransportType::AmqpWebSockets;
        self
    }

    /// The Azure cloud whose DNS suffix completes a short namespace name (`my-ns`).
    /// Default: the one `AZURE_ENVIRONMENT` names, else the public cloud.
    #[doc(alias = "HubWithEnvironment")]
    pub fn environment(mut self, cloud: Cloud) -> Self {
        self.cloud = Some(cloud);
        self
    }

    /// The 1.0 clients' options these amount to.
    pub(crate) fn client_options(&self) -> ClientOptions {
        let mut o = ClientOptions::default()
            .retry(self.retry.clone())
            .operation_timeout(self.operation_timeout);
        o.application_id.clone_from(&self.user_agent);
        o.custom_endpoint.clone_from(&self.custom_endpoint);
        o.token_provider.clone_from(&self.token_provider);
        o.transport = self.transport;
        o.cloud.clone_from(&self.cloud);
        o
    }
}
