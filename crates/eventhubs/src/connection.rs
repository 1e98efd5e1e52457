//! The client's one multiplexed AMQP connection: opened on first use and replaced when it
//! fails, carrying CBS, management, every sender and every receiver. Tokens are put per
//! link audience and renewed before they expire for as long as the connection lives.
//!
//! Every piece of setup (connecting, a token, a sender, the management link) is made once
//! by a task of its own and bounded by the operation timeout; callers wait for it under
//! their own timeout (see `shared`). No lock is held across a network wait.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig, SaslClient};
use eventhubs_amqp::types::{Symbol, Value};
use eventhubs_amqp_io::{Connection, Sender, Session, TlsConfig};
use eventhubs_protocol::cbs::{PutToken, CBS_NODE};
use eventhubs_protocol::management::MANAGEMENT_NODE;
use tracing::Instrument;

use crate::auth::TokenProvider;
use crate::error::{Error, ErrorKind};
use crate::proxy::ProxyOptions;
use crate::rpc::{unique, RpcClient};
use crate::shared::Slots;
use crate::transport::TransportType;
use eventhubs_amqp_io::proxy::connect_tunnel;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// Host name (for TLS verification and audiences).
    pub host: String,
    /// The port the connection string names (else the transport's default).
    pub port: Option<u16>,
    /// TCP address to dial when it differs from `host:port` (custom endpoint).
    pub dial: Option<String>,
    /// TLS, or plain (the emulator).
    pub tls: bool,
    /// TCP or WebSockets.
    pub transport: TransportType,
    /// The HTTP proxy to tunnel through (WebSockets only).
    pub proxy: Option<ProxyOptions>,
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

    /// The address to dial.
    fn dial_address(&self) -> String {
        self.dial
            .clone()
            .unwrap_or_else(|| format!("{}:{}", self.host, self.port()))
    }

    fn port(&self) -> u16 {
        self.port
            .unwrap_or_else(|| self.transport.default_port(self.tls))
    }

    /// The WebSocket URL: the namespace's name (what a proxy or the service routes by) and
    /// the port dialed.
    fn websocket_url(&self) -> String {
        let port = self
            .dial
            .as_deref()
            .and_then(|d| d.rsplit_once(':'))
            .and_then(|(_, p)| p.parse().ok())
            .unwrap_or_else(|| self.port());
        let scheme = if self.tls { "wss" } else { "ws" };
        format!(
            "{scheme}://{}:{port}{}",
            self.host,
            eventhubs_amqp_io::websocket::PATH
        )
    }
}

/// Settings of the connection.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub endpoint: Endpoint,
    pub provider: Arc<dyn TokenProvider>,
    pub application_id: Option<String>,
    pub operation_timeout: Duration,
    /// TLS roots when the endpoint uses TLS (built once, with the client).
    pub tls: Option<TlsConfig>,
}

/// One open connection and what lives on it.
#[derive(Debug)]
pub(crate) struct Live {
    /// Increases with every new connection (stale handles compare it).
    pub generation: u64,
    pub connection: Connection,
    pub session: Session,
    cbs: RpcClient,
    management: Slots<Arc<RpcClient>>,
    /// Attached senders by address.
    senders: Slots<Sender>,
    /// Audiences authorized on this connection (each renewed by a task of its own).
    authorized: Slots<()>,
}

/// The connection manager shared by a client's clones.
#[derive(Debug)]
pub(crate) struct HubConnection {
    pub settings: Settings,
    live: Slots<Arc<Live>>,
    generation: Arc<AtomicU64>,
    closed: Arc<AtomicBool>,
}

impl HubConnection {
    pub(crate) fn new(settings: Settings) -> Self {
        Self {
            settings,
            live: Slots::default(),
            generation: Arc::default(),
            closed: Arc::default(),
        }
    }

    fn timeout(&self) -> Duration {
        self.settings.operation_timeout
    }

