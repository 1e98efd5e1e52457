//! The `Receiver` handle: a stream of deliveries with automatic credit top-up.

use tokio::sync::{mpsc, oneshot};

use eventhubs_amqp::connection::{Delivery, LinkId, SessionId};
use eventhubs_amqp::definitions::AmqpError;
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_amqp::performatives::Attach;

use crate::command::{Command, ReceiverEvent};
use crate::{Connection, Error};

/// A receiver link. Credit is kept near `prefetch`: every time half of it has been
/// consumed by [`Receiver::recv`], the consumed amount is granted again. With a prefetch of
/// 0 nothing is granted automatically: [`Receiver::add_credit`] grants what you want.
/// Dropping it detaches the link.
#[derive(Debug)]
pub struct Receiver {
    link: LinkId,
    session: SessionId,
    conn: Connection,
    deliveries: mpsc::UnboundedReceiver<ReceiverEvent>,
    prefetch: u32,
    consumed: u32,
    remote_attach: Attach,
    detached: Option<String>,
}

impl Receiver {
    pub(crate) fn new(
        link: LinkId,
        session: SessionId,
        conn: Connection,
        deliveries: mpsc::UnboundedReceiver<ReceiverEvent>,
        prefetch: u32,
        remote_attach: Attach,
    ) -> Self {
        Self {
            link,
            session,
            conn,
            deliveries,
            prefetch,
            consumed: 0,
            remote_attach,
            detached: None,
        }
    }

    /// The peer's attach frame.
    pub fn remote_attach(&self) -> &Attach {
        &self.remote_attach
    }

    /// The next delivery. `Err` when the link was detached (with the peer's error) or the
    /// connection closed.
    ///
    /// Cancel-safe: its only wait is for the next delivery, so a `select!` or `timeout`
    /// that drops the future loses nothing; the next call returns that delivery.
    pub async fn recv(&mut self) -> Result<Delivery, Error> {
        if let Some(msg) = &self.detached {
            return Err(Error::LinkDetached(Some(AmqpError::new(
                eventhubs_amqp::definitions::condition::DETACH_FORCED,
                msg.clone(),
            ))));
        }
        let event = self.deliveries.recv().await;
        self.on_event(event)
    }

    /// A delivery that has already arrived, without waiting; `Ok(None)` when none is ready.
    pub async fn try_recv(&mut self) -> Result<Option<Delivery>, Error> {
        match self.deliveries.try_recv() {
            Ok(event) => self.on_event(Some(event)).map(Some),
            Err(mpsc::error::TryRecvError::Empty) => Ok(None),
            Err(mpsc::error::TryRecvError::Disconnected) => Err(Error::Closed),
        }
    }

    /// Takes one event off the channel; never waits, so callers stay cancel-safe.
    fn on_event(&mut self, event: Option<ReceiverEvent>) -> Result<Delivery, Error> {
        match event {
            Some(ReceiverEvent::Delivery(d)) => {
                if self.prefetch > 0 {
                    self.consumed += 1;
                    if self.consumed >= self.prefetch.div_ceil(2) {
                        let n = std::mem::take(&mut self.consumed);
                        // A closed connection shows up on the next call.
                        let _ = self.conn.request(Command::AddCredit(self.link, n));
                    }
                }
                Ok(d)
            }
            Some(ReceiverEvent::Detached(e)) => {
                self.detached = Some(e.to_string());
                Err(e)
            }
            None => Err(Error::Closed),
        }
    }

    /// Settles deliveries `first..=last` (delivery ids) with `state`. Does not wait for
    /// the peer (and so is cancel-safe).
    pub async fn settle(&self, first: u32, last: u32, state: DeliveryState) -> Result<(), Error> {
        self.conn.request(Command::Disposition {
            session: self.session,
            first,
            last,
            state: Some(state),
        })
    }

    /// Settles each delivery in `ids` with `state`, one disposition per delivery (as the
    /// Event Hubs service does; some peers mishandle ranges), in one hand-over to the
    /// connection task.
    pub async fn settle_each(&self, ids: Vec<u32>, state: DeliveryState) -> Result<(), Error> {
        self.conn.request(Command::SettleEach {
            session: self.session,
            ids,
            state,
        })
    }

    /// Accepts and settles one delivery.
    pub async fn accept(&self, delivery: &Delivery) -> Result<(), Error> {
        self.settle(
            delivery.delivery_id,
            delivery.delivery_id,
            DeliveryState::Accepted,
        )
        .await
    }

    /// Grants the sender `n` more credit (on top of the automatic top-up), e.g. to resume
    /// after [`Receiver::drain`].
    pub async fn add_credit(&self, n: u32) -> Result<(), Error> {
        self.conn.request(Command::AddCredit(self.link, n))
    }

    /// Asks the sender to use up or return all outstanding credit, and waits until it has.
    /// The link then has no credit: [`Receiver::add_credit`] resumes it.
    pub async fn drain(&self) -> Result<(), Error> {
        let (tx, rx) = oneshot::channel();
        self.conn.request(Command::Drain(self.link, tx))?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Detaches (closes) the link, optionally with an error, and waits for the peer.
    pub async fn close(&self, error: Option<AmqpError>) -> Result<(), Error> {
        self.conn.detach(self.link, error).await
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if self.detached.is_none() {
            // Detaching an already closed link is a no-op in the engine.
            let _ = self.conn.request(Command::Detach {
                link: self.link,
                closed: true,
                error: None,
                reply: None,
            });
        }
    }
}
