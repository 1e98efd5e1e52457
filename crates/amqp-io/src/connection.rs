//! The client side: connecting over TCP or TLS, and the cheap `Connection` handle.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use eventhubs_amqp::connection::{Connection as Engine, ConnectionConfig, LinkId};
use eventhubs_amqp::definitions::AmqpError;
use eventhubs_amqp::performatives::Open;

use crate::command::Command;
use crate::driver::{now, Driver};
use crate::session::Session;
use crate::tls::TlsConfig;
use crate::websocket::WebSocketStream;
use crate::Error;

/// Capacity of the data channel (sends): enough to keep the task busy between wakeups,
/// small enough that a fast producer feels backpressure. Control commands have a channel
/// of their own that the task reads first, so they never wait behind sends.
pub(crate) const DATA_CAPACITY: usize = 4096;

/// A handle to an open AMQP connection. Cloning is cheap; the connection closes when the
/// last handle (and every session and link handle) is dropped, or on [`Connection::close`].
#[derive(Debug, Clone)]
pub struct Connection {
    pub(crate) channels: Channels,
    remote_open: Arc<Open>,
}

/// The two ways into the connection task: control (credit, settlement, attach, detach,
/// close: unbounded, read first, never waits) and data (sends: bounded, and each sender
/// link bounds its own share, so one link without credit cannot fill it).
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    pub(crate) control: mpsc::UnboundedSender<Command>,
    pub(crate) data: mpsc::Sender<Command>,
    pub(crate) cause: Arc<CloseCause>,
}

/// The error the peer closed the connection with, kept so that every later call on the
/// connection reports it (not a bare "closed").
#[derive(Debug, Default)]
pub(crate) struct CloseCause(std::sync::OnceLock<AmqpError>);

impl CloseCause {
    pub(crate) fn set(&self, error: AmqpError) {
        let _ = self.0.set(error);
    }

    /// The error for a call made after the connection task ended.
    pub(crate) fn error(&self) -> Error {
        match self.0.get() {
            Some(e) => Error::ConnectionClosed(Some(e.clone())),
            None => Error::Closed,
        }
    }
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

    /// Connects over AMQP over WebSockets: TCP to `addr`, then TLS when `tls` names the
    /// server to verify and the roots (`wss://`), then the WebSocket handshake for `url`
    /// (`ws[s]://{host}:{port}/$servicebus/websocket`), SASL and open.
    pub async fn connect_websocket(
        addr: &str,
        url: &str,
        tls: Option<(&str, &TlsConfig)>,
        config: ConnectionConfig,
    ) -> Result<Self, Error> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Self::open_websocket_on(stream, url, tls, config).await
    }

    /// Like [`Connection::connect_websocket`] on a TCP stream already connected (a proxy
    /// tunnel from [`crate::proxy::connect_tunnel`]).
    pub async fn open_websocket_on(
        stream: TcpStream,
        url: &str,
        tls: Option<(&str, &TlsConfig)>,
        config: ConnectionConfig,
    ) -> Result<Self, Error> {
        match tls {
            Some((server_name, tls)) => {
                let stream = tls.connect(server_name, stream).await?;
                Self::open_on(WebSocketStream::connect(stream, url).await?, config).await
            }
            None => Self::open_on(WebSocketStream::connect(stream, url).await?, config).await,
        }
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

    pub(crate) fn from_parts(channels: Channels, remote_open: Box<Open>) -> Self {
        Self {
            channels,
            remote_open: Arc::from(remote_open),
        }
    }

    /// The peer's open frame (container id, max frame size, properties...).
    pub fn remote_open(&self) -> &Open {
        &self.remote_open
    }

    /// Begins a new session.
    ///
    /// Cancel-safe: if the future is dropped before the peer answers, the session is ended
    /// once it begins.
    pub async fn begin(&self) -> Result<Session, Error> {
        let (tx, rx) = oneshot::channel();
        self.request(Command::Begin(tx))?;
        let id = rx.await.map_err(|_| self.gone())??;
        Ok(Session::new(id, self.clone()))
    }

    /// Closes the connection (optionally with an error) and waits for the peer's close.
    /// Sends handed over before the call are written first.
    ///
    /// Cancel-safe: the close goes ahead whether or not the future is polled to the end.
    pub async fn close(&self, error: Option<AmqpError>) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.request(Command::Close(error.map(Box::new), tx))?;
        rx.await.map_err(|_| self.gone())?
    }

    /// True once the connection task has ended.
    pub fn is_closed(&self) -> bool {
        self.channels.control.is_closed()
    }

    /// Closes a link and waits for the peer's detach.
    pub(crate) async fn detach(&self, link: LinkId, error: Option<AmqpError>) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        let cmd = Command::Detach {
            link,
            closed: true,
            error: error.map(Box::new),
            reply: Some(tx),
        };
        self.request(cmd)?;
        rx.await.map_err(|_| self.gone())?
    }

    /// The error for a call the connection task can no longer answer: the peer's close
    /// error when it gave one.
    pub(crate) fn gone(&self) -> Error {
        self.channels.cause.error()
    }

    /// Hands a control command to the connection task. Never waits.
    pub(crate) fn request(&self, cmd: Command) -> Result<(), Error> {
        self.channels
            .control
            .send(cmd)
            .map_err(|_| self.channels.cause.error())
    }

    /// Hands a send to the connection task, waiting while the data channel is full.
    /// Cancel-safe: a send is either handed over whole or not at all.
    pub(crate) async fn send_data(&self, cmd: Command) -> Result<(), Error> {
        self.channels
            .data
            .send(cmd)
            .await
            .map_err(|_| self.channels.cause.error())
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
    let (control, control_rx) = mpsc::unbounded_channel();
    let (data, data_rx) = mpsc::channel(DATA_CAPACITY);
    let (open_tx, open_rx) = oneshot::channel();
    let engine = Engine::new(config, now());
    let cause = Arc::new(CloseCause::default());
    let weak = WeakChannels {
        control: control.downgrade(),
        data: data.downgrade(),
        cause: cause.clone(),
    };
    let driver = Driver::new(engine, control_rx, data_rx, weak, open_tx, incoming);
    tokio::spawn(driver.run(stream));
    let placeholder = Arc::new(Open::default());
    (
        Connection {
            channels: Channels {
                control,
                data,
                cause,
            },
            remote_open: placeholder,
        },
        open_rx,
    )
}

/// The task's own, non-owning view of its channels: handed to incoming links (server side)
/// without keeping the connection alive.
#[derive(Debug)]
pub(crate) struct WeakChannels {
    control: mpsc::WeakUnboundedSender<Command>,
    data: mpsc::WeakSender<Command>,
    pub(crate) cause: Arc<CloseCause>,
}

impl WeakChannels {
    /// Strong channels while any handle still lives.
    pub(crate) fn upgrade(&self) -> Option<Channels> {
        Some(Channels {
            control: self.control.upgrade()?,
            data: self.data.upgrade()?,
            cause: self.cause.clone(),
        })
    }
}
