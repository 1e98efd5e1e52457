//! The `Session` handle: attaches sender and receiver links.

use tokio::sync::{mpsc, oneshot};

use eventhubs_amqp::connection::{LinkConfig, SessionId};
use eventhubs_amqp::definitions::Role;

use crate::command::Command;
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
    pub async fn attach_sender(&self, mut config: LinkConfig) -> Result<Sender, Error> {
        config.role = Role::Sender;
        let (tx, rx) = oneshot::channel();
        self.conn
            .request(Command::Attach {
                session: self.id,
                config,
                receiver: None,
                reply: tx,
            })
            .await?;
        let (link, attach) = rx.await.map_err(|_| Error::Closed)??;
        Sender::attached(link, self.conn.clone(), &attach).await
    }

    /// Attaches a receiver link that keeps `prefetch` credits outstanding.
    pub async fn attach_receiver(
        &self,
        mut config: LinkConfig,
        prefetch: u32,
    ) -> Result<Receiver, Error> {
        config.role = Role::Receiver;
        let prefetch = prefetch.max(1);
        let (dtx, drx) = mpsc::unbounded_channel();
        let (tx, rx) = oneshot::channel();
        let cmd = Command::Attach {
            session: self.id,
            config,
            receiver: Some((dtx, prefetch)),
            reply: tx,
        };
        self.conn.request(cmd).await?;
        let (link, attach) = rx.await.map_err(|_| Error::Closed)??;
        Ok(Receiver::new(
            link,
            self.id,
            self.conn.clone(),
            drx,
            prefetch,
            *attach,
        ))
    }

    /// Ends the session.
    pub async fn end(&self) -> Result<(), Error> {
        self.conn.request(Command::End(self.id, None)).await
    }
}
