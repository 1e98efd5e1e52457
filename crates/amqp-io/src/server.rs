//! The server side: run the handshake on an accepted stream and hand the links the peer
//! attaches to the application, which accepts or refuses each.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig, LinkId, SessionId};
use eventhubs_amqp::definitions::{AmqpError, Role};
use eventhubs_amqp::performatives::Attach;

use crate::command::{Command, LinkSetup, ReceiverSetup};
use crate::connection::{spawn, Channels};
use crate::sender::SenderEnds;
use crate::{Connection, Error, Receiver, Sender};

/// Runs the server handshake on `stream`. Returns the connection and the stream of links
/// the peer attaches; the connection task runs until closed.
///
/// For a TCP stream, set `TCP_NODELAY` first (`TcpStream::set_nodelay(true)`): the task
/// writes small frames (flows, dispositions) that Nagle's algorithm would otherwise hold
/// back behind unacknowledged data, stalling the peer.
pub async fn accept<S>(
    stream: S,
    config: ConnectionConfig,
) -> Result<(Connection, mpsc::UnboundedReceiver<IncomingLink>), Error>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (links_tx, links_rx) = mpsc::unbounded_channel();
    let (conn, opened) = spawn(stream, config, Some(links_tx));
    let open = opened.await.map_err(|_| Error::Closed)??;
    Ok((Connection::from_parts(conn.channels, open), links_rx))
}

/// A link the peer attached, waiting for our answer.
#[derive(Debug)]
pub struct IncomingLink {
    link: LinkId,
    session: SessionId,
    attach: Box<Attach>,
    conn: Connection,
}

impl IncomingLink {
    pub(crate) fn new(
        link: LinkId,
        session: SessionId,
        attach: Box<Attach>,
        channels: Channels,
    ) -> Self {
        Self {
            link,
            session,
            attach,
            conn: Connection::from_parts(channels, Box::default()),
        }
    }

    /// The peer's attach (name, terminus, properties such as an epoch).
    pub fn attach(&self) -> &Attach {
        &self.attach
    }

    /// The session the link was attached on.
    pub fn session(&self) -> SessionId {
        self.session
    }

    /// The peer's role: `Role::Sender` means we will receive.
    pub fn peer_role(&self) -> Role {
        self.attach.role
    }

    async fn answer(&self, config: LinkConfig, setup: LinkSetup) -> Result<u64, Error> {
        let (tx, rx) = oneshot::channel();
        self.conn.request(Command::Accept {
            link: self.link,
            config: Box::new(config),
            setup,
            reply: tx,
        })?;
        rx.await.map_err(|_| self.conn.gone())?
    }

    /// Accepts a link on which the peer receives: we get a [`Sender`]. Unset terminus
    /// fields in `config` echo the peer's.
    pub async fn accept_sender(self, config: LinkConfig) -> Result<Sender, Error> {
        if self.attach.role != Role::Receiver {
            return Err(Error::Connection(
                eventhubs_amqp::connection::ConnectionError::InvalidState("peer is not a receiver"),
            ));
        }
        let (setup, ends) = SenderEnds::new();
        let max_message_size = self.answer(config, LinkSetup::Sender(setup)).await?;
        Ok(Sender::new(
            self.link,
            self.conn,
            max_message_size,
            *self.attach,
            ends,
        ))
    }

    /// Accepts a link on which the peer sends: we get a [`Receiver`] with `prefetch` credit
    /// (0: none until [`Receiver::add_credit`]).
    pub async fn accept_receiver(
        self,
        config: LinkConfig,
        prefetch: u32,
    ) -> Result<Receiver, Error> {
        if self.attach.role != Role::Sender {
            return Err(Error::Connection(
                eventhubs_amqp::connection::ConnectionError::InvalidState("peer is not a sender"),
            ));
        }
        let (deliveries, drx) = mpsc::unbounded_channel();
        let setup = LinkSetup::Receiver(ReceiverSetup {
            deliveries,
            prefetch,
        });
        self.answer(config, setup).await?;
        Ok(Receiver::new(
            self.link,
            self.session,
            self.conn,
            drx,
            prefetch,
            *self.attach,
        ))
    }

    /// Refuses the link with an error (null terminus, then detach).
    pub async fn refuse(self, error: AmqpError) -> Result<(), Error> {
        self.conn
            .request(Command::Refuse(self.link, Box::new(error)))
    }
}
