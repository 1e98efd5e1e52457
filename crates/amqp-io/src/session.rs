//! The `Session` handle: attaches sender and receiver links.

use tokio::sync::{mpsc, oneshot};

use eventhubs_amqp::connection::{LinkConfig, SessionId};
use eventhubs_amqp::definitions::Role;

use crate::command::{Attached, Command, LinkSetup, ReceiverSetup};
use crate::sender::SenderEnds;
use crate::{Connection, Error, Receiver, Sender};

/// A session on a connection. Links attached through it share its windows.
#[derive(Debug, Clone)]
pub struct Session {
    id: SessionId,
    conn: Connection,
}

impl Session {
    pub(crate) fn new(id: SessionId, conn: Connection) -> Self {
        Self { id, conn }
    }

    /// The connection this session belongs to.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Attaches a sender link; resolves when the peer answers.
    ///
    /// Cancel-safe: dropped before the peer answers, the link is detached once attached.
    pub async fn attach_sender(&self, mut config: LinkConfig) -> Result<Sender, Error> {
        config.role = Role::Sender;
        let (setup, ends) = SenderEnds::new();
        let attached = self.attach(config, LinkSetup::Sender(setup)).await?;
        Ok(Sender::new(
            attached.link,
            self.conn.clone(),
            attached.max_message_size,
            *attached.remote,
            ends,
        ))
    }

    /// Attaches a receiver link that keeps `prefetch` credits outstanding (0: none are
    /// granted until [`Receiver::add_credit`]).
    ///
    /// Cancel-safe: dropped before the peer answers, the link is detached once attached,
    /// so it holds no credit and no place in a server's quota.
    pub async fn attach_receiver(
        &self,
        mut config: LinkConfig,
        prefetch: u32,
    ) -> Result<Receiver, Error> {
        config.role = Role::Receiver;
        let (deliveries, drx) = mpsc::unbounded_channel();
        let setup = LinkSetup::Receiver(ReceiverSetup {
            deliveries,
            prefetch,
        });
        let attached = self.attach(config, setup).await?;
        Ok(Receiver::new(
            attached.link,
            self.id,
            self.conn.clone(),
            drx,
            prefetch,
            *attached.remote,
        ))
    }

    async fn attach(&self, config: LinkConfig, setup: LinkSetup) -> Result<Attached, Error> {
        let (tx, rx) = oneshot::channel();
        self.conn.request(Command::Attach {
            session: self.id,
            config: Box::new(config),
            setup,
            reply: tx,
        })?;
        rx.await.map_err(|_| self.conn.gone())?
    }

    /// Ends the session.
    pub async fn end(&self) -> Result<(), Error> {
        self.conn.request(Command::End(self.id, None))
    }
}
