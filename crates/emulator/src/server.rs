//! The accept loop: connection limit, graceful shutdown, and an in-process handle for
//! tests and examples.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use eventhubs_amqp_io::{TlsServerConfig, WebSocketStream};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use crate::config::Config;
use crate::connection::{self, Shared};
use crate::epochs::Epochs;
use crate::namespace::Namespace;

/// How long shutdown waits for connections to close before abandoning them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves AMQP on `listener` until `shutdown` resolves, then closes every connection with
/// `amqp:connection:forced` and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let ns = Namespace::open(config)?;
    run_with(listener, ns, shutdown).await
}

/// Like [`run`] with a namespace the caller keeps (to read counters, serve `/health`...).
pub async fn run_with(
    listener: TcpListener,
    ns: Arc<Namespace>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve(Listeners::new(listener), ns, shutdown).await
}

/// Like [`run_with`], also serving AMQP over TLS (AMQPS, the service's port 5671) on a
/// second listener.
pub async fn run_with_tls(
    listener: TcpListener,
    tls_listener: TcpListener,
    tls: TlsServerConfig,
    ns: Arc<Namespace>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve(
        Listeners::new(listener).amqps(tls_listener, tls),
        ns,
        shutdown,
    )
    .await
}

/// Like [`run_with`] on every listener of `listeners` (AMQP, AMQPS, WebSockets).
pub async fn run_on(
    listeners: Listeners,
    ns: Arc<Namespace>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve(listeners, ns, shutdown).await
}

/// How the clients of a listener speak.
#[derive(Debug, Clone)]
enum Transport {
    Amqp,
    Amqps(TlsServerConfig),
    /// AMQP over WebSockets, over TLS when there is a config.
    WebSocket(Option<TlsServerConfig>),
}

/// The sockets an emulator serves: AMQP, and optionally AMQPS and AMQP over WebSockets
/// (plain `ws://` and TLS `wss://`), all the same namespace.
#[derive(Debug)]
pub struct Listeners {
    listeners: Vec<(TcpListener, Transport)>,
    websocket_message_bytes: usize,
    /// The listener `accept` polls first.
    first: usize,
}

impl Listeners {
    /// AMQP on `listener`.
    pub fn new(listener: TcpListener) -> Self {
        Self {
            listeners: vec![(listener, Transport::Amqp)],
            websocket_message_bytes: eventhubs_amqp_io::websocket::DEFAULT_MAX_WRITE_MESSAGE,
            first: 0,
        }
    }

    /// Also AMQP over TLS on `listener`.
    pub fn amqps(mut self, listener: TcpListener, tls: TlsServerConfig) -> Self {
        self.listeners.push((listener, Transport::Amqps(tls)));
        self
    }

    /// Also AMQP over WebSockets on `listener` (`ws://host:port/$servicebus/websocket`),
    /// over TLS (`wss://`) when `tls` is given.
    pub fn websocket(mut self, listener: TcpListener, tls: Option<TlsServerConfig>) -> Self {
        self.listeners.push((listener, Transport::WebSocket(tls)));
        self
    }

    /// Writes WebSocket messages of at most `bytes` (default 64 KiB): a small size makes
    /// AMQP frames span messages, as some peers send them.
    pub fn websocket_message_bytes(mut self, bytes: usize) -> Self {
        self.websocket_message_bytes = bytes.max(1);
        self
    }

    /// The next accepted socket, with how it speaks (cancel-safe: `poll_accept` keeps no
    /// state between polls). The listener polled first rotates, so a flood on one port
    /// cannot keep the others from being accepted.
    async fn accept(&mut self) -> std::io::Result<(TcpStream, SocketAddr, Transport)> {
        std::future::poll_fn(|cx| {
            let n = self.listeners.len();
            for i in 0..n {
                let at = (self.first + i) % n;
                let (listener, transport) = &self.listeners[at];
                if let std::task::Poll::Ready(r) = listener.poll_accept(cx) {
                    self.first = (at + 1) % n;
                    return std::task::Poll::Ready(
                        r.map(|(stream, peer)| (stream, peer, transport.clone())),
                    );
                }
            }
            std::task::Poll::Pending
        })
        .await
    }
}

/// The emulator's AMQP service over any byte stream (in-memory pipes, WebSockets, fuzzing):
/// what the accept loop runs for each TCP or TLS connection.
#[derive(Debug, Clone)]
pub struct Service {
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
}

impl Service {
    /// A service over `ns`; connections it serves share epochs and receiver quotas.
    pub fn new(ns: Arc<Namespace>) -> Self {
        Self::with_stop(ns, watch::channel(false).1, None)
    }

