//! The `Sender` handle: sends messages pre-settled or unsettled, many in flight.

use bytes::Bytes;
use tokio::sync::{oneshot, watch};

use eventhubs_amqp::codec::Encode;
use eventhubs_amqp::connection::LinkId;
use eventhubs_amqp::definitions::AmqpError;
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_amqp::message::Message;
use eventhubs_amqp::performatives::Attach;

use crate::command::Command;
use crate::{Connection, Error};

/// A sender link.
#[derive(Debug, Clone)]
pub struct Sender {
    link: LinkId,
    conn: Connection,
    max_message_size: u64,
    remote_attach: std::sync::Arc<Attach>,
    credit: watch::Receiver<u32>,
}

/// The outcome of an unsettled delivery that was already handed to the connection.
#[derive(Debug)]
pub struct PendingOutcome(oneshot::Receiver<Result<DeliveryState, Error>>);

impl PendingOutcome {
    /// Waits for the peer's outcome; `Ok` means accepted.
    pub async fn wait(self) -> Result<DeliveryState, Error> {
        self.0.await.map_err(|_| Error::Closed)?
    }
}

impl Sender {
    pub(crate) async fn attached(
        link: LinkId,
        conn: Connection,
        attach: &Attach,
    ) -> Result<Self, Error> {
        let (tx, rx) = oneshot::channel();
        conn.request(Command::MaxMessageSize(link, tx)).await?;
        let max_message_size = rx.await.map_err(|_| Error::Closed)?.unwrap_or(u64::MAX);
        Self::watching(link, conn, max_message_size, attach.clone()).await
    }

    pub(crate) async fn watching(
        link: LinkId,
        conn: Connection,
        max_message_size: u64,
        attach: Attach,
    ) -> Result<Self, Error> {
        let (tx, credit) = watch::channel(0);
        conn.request(Command::WatchCredit(link, tx)).await?;
        Ok(Self {
            link,
            conn,
            max_message_size,
            remote_attach: std::sync::Arc::new(attach),
            credit,
        })
    }

    /// Resolves when the link is detached or the connection is gone.
    pub async fn closed(&self) {
        let mut rx = self.credit.clone();
        while rx.changed().await.is_ok() {}
    }

    /// Waits until the peer has granted credit that queued deliveries have not used yet,
    /// and returns how much. A server that feeds a receiver from a log uses this to send
    /// only what the receiver asked for. `Err` once the link is detached.
    pub async fn wait_for_credit(&self) -> Result<u32, Error> {
        let mut rx = self.credit.clone();
        let credit = rx
            .wait_for(|c| *c > 0)
            .await
            .map_err(|_| Error::LinkDetached(None))?;
        Ok(*credit)
    }

    /// The largest message the peer accepts on this link (`u64::MAX` when unlimited).
    pub fn max_message_size(&self) -> u64 {
        self.max_message_size
    }

    /// The peer's attach frame.
    pub fn remote_attach(&self) -> &Attach {
        &self.remote_attach
    }

    /// Sends an encoded message unsettled and waits for the outcome.
    pub async fn send_encoded(
        &self,
        payload: Bytes,
        message_format: u32,
    ) -> Result<DeliveryState, Error> {
        self.start_send(payload, message_format).await?.wait().await
    }

    /// Sends a message unsettled and waits for the outcome.
    pub async fn send(&self, message: &Message) -> Result<DeliveryState, Error> {
        self.send_encoded(message.to_bytes(), 0).await
    }

    /// Hands an unsettled delivery to the connection and returns at once with a handle to
    /// its outcome, so many deliveries can be in flight.
    pub async fn start_send(
        &self,
        payload: Bytes,
        message_format: u32,
    ) -> Result<PendingOutcome, Error> {
        let (tx, rx) = oneshot::channel();
        let cmd = Command::Send {
            link: self.link,
            payload,
            format: message_format,
            reply: Some(tx),
        };
        self.conn.request(cmd).await?;
        Ok(PendingOutcome(rx))
    }

    /// Sends pre-settled ("fire and forget"): returns once the connection task has the
    /// delivery; it is written as soon as credit allows.
    pub async fn send_settled(&self, payload: Bytes, message_format: u32) -> Result<(), Error> {
        self.conn
            .request(Command::Send {
                link: self.link,
                payload,
                format: message_format,
                reply: None,
            })
            .await
    }

    /// Sends many deliveries pre-settled in one hand-over to the connection task (cheaper
    /// than one [`Sender::send_settled`] each); they are written as credit allows.
    pub async fn send_settled_many(
        &self,
        payloads: Vec<Bytes>,
        message_format: u32,
    ) -> Result<(), Error> {
        self.conn
            .request(Command::SendSettledMany {
                link: self.link,
                payloads,
                format: message_format,
            })
            .await
    }

    /// Detaches (closes) the link, optionally with an error, and waits for the peer.
    pub async fn close(&self, error: Option<AmqpError>) -> Result<(), Error> {
        self.conn.detach(self.link, error).await
    }
}
