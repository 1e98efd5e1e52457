//! The core every client shares: where the hub is and how to authorize (from a connection
//! string, a namespace and token provider, or the environment), the connection manager,
//! the retry loop, and the management requests.

use std::future::Future;
use std::sync::Arc;

use eventhubs_amqp::types::Value;
use eventhubs_protocol::connection_string::ConnectionString;
use eventhubs_protocol::management::ReadRequest;

use crate::auth::{SasTokenProvider, TokenProvider};
use crate::client_options::ClientOptions;
use crate::cloud::Cloud;
use crate::connection::{Endpoint, HubConnection, Live, Settings};
use crate::error::{Error, ErrorKind};
use crate::identity::{CredentialOptions, EnvironmentCredential};
use crate::properties::{EventHubProperties, PartitionProperties};
use crate::proxy::ProxyOptions;
use crate::retry::RetryOptions;
use crate::transport::TransportType;

/// One event hub's connection and retry policy; clients hold it in an `Arc`.
#[derive(Debug)]
pub(crate) struct ClientCore {
    pub conn: HubConnection,
    pub retry: RetryOptions,
}

impl ClientCore {
    /// From a connection string; the hub is its `EntityPath`, or `hub` (both given: they
    /// must agree).
    pub(crate) fn from_connection_string(
        connection_string: &str,
        hub: Option<&str>,
        options: &ClientOptions,
    ) -> Result<Self, Error> {
        let cs = ConnectionString::parse(connection_string).map_err(|e| {
            Error::invalid(format!("invalid connection string: {e}")).with_source(e)
        })?;
        let hub = match (cs.entity_path.as_deref(), hub) {
            (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b) => {
                return Err(Error::invalid(format!(
                    "the connection string's EntityPath {a:?} and the event hub name {b:?} differ"
                )))
            }
            (Some(h), _) | (None, Some(h)) => h.to_owned(),
            (None, None) => {
                return Err(Error::invalid(
                    "no event hub name: add EntityPath=<hub> to the connection string, or pass the hub's name",
                ))
            }
        };
        let provider: Arc<dyn TokenProvider> = match &options.token_provider {
            Some(p) => p.clone(),
            None => Arc::new(SasTokenProvider::from_connection_string(&cs)?),
        };
        let endpoint = Endpoint {
            host: cs.host.clone(),
            port: cs.port,
            dial: None,
            tls: !cs.use_emulator,
            transport: options.transport,
            proxy: None,
            authority: cs.authority(),
            hub,
        };
        Self::build(endpoint, provider, options)
    }

    /// Hub `hub` in `namespace` (`my-ns`, or a host such as `my-ns.servicebus.windows.net`),
    /// authorized by `provider`, over AMQPS.
    pub(crate) fn new(
        namespace: &str,
        hub: &str,
        provider: Arc<dyn TokenProvider>,
        options: &ClientOptions,
    ) -> Result<Self, Error> {
        if namespace.trim().is_empty() {
            return Err(Error::invalid("the namespace is empty"));
        }
        let host = if namespace.contains('.') {
            namespace.to_owned()
        } else {
            let cloud = match &options.cloud {
                Some(c) => c.clone(),
                None => Cloud::from_env()?,
            };
            format!("{namespace}{}", cloud.namespace_suffix())
        };
        let endpoint = Endpoint {
            authority: host.clone(),
            host,
            port: None,
            dial: None,
            tls: true,
            transport: options.transport,
            proxy: None,
            hub: hub.to_owned(),
        };
        Self::build(endpoint, provider, options)
    }