    fn with_stop(
        ns: Arc<Namespace>,
        stop: watch::Receiver<bool>,
        open_connections: Option<Arc<Semaphore>>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                ns,
                epochs: Arc::new(Epochs::default()),
                open_connections,
            }),
            stop,
        }
    }

    /// Runs `upgrade` (a TLS or WebSocket handshake), bounded by `within` like the AMQP
    /// handshake that follows, then serves the connection on the stream it gives.
    async fn serve_upgraded<S>(
        &self,
        peer: SocketAddr,
        what: &'static str,
        within: Duration,
        upgrade: impl Future<Output = Result<S, eventhubs_amqp_io::Error>>,
    ) where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        match tokio::time::timeout(within, upgrade).await {
            Ok(Ok(stream)) => self.serve_connection(stream).await,
            Ok(Err(e)) => tracing::info!(%peer, error = %e, "{what} handshake failed"),
            Err(_) => tracing::info!(%peer, "{what} handshake not completed in time"),
        }
    }

    /// Serves one connection (starting with the client's protocol header) until the
    /// client closes it, it fails, or the emulator shuts down.
    pub async fn serve_connection<S>(&self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        connection::serve(stream, self.shared.clone(), self.stop.clone()).await;
    }
}

async fn serve(
    mut listeners: Listeners,
    ns: Arc<Namespace>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let max = ns.config.max_connections;
    let service = Service::with_stop(ns.clone(), stop_rx, Some(Arc::new(Semaphore::new(max))));
    // Sockets in all: the open connections and as many again in their handshake.
    let limit = Arc::new(Semaphore::new(max.saturating_mul(2)));
    let message_bytes = listeners.websocket_message_bytes;
    let mut refused = RefusalLog::default();
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listeners.accept() => a,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let (stream, peer, transport) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        backoff = Duration::from_millis(10);
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            refused.note(peer);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let handshake = ns.config.handshake_timeout;
        tasks.spawn(async move {
            tracing::debug!(%peer, ?transport, "accepted");
            match transport {
                Transport::Amqp => service.serve_connection(stream).await,
                Transport::Amqps(tls) => {
                    let upgrade = tls.accept(stream);
                    service
                        .serve_upgraded(peer, "TLS", handshake, upgrade)
                        .await;
                }
                Transport::WebSocket(None) => {
                    let upgrade = async {
                        let ws = WebSocketStream::accept(stream).await?;
                        Ok(ws.with_max_write_message(message_bytes))
                    };
                    service
                        .serve_upgraded(peer, "WebSocket", handshake, upgrade)
                        .await;
                }
                Transport::WebSocket(Some(tls)) => {
                    let upgrade = async {
                        let ws = WebSocketStream::accept(tls.accept(stream).await?).await?;
                        Ok(ws.with_max_write_message(message_bytes))
                    };
                    service
                        .serve_upgraded(peer, "TLS WebSocket", handshake, upgrade)
                        .await;
                }
            }
            drop(permit);
        });
    }
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
    Ok(())
}

/// Refused sockets, logged at most once a second (a flood must not become a flood of log
/// lines).
#[derive(Debug, Default)]
struct RefusalLog {
    since_last: u64,
    last: Option<std::time::Instant>,
}

impl RefusalLog {
    fn note(&mut self, peer: SocketAddr) {
        self.since_last += 1;
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_secs(1))
        {
            return;
        }
        tracing::warn!(
            %peer,
            refused = self.since_last,
            "socket limit reached (open connections plus handshakes); refusing connections"
        );
        self.since_last = 0;
        self.last = Some(std::time::Instant::now());
    }
}

/// The transports an in-process [`Emulator`] serves besides AMQP on TCP, each on a free
/// loopback port of its own.
///
/// ```no_run
/// # async fn demo(tls: eventhubs_amqp_io::TlsServerConfig) -> std::io::Result<()> {
/// use eventhubs_emulator::{Config, Emulator, Transports};
/// let em = Emulator::start_with(Config::default(), Transports::default().tls(tls).websocket()).await?;
/// println!("{:?} {:?}", em.websocket_url(), em.secure_websocket_url());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "setters return the changed value: use it"]
pub struct Transports {
    tls: Option<TlsServerConfig>,
    websocket: bool,
    websocket_message_bytes: Option<usize>,
}

impl Transports {
    /// AMQPS with this certificate (and `wss://` too, with [`Transports::websocket`]).
    pub fn tls(mut self, tls: TlsServerConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// AMQP over WebSockets: `ws://`, and `wss://` when TLS is configured.
    pub fn websocket(mut self) -> Self {
        self.websocket = true;
        self
    }

    /// WebSocket messages the emulator writes hold at most `bytes` (default 64 KiB).
    pub fn websocket_message_bytes(mut self, bytes: usize) -> Self {
        self.websocket_message_bytes = Some(bytes);
        self
    }
}

/// An emulator running in this process on `127.0.0.1:<free port>`; stops when dropped.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    ws_addr: Option<SocketAddr>,
    wss_addr: Option<SocketAddr>,
    namespace: Arc<Namespace>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Emulator {
    /// Starts an emulator with `config` on a free loopback port.
    pub async fn start(config: Config) -> std::io::Result<Self> {
        Self::start_inner(config, Transports::default(), "127.0.0.1:0").await
    }

