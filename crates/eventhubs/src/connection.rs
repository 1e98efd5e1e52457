//! The hub's one multiplexed AMQP connection: opened lazily, replaced when it fails,
//! carrying CBS, management, every sender and every receiver. Tokens are put per link
//! audience and refreshed before they expire for as long as the connection lives.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig, SaslClient};
use eventhubs_amqp::types::Value;
use eventhubs_amqp_io::{Connection, Sender, Session, TlsConfig};
use eventhubs_protocol::constants as k;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::auth::TokenProvider;
use crate::error::Error;
use crate::rpc::{unique, RpcClient};

/// Where and how to connect.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// Host name (for TLS verification and audiences).
    pub host: String,
    /// Port.
    pub port: u16,
    /// TCP address to dial when it differs from `host:port` (custom endpoint).
    pub dial: Option<String>,
    /// AMQPS (TLS) or plain AMQP (the emulator).
    pub tls: bool,
    /// `host` or `host:port` as audiences spell it.
    pub authority: String,
    /// Event hub name.
    pub hub: String,
}

impl Endpoint {
    /// The CBS audience of an entity path below the hub (`""` for the hub itself).
    pub(crate) fn audience(&self, path: &str) -> String {
        if path.is_empty() {
            format!("sb://{}/{}", self.authority, self.hub)
        } else {
            format!("sb://{}/{}/{path}", self.authority, self.hub)
        }
    }
}

/// Settings of the connection.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub endpoint: Endpoint,
    pub provider: Arc<dyn TokenProvider>,
    pub user_agent: Option<String>,
    pub operation_timeout: Duration,
}

/// One open connection and what lives on it.
#[derive(Debug)]
pub(crate) struct Live {
    /// Increases with every new connection (stale handles compare it).
    pub generation: u64,
    pub connection: Connection,
    pub session: Session,
    cbs: RpcClient,
    management: Mutex<Option<Arc<RpcClient>>>,
    /// Attached senders by address (a plain mutex: looked up on every send, never held
    /// across an await).
    senders: std::sync::Mutex<HashMap<String, Sender>>,
    /// Audiences authorized on this connection, each with its refresh task.
    authorized: Mutex<HashMap<String, JoinHandle<()>>>,
}