    /// From the environment: `EVENTHUB_CONNECTION_STRING` (with `EntityPath`, or
    /// `EVENTHUB_NAME`), else `EVENTHUB_NAMESPACE` + `EVENTHUB_NAME` with
    /// `EVENTHUB_KEY_NAME` + `EVENTHUB_KEY_VALUE`, else with the Entra ID credential the
    /// `AZURE_*` variables describe ([`EnvironmentCredential`]). `hub` overrides
    /// `EVENTHUB_NAME`.
    ///
    /// [`EnvironmentCredential`]: crate::identity::EnvironmentCredential
    pub(crate) fn from_env(hub: Option<&str>, options: &ClientOptions) -> Result<Self, Error> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        let hub = hub.map(str::to_owned).or_else(|| var("EVENTHUB_NAME"));
        if let Some(cs) = var("EVENTHUB_CONNECTION_STRING") {
            return Self::from_connection_string(&cs, hub.as_deref(), options);
        }
        let namespace = var("EVENTHUB_NAMESPACE").ok_or_else(|| {
            Error::invalid(
                "set EVENTHUB_CONNECTION_STRING, or EVENTHUB_NAMESPACE and EVENTHUB_NAME",
            )
        })?;
        let hub = hub
            .ok_or_else(|| Error::invalid("EVENTHUB_NAMESPACE is set but EVENTHUB_NAME is not"))?;
        let sas = var("EVENTHUB_KEY_NAME").is_some() || var("EVENTHUB_KEY_VALUE").is_some();
        let provider: Arc<dyn TokenProvider> = match &options.token_provider {
            Some(p) => p.clone(),
            None if sas => Arc::new(SasTokenProvider::from_env()?),
            None => Arc::new(EnvironmentCredential::from_env(
                CredentialOptions::for_client(options),
            )?),
        };
        Self::new(&namespace, &hub, provider, options)
    }

    fn build(
        mut endpoint: Endpoint,
        provider: Arc<dyn TokenProvider>,
        options: &ClientOptions,
    ) -> Result<Self, Error> {
        if endpoint.hub.trim().is_empty() {
            return Err(Error::invalid("the event hub name is empty"));
        }
        if options.operation_timeout.is_zero() {
            return Err(Error::invalid(
                "the operation timeout must be more than zero",
            ));
        }
        endpoint.dial.clone_from(&options.custom_endpoint);
        endpoint.proxy = match &options.proxy {
            Some(p) => Some(p.clone()).filter(|p| p.applies_to(&endpoint.host)),
            None => ProxyOptions::from_env(&endpoint.host)?,
        };
        if endpoint.proxy.is_some() {
            // Proxies commonly tunnel to 443 only: a proxy means WebSockets.
            endpoint.transport = TransportType::AmqpWebSockets;
        }
        let tls = if endpoint.tls {
            Some(crate::transport::tls_config(&options.extra_roots)?)
        } else {
            None
        };
        let settings = Settings {
            endpoint,
            provider,
            application_id: options.application_id.clone(),
            operation_timeout: options.operation_timeout,
            tls,
        };
        Ok(Self {
            conn: HubConnection::new(settings),
            retry: options.retry.clone(),
        })
    }

    /// The event hub's name.
    pub(crate) fn hub(&self) -> &str {
        &self.conn.settings.endpoint.hub
    }

    /// The namespace host.
    pub(crate) fn namespace(&self) -> &str {
        &self.conn.settings.endpoint.host
    }

    /// Runs `op` on the live connection, retrying transient failures per the retry
    /// options; a failure that looks like a lost connection drops it so the next try
    /// reconnects. Cancel-safe as far as `op` is.
    pub(crate) async fn with_retry<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, Error>
    where
        F: FnMut(Arc<Live>) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let mut attempt = 0;
        loop {
            let result = match self.conn.live().await {
                Ok(live) => {
                    let held = live.clone();
                    let r = op(live).await;
                    if r.as_ref()
                        .is_err_and(|e| e.kind() == ErrorKind::ConnectionLost)
                        || held.connection.is_closed()
                    {
                        self.conn.invalidate(held.generation);
                    }
                    r
                }
                Err(e) => Err(e),
            };
            match result {
                Err(e) if e.is_transient() && attempt < self.retry.max_retries => {
                    let delay = self.retry.delay_for(attempt);
                    tracing::info!(what, attempt, ?delay, error = %e, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The hub's name, creation time and partitions.
    pub(crate) async fn eventhub_properties(&self) -> Result<EventHubProperties, Error> {
        let subject = format!("reading the properties of {}", self.hub());
        let body = self
            .management_read(None)
            .await
            .map_err(|e| e.explain(&subject))?;
        EventHubProperties::from_response(&body, self.hub()).map_err(|e| e.explain(&subject))
    }

    /// A partition's sequence numbers, last offset and time, and whether it is empty.
    pub(crate) async fn partition_properties(
        &self,
        partition_id: &str,
    ) -> Result<PartitionProperties, Error> {
        if partition_id.is_empty() {
            return Err(Error::invalid("the partition id is empty"));
        }
        let subject = format!(
            "reading the properties of partition {partition_id} of {}",
            self.hub()
        );
        let body = self
            .management_read(Some(partition_id))
            .await
            .map_err(|e| e.explain(&subject))?;
        PartitionProperties::from_response(&body, self.hub(), partition_id)
            .map_err(|e| e.explain(&subject))
    }

    /// Warns when a checkpoint to resume from is past the partition's last event: nothing
    /// is received until new events pass it, which is usually a sign that the hub was
    /// deleted and created again, or that the checkpoint belongs to another hub.
    pub(crate) async fn warn_if_checkpoint_past_end(
        &self,
        consumer_group: &str,
        partition_id: &str,
        checkpoint: i64,
    ) {
        match self.partition_properties(partition_id).await {
            Ok(p) if checkpoint > p.last_enqueued_sequence_number => tracing::warn!(
                hub = %self.hub(),
                consumer_group,
                partition = partition_id,
                checkpoint,
                last_enqueued = p.last_enqueued_sequence_number,
                "the checkpoint is past the end of the partition: no event is received until \
                 the partition passes it (was the hub recreated, or is the checkpoint another \
                 hub's?)"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "could not compare the checkpoint with the partition's end")
            }
        }
    }

    async fn management_read(&self, partition: Option<&str>) -> Result<Value, Error> {
        let hub = self.hub().to_owned();
        let timeout = self.conn.settings.operation_timeout;
        self.with_retry("management request", |live| {
            let hub = hub.clone();
            async move {
                let mgmt = self.conn.management(&live).await?;
                let read = ReadRequest {
                    hub,
                    partition: partition.map(str::to_owned),
                };
                Ok(mgmt.call(read.into_parts(), timeout).await?.body)
            }
        })
        .await
    }

    /// Closes the connection and every link on it; later calls fail with
    /// [`ErrorKind::Closed`]. Bounded by the operation timeout.
    pub(crate) async fn close(&self) {
        self.conn.close().await;
    }
}