    fn closed_error() -> Error {
        Error::new(ErrorKind::Closed, "the client was closed")
    }

    /// The open connection, opening a new one if there is none or it failed. Cancel-safe.
    pub(crate) async fn live(&self) -> Result<Arc<Live>, Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Self::closed_error());
        }
        // The common case, on every operation: no allocation, one uncontended lock.
        if let Some(live) = self.live.ready("", |l| !l.connection.is_closed()) {
            return Ok(live);
        }
        let (settings, generation, closed) = (
            self.settings.clone(),
            self.generation.clone(),
            self.closed.clone(),
        );
        let what = format!("connecting to {}", self.settings.endpoint.dial_address());
        self.live
            .get_or_make(
                "",
                |l| !l.connection.is_closed(),
                self.timeout(),
                self.timeout(),
                &what,
                move || {
                    let span = tracing::info_span!(
                        "eventhubs.connection",
                        host = %settings.endpoint.host,
                        hub = %settings.endpoint.hub,
                        generation = tracing::field::Empty,
                    );
                    open(settings, generation, closed).instrument(span)
                },
            )
            .await
    }

    /// Forgets `generation`'s connection (after an error on it) so the next call opens a
    /// new one; the old one is closed in the background.
    pub(crate) fn invalidate(&self, generation: u64) {
        if let Some(old) = self.live.remove_if("", |l| l.generation == generation) {
            tracing::info!(generation, "connection lost; the next operation reconnects");
            let timeout = self.timeout();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(timeout, old.connection.close(None)).await;
            });
        }
    }

    /// Closes the connection; later calls fail with `ErrorKind::Closed`. Bounded by the
    /// operation timeout.
    pub(crate) async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        for live in self.live.take_all() {
            let _ = tokio::time::timeout(self.timeout(), live.connection.close(None)).await;
        }
    }

    /// Makes sure `audience` is authorized on `live` (a token put once per connection, then
    /// renewed). Cancel-safe.
    pub(crate) async fn authorize(&self, live: &Arc<Live>, audience: &str) -> Result<(), Error> {
        authorize(&self.settings, live, audience).await
    }

    /// A sender to `address` (`<hub>` or `<hub>/Partitions/<id>`) on `live`, authorized and
    /// attached on first use and reused after. Cancel-safe.
    pub(crate) async fn sender(&self, live: &Arc<Live>, address: &str) -> Result<Sender, Error> {
        if let Some(s) = live.senders.ready(address, |s| !s.is_detached()) {
            return Ok(s);
        }
        let path = address
            .strip_prefix(&self.settings.endpoint.hub)
            .unwrap_or("")
            .trim_start_matches('/');
        let audience = self.settings.endpoint.audience(path);
        let (settings, live2, address2) = (self.settings.clone(), live.clone(), address.to_owned());
        live.senders
            .get_or_make(
                address,
                |s| !s.is_detached(),
                self.timeout(),
                self.timeout(),
                &format!("attaching a sender to {address}"),
                move || {
                    let link = format!("sender-{}", unique());
                    let span = tracing::debug_span!(
                        "eventhubs.attach_sender",
                        hub = %settings.endpoint.hub,
                        address = %address2,
                        link = %link,
                        generation = live2.generation,
                    );
                    async move {
                        authorize(&settings, &live2, &audience).await?;
                        let config = LinkConfig::sender(link, address2.clone());
                        let sender = live2.session.attach_sender(config).await?;
                        tracing::debug!("sender attached");
                        Ok(sender)
                    }
                    .instrument(span)
                },
            )
            .await
    }

    /// Drops a cached sender (after its link failed).
    pub(crate) fn forget_sender(&self, live: &Live, address: &str) {
        live.senders.remove_if(address, |_| true);
    }

    /// The `$management` client on `live`. Cancel-safe.
    pub(crate) async fn management(&self, live: &Arc<Live>) -> Result<Arc<RpcClient>, Error> {
        let (settings, live2) = (self.settings.clone(), live.clone());
        live.management
            .get_or_make(
                "",
                |m| m.is_open(),
                self.timeout(),
                self.timeout(),
                "opening the management link",
                move || async move {
                    authorize(&settings, &live2, &settings.endpoint.audience("")).await?;
                    Ok(Arc::new(
                        RpcClient::open(&live2.session, MANAGEMENT_NODE).await?,
                    ))
                },
            )
            .await
    }
}

