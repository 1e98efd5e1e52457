//! The client side: connecting over TCP or TLS, and the cheap `Connection` handle.

use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use eventhubs_amqp::connection::{Connection as Engine, ConnectionConfig, LinkId};
use eventhubs_amqp::definitions::AmqpError;
use eventhubs_amqp::performatives::Open;

use crate::command::Command;
use crate::driver::Driver;
use crate::session::Session;
use crate::tls::TlsConfig;
use crate::Error;

/// Capacity of the command channel: enough to keep the task busy between wakeups, small
/// enough that a fast producer feels backpressure.
pub(crate) const COMMAND_CAPACITY: usize = 4096;

/// A handle to an open AMQP connection. Cloning is cheap; the connection closes when the
/// last handle (and every session and link handle) is dropped, or on [`Connection::close`].
#[derive(Debug, Clone)]
pub struct Connection {
    pub(crate) commands: mpsc::Sender<Command>,
    remote_open: Arc<Open>,
}

impl Connection {
    /// Connects over plain TCP and completes SASL and open.
    pub async fn connect_tcp(addr: &str, config: ConnectionConfig) -> Result<Self, Error> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Self::open_on(stream, config).await
    }

    /// Connects over TLS (AMQPS) to `addr`, verifying the server as `server_name`.
    pub async fn connect_tls(
        addr: &str,
        server_name: &str,
        config: ConnectionConfig,
        tls: &TlsConfig,
    ) -> Result<Self, Error> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let stream = tls.connect(server_name, stream).await?;
        Self::open_on(stream, config).await
    }

    /// Runs the client handshake on an already-connected stream (any transport).
    pub async fn open_on<S>(stream: S, config: ConnectionConfig) -> Result<Self, Error>
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (conn, opened) = spawn(stream, config, None);
        let remote_open = opened.await.map_err(|_| Error::Closed)??;
        Ok(Self {
            remote_open: Arc::from(remote_open),
            ..conn
        })
    }

    pub(crate) fn from_parts(commands: mpsc::Sender<Command>, remote_open: Box<Open>) -> Self {
        Self {
            commands,
            remote_open: Arc::from(remote_open),
        }
    }

    /// The peer's open frame (container id, max frame size, properties...).
    pub fn remote_open(&self) -> &Open {
        &self.remote_open
    }

    /// Begins a new session.
    pub async fn begin(&self) -> Result<Session, Error> {
        let (tx, rx) = oneshot::channel();
        self.request(Command::Begin(tx)).await?;
        let id = rx.await.map_err(|_| Error::Closed)??;
        Ok(Session::new(id, self.clone()))
    }

    /// Closes the connection (optionally with an error) and waits for the peer's close.
    pub async fn close(&self, error: Option<AmqpError>) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.request(Command::Close(error, tx)).await?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// True once the connection task has ended.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    /// Closes a link and waits for the peer's detach.
    pub(crate) async fn detach(&self, link: LinkId, error: Option<AmqpError>) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        let cmd = Command::Detach {
            link,
            closed: true,
            error,
            reply: Some(tx),
        };
        self.request(cmd).await?;
        rx.await.map_err(|_| Error::Closed)?
    }

    pub(crate) async fn request(&self, cmd: Command) -> Result<(), Error> {
        self.commands.send(cmd).await.map_err(|_| Error::Closed)
    }

    /// Hands `cmd` to the connection task without waiting (from `Drop`): at once if the
    /// queue has room, else from a spawned task when a runtime is running.
    pub(crate) fn request_detached(&self, cmd: Command) {
        match self.commands.try_send(cmd) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(cmd)) => {
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    let commands = self.commands.clone();
                    rt.spawn(async move {
                        let _ = commands.send(cmd).await;
                    });
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// Spawns the connection task for `stream`; the receiver resolves with the peer's open.
pub(crate) fn spawn<S>(
    stream: S,
    config: ConnectionConfig,
    incoming: Option<mpsc::UnboundedSender<crate::server::IncomingLink>>,
) -> (Connection, oneshot::Receiver<Result<Box<Open>, Error>>)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
    let (open_tx, open_rx) = oneshot::channel();
    let engine = Engine::new(config, Instant::now());
    let driver = Driver::new(engine, rx, tx.downgrade(), open_tx, incoming);
    tokio::spawn(driver.run(stream));
    let placeholder = Arc::new(Open::default());
    (
        Connection {
            commands: tx,
            remote_open: placeholder,
        },
        open_rx,
    )
}
