//! [`Hub`]: the client of one event hub — construction from a connection string, the
//! environment or a token provider, the retry loop every operation shares, runtime
//! information, and close.

use std::future::Future;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use eventhubs_amqp::types::Value;
use eventhubs_protocol::connection_string::ConnectionString;
use eventhubs_protocol::constants as k;

use crate::auth::{SasTokenProvider, TokenProvider};
use crate::connection::{Endpoint, HubConnection, Live, Settings};
use crate::error::{Error, ErrorKind};
use crate::options::HubOptions;

/// A client of one event hub. Cheap to clone; every clone shares one AMQP connection,
/// which carries CBS, management, every sender and every receiver, and is reopened when
/// it fails.
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
    pub conn: HubConnection,
    pub options: HubOptions,
}

/// What `$management` says about the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// What `$management` says about a partition.
#[derive(Debug, Clone, PartialEq, Eq)]
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

const SERVICE_SUFFIX: &str = ".servicebus.windows.net";

impl Hub {
    /// A client from a connection string (`Endpoint`, `SharedAccessKeyName` +
    /// `SharedAccessKey` or `SharedAccessSignature`, `EntityPath`, and
    /// `UseDevelopmentEmulator=true` for plain AMQP to a local emulator). The hub is
    /// `EntityPath`, or [`HubOptions::hub_name`].
    pub fn from_connection_string(
        connection_string: &str,
        options: HubOptions,
    ) -> Result<Self, Error> {
        let cs = ConnectionString::parse(connection_string).map_err(|e| {
            Error::invalid(format!("invalid connection string: {e}")).with_source(e)
        })?;
        let hub = match (&cs.entity_path, &options.hub_name) {
            (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b) => {
                return Err(Error::invalid(format!(
                    "the connection string's EntityPath {a:?} and the hub name {b:?} differ"
                )))
            }
            (Some(h), _) | (None, Some(h)) => h.clone(),
            (None, None) => {
                return Err(Error::invalid(
                    "no event hub name: add EntityPath to the connection string or set HubOptions::hub_name",
                ))
            }
        };
        let provider: Arc<dyn TokenProvider> = match &options.token_provider {
            Some(p) => p.clone(),
            None => Arc::new(SasTokenProvider::from_connection_string(&cs)?),
        };
        let endpoint = Endpoint {
            host: cs.host.clone(),
            port: cs.effective_port(),
            dial: None,
            tls: !cs.use_emulator,
            authority: cs.authority(),
            hub,
        };
        Self::build(endpoint, provider, options)
    }

    /// A client of hub `hub` in `namespace` (a short name like `my-ns`, or a host like
    /// `my-ns.servicebus.windows.net`), authorized by `provider`, over AMQPS.
    pub fn new(
        namespace: &str,
        hub: &str,
        provider: Arc<dyn TokenProvider>,
        options: HubOptions,
    ) -> Result<Self, Error> {
        if namespace.is_empty() {
            return Err(Error::invalid("the namespace is empty"));
        }
        let host = if namespace.contains('.') {
            namespace.to_owned()
        } else {
            format!("{namespace}{SERVICE_SUFFIX}")
        };
        let endpoint = Endpoint {
            authority: host.clone(),
            host,
            port: 5671,
            dial: None,
            tls: true,
            hub: hub.to_owned(),
        };
        Self::build(endpoint, provider, options)
    }