/// Opens a connection: TCP or TLS, SASL and open, one session, the `$cbs` link.
async fn open(
    settings: Settings,
    generation: Arc<AtomicU64>,
    closed: Arc<AtomicBool>,
) -> Result<Arc<Live>, Error> {
    let ep = &settings.endpoint;
    let generation = generation.fetch_add(1, Ordering::Relaxed) + 1;
    let mut properties = vec![
        (Symbol::from("product"), Value::from("eventhubs-rust")),
        (
            Symbol::from("version"),
            Value::from(env!("CARGO_PKG_VERSION")),
        ),
        (Symbol::from("platform"), Value::from(std::env::consts::OS)),
    ];
    if let Some(id) = &settings.application_id {
        properties.push((Symbol::from("user-agent"), Value::from(id.as_str())));
    }
    let config = ConnectionConfig::client(format!("eventhubs-rust-{}", unique()))
        .hostname(ep.host.clone())
        .sasl(SaslClient::Anonymous)
        .properties(properties);
    let addr = ep.dial_address();
    // Present exactly when the endpoint uses TLS; verified against the namespace's name.
    let tls = settings.tls.as_ref().map(|tls| (ep.host.as_str(), tls));
    let connection = match (ep.transport, tls, &ep.proxy) {
        (_, tls, Some(proxy)) => {
            let tunnel = connect_tunnel(proxy.address(), &addr, proxy.basic_credentials()).await?;
            tracing::debug!(proxy = proxy.address(), %addr, "tunnel open");
            Connection::open_websocket_on(tunnel, &ep.websocket_url(), tls, config).await?
        }
        (TransportType::AmqpWebSockets, tls, None) => {
            Connection::connect_websocket(&addr, &ep.websocket_url(), tls, config).await?
        }
        (_, Some((name, tls)), None) => Connection::connect_tls(&addr, name, config, tls).await?,
        (_, None, None) => Connection::connect_tcp(&addr, config).await?,
    };
    let session = connection.begin().await?;
    let cbs = RpcClient::open(&session, CBS_NODE).await?;
    if closed.load(Ordering::Acquire) {
        let _ = connection.close(None).await;
        return Err(HubConnection::closed_error());
    }
    tracing::debug!(%addr, generation, "connected");
    tracing::Span::current().record("generation", generation);
    Ok(Arc::new(Live {
        generation,
        connection,
        session,
        cbs,
        management: Slots::default(),
        senders: Slots::default(),
        authorized: Slots::default(),
    }))
}

/// Puts a token for `audience` on `live` once, and starts its renewal.
async fn authorize(settings: &Settings, live: &Arc<Live>, audience: &str) -> Result<(), Error> {
    if live.authorized.ready(audience, |_| true).is_some() {
        return Ok(());
    }
    let (settings2, live2, audience2) = (settings.clone(), live.clone(), audience.to_owned());
    live.authorized
        .get_or_make(
            audience,
            |_| true,
            settings.operation_timeout,
            settings.operation_timeout,
            &format!("authorizing {audience}"),
            move || async move {
                let expires_at = put_token(&settings2, &live2.cbs, &audience2).await?;
                let span = tracing::info_span!(
                    "eventhubs.token_renewal",
                    hub = %settings2.endpoint.hub,
                    audience = %audience2,
                    generation = live2.generation,
                );
                tokio::spawn(
                    refresh_loop(settings2, Arc::downgrade(&live2), audience2, expires_at)
                        .instrument(span),
                );
                Ok(())
            },
        )
        .await
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
    let put = PutToken {
        token_type: token.kind.cbs_type().to_owned(),
        audience: audience.to_owned(),
        expiration_ms: Some(expiration),
        token: token.value,
    };
    cbs.call(put.into_parts(), settings.operation_timeout)
        .await
        .map_err(|e| {
            tracing::warn!(%audience, error = %e, "token refused");
            e
        })?;
    tracing::debug!(%audience, "token accepted");
    Ok(token.expires_at)
}