impl Live {
    fn senders<T>(&self, f: impl FnOnce(&mut HashMap<String, Sender>) -> T) -> T {
        f(&mut self.senders.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Ok(tasks) = self.authorized.try_lock() {
            for t in tasks.values() {
                t.abort();
            }
        }
    }
}

/// The hub's connection manager.
#[derive(Debug)]
pub(crate) struct HubConnection {
    pub settings: Settings,
    /// The current connection, read without waiting on every operation.
    current: std::sync::RwLock<Option<Arc<Live>>>,
    /// Serializes opening, replacing and closing the connection.
    opening: Mutex<()>,
    generation: std::sync::atomic::AtomicU64,
    closed: std::sync::atomic::AtomicBool,
}

impl HubConnection {
    pub(crate) fn new(settings: Settings) -> Self {
        Self {
            settings,
            current: std::sync::RwLock::new(None),
            opening: Mutex::new(()),
            generation: std::sync::atomic::AtomicU64::new(0),
            closed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The open connection, opening a new one if there is none or it failed.
    pub(crate) async fn live(&self) -> Result<Arc<Live>, Error> {
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(Error::new(
                crate::ErrorKind::Closed,
                "the client was closed",
            ));
        }
        if let Some(live) = self.current().filter(|l| !l.connection.is_closed()) {
            return Ok(live);
        }
        let _opening = self.opening.lock().await;
        // Another caller may have reconnected while this one waited.
        if let Some(live) = self.current() {
            if !live.connection.is_closed() {
                return Ok(live);
            }
            tracing::info!(
                generation = live.generation,
                "connection lost; reconnecting"
            );
        }
        let live = Arc::new(self.open().await?);
        self.publish(Some(live.clone()));
        Ok(live)
    }

    fn current(&self) -> Option<Arc<Live>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the current connection; returns the one it replaced.
    fn publish(&self, live: Option<Arc<Live>>) -> Option<Arc<Live>> {
        std::mem::replace(
            &mut *self.current.write().unwrap_or_else(|p| p.into_inner()),
            live,
        )
    }

    /// Forgets `generation`'s connection (after an error on it) so the next call opens a
    /// new one.
    pub(crate) async fn invalidate(&self, generation: u64) {
        let _opening = self.opening.lock().await;
        if self.current().is_some_and(|l| l.generation == generation) {
            if let Some(old) = self.publish(None) {
                let _ = old.connection.close(None).await;
            }
        }
    }

    /// Closes the connection; later calls fail with `ErrorKind::Closed`.
    pub(crate) async fn close(&self) {
        self.closed
            .store(true, std::sync::atomic::Ordering::Release);
        let _opening = self.opening.lock().await;
        if let Some(live) = self.publish(None) {
            let _ = live.connection.close(None).await;
        }
    }

    async fn open(&self) -> Result<Live, Error> {
        let ep = &self.settings.endpoint;
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let mut properties = vec![
            (
                eventhubs_amqp::types::Symbol::from("product"),
                Value::from("eventhubs-rust"),
            ),
            (
                eventhubs_amqp::types::Symbol::from("version"),
                Value::from(env!("CARGO_PKG_VERSION")),
            ),
            (
                eventhubs_amqp::types::Symbol::from("platform"),
                Value::from(std::env::consts::OS),
            ),
        ];
        if let Some(ua) = &self.settings.user_agent {
            properties.push((
                eventhubs_amqp::types::Symbol::from("user-agent"),
                Value::from(ua.as_str()),
            ));
        }
        let config = ConnectionConfig::client(format!("eventhubs-rust-{}", unique()))
            .hostname(ep.host.clone())
            .sasl(SaslClient::Anonymous)
            .properties(properties);
        let addr = ep
            .dial
            .clone()
            .unwrap_or_else(|| format!("{}:{}", ep.host, ep.port));
        let timeout = self.settings.operation_timeout;
        let connect = async {
            if ep.tls {
                let tls = TlsConfig::webpki()?;
                Connection::connect_tls(&addr, &ep.host, config, &tls).await
            } else {
                Connection::connect_tcp(&addr, config).await
            }
        };
        let connection = tokio::time::timeout(timeout, connect).await.map_err(|_| {
            Error::new(
                crate::ErrorKind::Timeout,
                format!("connecting to {addr} took longer than {timeout:?}"),
            )
        })??;
        let session = connection.begin().await?;
        let cbs = RpcClient::open(&session, "$cbs").await?;
        tracing::debug!(%addr, generation, "connected");
        Ok(Live {
            generation,
            connection,
            session,
            cbs,
            management: Mutex::new(None),
            senders: std::sync::Mutex::new(HashMap::new()),
            authorized: Mutex::new(HashMap::new()),
        })
    }

    /// Puts a token for `audience` on `live` (once per connection) and keeps it fresh.
    pub(crate) async fn authorize(&self, live: &Arc<Live>, audience: &str) -> Result<(), Error> {
        let mut authorized = live.authorized.lock().await;
        if authorized.contains_key(audience) {
            return Ok(());
        }
        let expires_at = put_token(&self.settings, &live.cbs, audience).await?;
        let refresher = tokio::spawn(refresh_loop(
            self.settings.clone(),
            Arc::downgrade(live),
            audience.to_owned(),
            expires_at,
        ));
        authorized.insert(audience.to_owned(), refresher);
        Ok(())
    }

    /// A sender to `address` (`<hub>` or `<hub>/Partitions/<id>`) on `live`, attached and
    /// authorized on first use and reused after.
    pub(crate) async fn sender(&self, live: &Arc<Live>, address: &str) -> Result<Sender, Error> {
        if let Some(s) = live.senders(|m| m.get(address).cloned()) {
            return Ok(s);
        }
        let path = address
            .strip_prefix(&self.settings.endpoint.hub)
            .unwrap_or("")
            .trim_start_matches('/');
        self.authorize(live, &self.settings.endpoint.audience(path))
            .await?;
        let sender = live
            .session
            .attach_sender(LinkConfig::sender(
                format!("sender-{}", unique()),
                address.to_owned(),
            ))
            .await?;
        live.senders(|m| m.insert(address.to_owned(), sender.clone()));
        Ok(sender)
    }

    /// Drops a cached sender (after its link failed).
    pub(crate) fn forget_sender(&self, live: &Live, address: &str) {
        live.senders(|m| m.remove(address));
    }

    /// The `$management` client on `live`.
    pub(crate) async fn management(&self, live: &Arc<Live>) -> Result<Arc<RpcClient>, Error> {
        self.authorize(live, &self.settings.endpoint.audience(""))
            .await?;
        let mut slot = live.management.lock().await;
        if let Some(m) = slot.as_ref() {
            return Ok(m.clone());
        }
        let m = Arc::new(RpcClient::open(&live.session, "$management").await?);
        *slot = Some(m.clone());
        Ok(m)
    }
}

/// Gets a token for `audience` and puts it on `$cbs`; returns its expiry.
async fn put_token(
    settings: &Settings,
    cbs: &RpcClient,
    audience: &str,
) -> Result<SystemTime, Error> {
    let token = settings.provider.get_token(audience).await?;
    // An AMQP timestamp in milliseconds (docs/PROTOCOL.md §2.4), as Python and .NET send it.
    let expiration = token
        .expires_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    cbs.call(
        vec![
            (k::OPERATION.to_owned(), Value::from(k::PUT_TOKEN)),
            (k::TYPE.to_owned(), Value::from(token.kind.cbs_type())),
            (k::NAME.to_owned(), Value::from(audience)),
            (
                k::EXPIRATION.to_owned(),
                Value::Timestamp(eventhubs_amqp::types::Timestamp(expiration)),
            ),
        ],
        Value::String(token.value),
        settings.operation_timeout,
    )
    .await
    .map_err(|e| {
        tracing::warn!(%audience, error = %e, "token refused");
        e
    })?;
    tracing::debug!(%audience, "token accepted");
    Ok(token.expires_at)
}

/// When to renew a token that expires in `remaining`: with a fifth of its life left (at
/// most 5 minutes early, at least 1 second before).
fn renew_after(remaining: Duration) -> Duration {
    let margin = (remaining / 5).min(Duration::from_secs(300));
    remaining.saturating_sub(margin.max(Duration::from_secs(1).min(remaining)))
}

/// Renews `audience`'s token before each expiry while the connection lives.
async fn refresh_loop(
    settings: Settings,
    live: std::sync::Weak<Live>,
    audience: String,
    mut expires_at: SystemTime,
) {
    loop {
        let remaining = expires_at
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        tokio::time::sleep(renew_after(remaining)).await;
        let Some(live) = live.upgrade() else { return };
        match put_token(&settings, &live.cbs, &audience).await {
            Ok(next) if next > expires_at => {
                tracing::debug!(%audience, "token renewed");
                expires_at = next;
            }
            Ok(_) => {
                tracing::warn!(%audience, "the token provider returned no later expiry (a fixed signature?); links end when it expires");
                return;
            }
            Err(e) => {
                tracing::warn!(%audience, error = %e, "token renewal failed; retrying in 1 s");
                if SystemTime::now() >= expires_at {
                    return;
                }
                drop(live);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renewal happens with a fifth of the lifetime left, at most five minutes early.
    #[test]
    fn renewal_schedule() {
        assert_eq!(
            renew_after(Duration::from_secs(3600)),
            Duration::from_secs(3300)
        );
        assert_eq!(renew_after(Duration::from_secs(10)), Duration::from_secs(8));
        assert_eq!(renew_after(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(renew_after(Duration::ZERO), Duration::ZERO);
    }
}
