//! The accept loop: connection limit, graceful shutdown, and an in-process handle for
//! tests and examples.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use eventhubs_amqp_io::TlsServerConfig;
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
    serve(listener, None, ns, shutdown).await
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
    serve(listener, Some((tls_listener, tls)), ns, shutdown).await
}

/// Accepts from `tls` when there is one; never resolves otherwise.
async fn accept_tls(
    tls: Option<&(TcpListener, TlsServerConfig)>,
) -> std::io::Result<(TcpStream, SocketAddr, Option<TlsServerConfig>)> {
    match tls {
        Some((listener, config)) => {
            let (stream, peer) = listener.accept().await?;
            Ok((stream, peer, Some(config.clone())))
        }
        None => std::future::pending().await,
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
    listener: TcpListener,
    tls: Option<(TcpListener, TlsServerConfig)>,
    ns: Arc<Namespace>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let max = ns.config.max_connections;
    let service = Service::with_stop(ns.clone(), stop_rx, Some(Arc::new(Semaphore::new(max))));
    // Sockets in all: the open connections and as many again in their handshake.
    let limit = Arc::new(Semaphore::new(max.saturating_mul(2)));
    let mut refused = RefusalLog::default();
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            a = listener.accept() => a.map(|(stream, peer)| (stream, peer, None)),
            a = accept_tls(tls.as_ref()) => a,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
        };
        let (stream, peer, tls) = match accepted {
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
            tracing::debug!(%peer, tls = tls.is_some(), "accepted");
            match tls {
                None => service.serve_connection(stream).await,
                // The TLS handshake is bounded like the AMQP one that follows.
                Some(tls) => match tokio::time::timeout(handshake, tls.accept(stream)).await {
                    Ok(Ok(stream)) => service.serve_connection(stream).await,
                    Ok(Err(e)) => tracing::info!(%peer, error = %e, "TLS handshake failed"),
                    Err(_) => tracing::info!(%peer, "TLS handshake not completed in time"),
                },
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

/// An emulator running in this process on `127.0.0.1:<free port>`; stops when dropped.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    namespace: Arc<Namespace>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Emulator {
    /// Starts an emulator with `config` on a free loopback port.
    pub async fn start(config: Config) -> std::io::Result<Self> {
        Self::start_inner(config, None, "127.0.0.1:0").await
    }

    /// Starts an emulator with `config` on `addr` (e.g. `127.0.0.1:5672`, the AMQP port, so
    /// that connection strings need no port: some SDKs put a port into the namespace name
    /// they write in checkpoint blobs, where the others do not).
    pub async fn start_on(config: Config, addr: &str) -> std::io::Result<Self> {
        Self::start_inner(config, None, addr).await
    }

    /// Like [`Emulator::start`], also serving AMQP over TLS on a second free port.
    pub async fn start_with_tls(config: Config, tls: TlsServerConfig) -> std::io::Result<Self> {
        Self::start_inner(config, Some(tls), "127.0.0.1:0").await
    }

    async fn start_inner(
        config: Config,
        tls: Option<TlsServerConfig>,
        addr: &str,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let tls = match tls {
            Some(config) => Some((TcpListener::bind("127.0.0.1:0").await?, config)),
            None => None,
        };
        let tls_addr = tls.as_ref().map(|(l, _)| l.local_addr()).transpose()?;
        let namespace = Namespace::open(config)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, tls, namespace.clone(), async {
            let _ = stopped.await;
        }));
        Ok(Self {
            addr,
            tls_addr,
            namespace,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The TLS listener's address, when started with [`Emulator::start_with_tls`].
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
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

/// The connection string clients use for an emulator at `addr`.
pub fn connection_string(addr: SocketAddr, config: &Config, entity_path: Option<&str>) -> String {
    let (name, key) = config
        .keys
        .first()
        .map(|(n, k)| (n.as_str(), k.as_str()))
        .unwrap_or(("", ""));
    // An unspecified address (`0.0.0.0`, `::`) is reachable on loopback too.
    let host = if addr.ip().is_loopback() || addr.ip().is_unspecified() {
        "localhost".to_owned()
    } else {
        addr.ip().to_string()
    };
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