    /// A client from the environment: `EVENTHUB_CONNECTION_STRING` (its `EntityPath`, or
    /// `EVENTHUB_NAME`), else `EVENTHUB_NAMESPACE` + `EVENTHUB_NAME` with
    /// `EVENTHUB_KEY_NAME` + `EVENTHUB_KEY_VALUE`.
    pub fn from_env(mut options: HubOptions) -> Result<Self, Error> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.is_empty());
        if options.hub_name.is_none() {
            options.hub_name = var("EVENTHUB_NAME");
        }
        if let Some(cs) = var("EVENTHUB_CONNECTION_STRING") {
            return Self::from_connection_string(&cs, options);
        }
        let namespace = var("EVENTHUB_NAMESPACE").ok_or_else(|| {
            Error::invalid(
                "set EVENTHUB_CONNECTION_STRING, or EVENTHUB_NAMESPACE and EVENTHUB_NAME",
            )
        })?;
        let hub = options
            .hub_name
            .clone()
            .ok_or_else(|| Error::invalid("EVENTHUB_NAMESPACE is set but EVENTHUB_NAME is not"))?;
        let provider = Arc::new(SasTokenProvider::from_env()?);
        Self::new(&namespace, &hub, provider, options)
    }

    fn build(
        mut endpoint: Endpoint,
        provider: Arc<dyn TokenProvider>,
        options: HubOptions,
    ) -> Result<Self, Error> {
        if endpoint.hub.trim().is_empty() {
            return Err(Error::invalid("the event hub name is empty"));
        }
        if let Some(p) = &options.partitioned_sender {
            if p.is_empty() {
                return Err(Error::invalid(
                    "the partitioned sender's partition id is empty",
                ));
            }
        }
        endpoint.dial.clone_from(&options.custom_endpoint);
        let settings = Settings {
            endpoint,
            provider,
            user_agent: options.user_agent.clone(),
            operation_timeout: options.operation_timeout,
        };
        Ok(Self {
            inner: Arc::new(HubInner {
                conn: HubConnection::new(settings),
                options,
            }),
        })
    }

    /// The event hub's name.
    pub fn name(&self) -> &str {
        &self.inner.conn.settings.endpoint.hub
    }

    /// The namespace host.
    pub fn namespace(&self) -> &str {
        &self.inner.conn.settings.endpoint.host
    }

    /// The options it was built with.
    pub fn options(&self) -> &HubOptions {
        &self.inner.options
    }

    /// Runs `op` on the live connection, retrying transient failures per the retry
    /// options; a failure that looks like a lost connection drops it so the next try
    /// reconnects.
    pub(crate) async fn with_retry<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, Error>
    where
        F: FnMut(Arc<Live>) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let retry = &self.inner.options.retry;
        let mut attempt = 0;
        loop {
            let result = match self.inner.conn.live().await {
                Ok(live) => {
                    let generation = live.generation;
                    let closed = live.connection.clone();
                    let r = op(live).await;
                    if r.as_ref()
                        .is_err_and(|e| e.kind() == ErrorKind::ConnectionLost)
                        || closed.is_closed()
                    {
                        self.inner.conn.invalidate(generation).await;
                    }
                    r
                }
                Err(e) => Err(e),
            };
            match result {
                Err(e) if e.is_transient() && attempt < retry.max_retries => {
                    let delay = retry.delay_for(attempt);
                    tracing::info!(what, attempt, ?delay, error = %e, "retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// The hub's name, creation time and partitions.
    pub async fn runtime_information(&self) -> Result<HubRuntimeInformation, Error> {
        let body = self.management_read(None).await?;
        let partition_ids: Vec<String> = match field(&body, "partition_ids") {
            Some(Value::Array(ids) | Value::List(ids)) => ids
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => return Err(bad_response("partition_ids")),
        };
        Ok(HubRuntimeInformation {
            path: field_str(&body, "name").unwrap_or_else(|| self.name().to_owned()),
            created_at: field_time(&body, "created_at").unwrap_or(UNIX_EPOCH),
            partition_count: partition_ids.len(),
            partition_ids,
        })
    }

    /// A partition's sequence numbers, last offset and time, and whether it is empty.
    pub async fn partition_information(
        &self,
        partition_id: &str,
    ) -> Result<PartitionInformation, Error> {
        let body = self.management_read(Some(partition_id)).await?;
        let long = |name: &str| {
            field(&body, name)
                .and_then(Value::as_i64)
                .ok_or_else(|| bad_response(name))
        };
        Ok(PartitionInformation {
            hub_path: field_str(&body, "name").unwrap_or_else(|| self.name().to_owned()),
            partition_id: partition_id.to_owned(),
            beginning_sequence_number: long("begin_sequence_number")?,
            last_sequence_number: long("last_enqueued_sequence_number")?,
            last_enqueued_offset: field_str(&body, "last_enqueued_offset")
                .ok_or_else(|| bad_response("last_enqueued_offset"))?,
            last_enqueued_time: field_time(&body, "last_enqueued_time_utc").unwrap_or(UNIX_EPOCH),
            is_empty: matches!(field(&body, "is_partition_empty"), Some(Value::Bool(true))),
        })
    }

    async fn management_read(&self, partition: Option<&str>) -> Result<Value, Error> {
        let hub = self.name().to_owned();
        let timeout = self.inner.options.operation_timeout;
        self.with_retry("management", |live| {
            let hub = hub.clone();
            async move {
                let mgmt = self.inner.conn.management(&live).await?;
                let mut props = vec![
                    (k::OPERATION.to_owned(), Value::from(k::READ)),
                    (k::NAME.to_owned(), Value::from(hub.as_str())),
                ];
                match partition {
                    Some(p) => {
                        props.push((k::TYPE.to_owned(), Value::from(k::PARTITION_TYPE)));
                        props.push((k::PARTITION.to_owned(), Value::from(p)));
                    }
                    None => props.push((k::TYPE.to_owned(), Value::from(k::EVENTHUB_TYPE))),
                }
                Ok(mgmt.call(props, Value::Null, timeout).await?.body)
            }
        })
        .await
    }

    /// Closes the connection and every link on it; later calls fail with
    /// [`ErrorKind::Closed`].
    pub async fn close(&self) {
        self.inner.conn.close().await;
    }
}

fn field<'a>(body: &'a Value, name: &str) -> Option<&'a Value> {
    match body {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(name))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn field_str(body: &Value, name: &str) -> Option<String> {
    match field(body, name)? {
        Value::String(s) => Some(s.clone()),
        other => other.as_i64().map(|n| n.to_string()),
    }
}

fn field_time(body: &Value, name: &str) -> Option<SystemTime> {
    match field(body, name)? {
        Value::Timestamp(t) => Some(crate::event::time_from_millis(t.0)),
        _ => None,
    }
}

fn bad_response(name: &str) -> Error {
    Error::new(
        ErrorKind::Service,
        format!("the management response has no valid {name}"),
    )
}