/// When to renew a token that expires in `remaining`: with half of it left, at most ten
/// minutes early (at least 1 second before). The margin is what an outage of the token
/// source may last without a link lapsing; Entra ID credentials refresh their cached token
/// a little before this point, so a renewal always finds a new token.
fn renew_after(remaining: Duration) -> Duration {
    let margin = (remaining / 2).min(Duration::from_secs(600));
    remaining.saturating_sub(margin.max(Duration::from_secs(1).min(remaining)))
}

/// Renews `audience`'s token before each expiry while the connection lives. The schedule
/// runs on tokio's clock (a token's remaining lifetime is taken when it is issued), so it
/// follows a paused test clock.
///
/// Whatever the provider returns is put: a token with no later expiry than the last one
/// (a fixed signature, or a frozen wall clock under a paused test clock) still restarts the
/// service's count of its remaining life. For a fixed signature that means a few puts as its
/// end nears (each at four fifths of what is left, at least a second apart) and then the
/// links end with it, as the warning says.
async fn refresh_loop(
    settings: Settings,
    live: Weak<Live>,
    audience: String,
    mut expires_at: SystemTime,
) {
    let lifetime = |at: SystemTime| at.duration_since(SystemTime::now()).unwrap_or_default();
    let mut valid_until = tokio::time::Instant::now() + lifetime(expires_at);
    let mut warned_not_later = false;
    let mut failed_tries: u32 = 0;
    loop {
        let wait = if failed_tries == 0 {
            let remaining = valid_until.saturating_duration_since(tokio::time::Instant::now());
            renew_after(remaining).max(MIN_RENEWAL_GAP)
        } else {
            // Retry a failed renewal soon, backing off: 1, 2, 4 … 30 s.
            MIN_RENEWAL_GAP
                .saturating_mul(1 << (failed_tries - 1).min(5))
                .min(Duration::from_secs(30))
        };
        tokio::time::sleep(wait).await;
        let Some(live) = live.upgrade() else { return };
        match put_token(&settings, &live.cbs, &audience).await {
            Ok(next) => {
                if next > expires_at {
                    tracing::debug!(%audience, "token renewed");
                } else if !warned_not_later {
                    warned_not_later = true;
                    tracing::warn!(%audience, "the token provider returned no later expiry (a fixed signature, or its token service is failing); asking again before it expires");
                }
                valid_until = tokio::time::Instant::now() + lifetime(next);
                expires_at = next;
                failed_tries = 0;
            }
            Err(e) => {
                if tokio::time::Instant::now() >= valid_until {
                    tracing::warn!(%audience, error = %e, "token renewal failed and the token expired");
                    return;
                }
                failed_tries = failed_tries.saturating_add(1);
                tracing::warn!(%audience, error = %e, attempt = failed_tries, "token renewal failed; retrying while the current token is valid");
            }
        }
    }
}

/// The shortest time between two puts of one audience's token.
const MIN_RENEWAL_GAP: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    /// Renewal happens with half the lifetime left, at most ten minutes early.
    #[test]
    fn renewal_schedule() {
        assert_eq!(
            renew_after(Duration::from_secs(3600)),
            Duration::from_secs(3000)
        );
        assert_eq!(renew_after(Duration::from_secs(10)), Duration::from_secs(5));
        assert_eq!(renew_after(Duration::from_secs(2)), Duration::from_secs(1));
        assert_eq!(renew_after(Duration::ZERO), Duration::ZERO);
    }
}
