//! The server side: run the handshake on an accepted stream and hand the links the peer
//! attaches to the application, which accepts or refuses each.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig, LinkId, SessionId};
use eventhubs_amqp::definitions::{AmqpError, Role};
use eventhubs_amqp::performatives::Attach;

use crate::command::Command;
use crate::connection::spawn;
use crate::{Connection, Error, Receiver, Sender};

/// Runs the server handshake on `stream`. Returns the connection and the stream of links
/// the peer attaches; the connection task runs until closed.
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
    Ok((Connection::from_parts(conn.commands, open), links_rx))
}

/// A link the peer attached, waiting for our answer.
#[derive(Debug)]
pub struct IncomingLink {
    link: LinkId,
    session: SessionId,
    attach: Box<Attach>,
    commands: mpsc::Sender<Command>,
}

impl IncomingLink {
    pub(crate) fn new(
        link: LinkId,
        session: SessionId,
        attach: Box<Attach>,
        commands: mpsc::Sender<Command>,
    ) -> Self {
        Self {
            link,
            session,
            attach,
            commands,
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

    fn connection(&self) -> Connection {
        Connection::from_parts(self.commands.clone(), Box::default())
    }

    async fn answer(
        &self,
        config: LinkConfig,
        receiver: Option<(mpsc::UnboundedSender<crate::command::ReceiverEvent>, u32)>,
    ) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        let cmd = Command::Accept {
            link: self.link,
            config,
            receiver,
            reply: tx,
        };
        self.commands.send(cmd).await.map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Accepts a link on which the peer receives: we get a [`Sender`]. Unset terminus
    /// fields in `config` echo the peer's.
    pub async fn accept_sender(self, config: LinkConfig) -> Result<Sender, Error> {
        if self.attach.role != Role::Receiver {
            return Err(Error::Connection(
                eventhubs_amqp::connection::ConnectionError::InvalidState("peer is not a receiver"),
            ));
        }
        self.answer(config, None).await?;
        Sender::attached(self.link, self.connection(), &self.attach).await
    }

    /// Accepts a link on which the peer sends: we get a [`Receiver`] with `prefetch` credit.
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
        let prefetch = prefetch.max(1);
        let (dtx, drx) = mpsc::unbounded_channel();
        self.answer(config, Some((dtx, prefetch))).await?;
        let conn = self.connection();
        Ok(Receiver::new(
            self.link,
            self.session,
            conn,
            drx,
            prefetch,
            *self.attach,
        ))
    }

    /// Refuses the link with an error (null terminus, then detach).
    pub async fn refuse(self, error: AmqpError) -> Result<(), Error> {
        self.commands
            .send(Command::Refuse(self.link, error))
            .await
            .map_err(|_| Error::Closed)
    }
}