    /// Starts an emulator with `config` on `addr` (e.g. `127.0.0.1:5672`, the AMQP port, so
    /// that connection strings need no port: some SDKs put a port into the namespace name
    /// they write in checkpoint blobs, where the others do not).
    pub async fn start_on(config: Config, addr: &str) -> std::io::Result<Self> {
        Self::start_inner(config, Transports::default(), addr).await
    }

    /// Like [`Emulator::start`], also serving AMQP over TLS on a second free port.
    pub async fn start_with_tls(config: Config, tls: TlsServerConfig) -> std::io::Result<Self> {
        Self::start_with(config, Transports::default().tls(tls)).await
    }

    /// Like [`Emulator::start`], also serving `transports`, each on a free port.
    pub async fn start_with(config: Config, transports: Transports) -> std::io::Result<Self> {
        Self::start_inner(config, transports, "127.0.0.1:0").await
    }

    async fn start_inner(
        config: Config,
        transports: Transports,
        addr: &str,
    ) -> std::io::Result<Self> {
        let free = || TcpListener::bind("127.0.0.1:0");
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let mut listeners = Listeners::new(listener);
        let (mut tls_addr, mut ws_addr, mut wss_addr) = (None, None, None);
        if let Some(tls) = &transports.tls {
            let l = free().await?;
            tls_addr = Some(l.local_addr()?);
            listeners = listeners.amqps(l, tls.clone());
        }
        if transports.websocket {
            let l = free().await?;
            ws_addr = Some(l.local_addr()?);
            listeners = listeners.websocket(l, None);
            if let Some(tls) = &transports.tls {
                let l = free().await?;
                wss_addr = Some(l.local_addr()?);
                listeners = listeners.websocket(l, Some(tls.clone()));
            }
        }
        if let Some(bytes) = transports.websocket_message_bytes {
            listeners = listeners.websocket_message_bytes(bytes);
        }
        let namespace = Namespace::open(config)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listeners, namespace.clone(), async {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            tls_addr,
            ws_addr,
            wss_addr,
            namespace,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The TLS listener's address, when started with TLS.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The plain WebSocket listener's address, when started with [`Transports::websocket`].
    pub fn websocket_addr(&self) -> Option<SocketAddr> {
        self.ws_addr
    }

    /// The TLS WebSocket listener's address, when started with WebSockets and TLS.
    pub fn secure_websocket_addr(&self) -> Option<SocketAddr> {
        self.wss_addr
    }

    /// `ws://localhost:{port}/$servicebus/websocket`, when serving WebSockets.
    pub fn websocket_url(&self) -> Option<String> {
        self.ws_addr.map(|a| websocket_url("ws", a))
    }

    /// `wss://localhost:{port}/$servicebus/websocket`, when serving WebSockets over TLS.
    pub fn secure_websocket_url(&self) -> Option<String> {
        self.wss_addr.map(|a| websocket_url("wss", a))
    }

    /// The namespace (hubs, partitions, counters).
    pub fn namespace(&self) -> &Arc<Namespace> {
        &self.namespace
    }

    /// A connection string for the first configured key, with `EntityPath` when given.
    pub fn connection_string(&self, entity_path: Option<&str>) -> String {
        connection_string(self.addr, &self.namespace.config, entity_path)
    }

    /// Stops accepting, closes connections, waits for the accept loop to end, then closes
    /// the durable store: once this returns, everything acknowledged is on disk and the
    /// data directory can be opened again.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.namespace.close_store(SHUTDOWN_GRACE).await;
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The URL of AMQP over WebSockets on `addr` (`scheme` `ws` or `wss`), named `localhost`
/// when on loopback or every address (a certificate for `localhost` then matches).
pub fn websocket_url(scheme: &str, addr: SocketAddr) -> String {
    format!(
        "{scheme}://{}:{}{}",
        host_name(addr),
        addr.port(),
        eventhubs_amqp_io::websocket::PATH
    )
}

fn host_name(addr: SocketAddr) -> String {
    // An unspecified address (`0.0.0.0`, `::`) is reachable on loopback too.
    if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        addr.ip().to_string()
    }
}

/// The connection string clients use for an emulator at `addr`.
pub fn connection_string(addr: SocketAddr, config: &Config, entity_path: Option<&str>) -> String {
    let (name, key) = config
        .keys
        .first()
        .map(|(n, k)| (n.as_str(), k.as_str()))
        .unwrap_or(("", ""));
    let host = host_name(addr);
    // The AMQP port is the default: left out, as in Microsoft's emulator's connection string.
    let port = match addr.port() {
        5672 => String::new(),
        p => format!(":{p}"),
    };
    let mut s = format!("Endpoint=sb://{host}{port};SharedAccessKeyName={name};SharedAccessKey={key};UseDevelopmentEmulator=true");
    if let Some(e) = entity_path {
        s.push_str(";EntityPath=");
        s.push_str(e);
    }
    s
}
