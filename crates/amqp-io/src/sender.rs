//! The `Sender` handle: sends messages pre-settled or unsettled, many in flight, with
//! backpressure per link.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{oneshot, watch, Semaphore, SemaphorePermit};

use eventhubs_amqp::codec::Encode;
use eventhubs_amqp::connection::LinkId;
use eventhubs_amqp::definitions::AmqpError;
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_amqp::message::Message;
use eventhubs_amqp::performatives::Attach;

use crate::command::{Command, CreditState, SenderSetup};
use crate::{Connection, Error};

/// Deliveries one sender link may have waiting in the connection task for credit. A send
/// beyond it waits for the link's own credit to move things along; other links and control
/// traffic on the connection are not held up.
pub(crate) const LINK_QUEUE_LIMIT: usize = 2048;

/// A sender link. Cloning is cheap. When the last clone is dropped the link is detached,
/// after the deliveries already handed over have been written (a link whose peer never
/// grants credit again stays until the connection closes).
#[derive(Debug, Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    link: LinkId,
    conn: Connection,
    max_message_size: u64,
    remote_attach: Attach,
    credit: watch::Receiver<CreditState>,
    permits: Arc<Semaphore>,
    /// Deliveries handed to the connection task so far (compared with the task's count).
    handed: AtomicU64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Detaching an already detached link is a no-op in the engine.
        let _ = self.conn.request(Command::DetachWhenDrained(self.link));
    }
}

/// The outcome of an unsettled delivery that was already handed to the connection.
#[derive(Debug)]
pub struct PendingOutcome(oneshot::Receiver<Result<DeliveryState, Error>>);

impl PendingOutcome {
    /// Waits for the peer's outcome; `Ok` means accepted. Cancel-safe: dropping the future
    /// (or the `PendingOutcome`) only stops waiting; the delivery is unaffected.
    pub async fn wait(self) -> Result<DeliveryState, Error> {
        self.0.await.map_err(|_| Error::Closed)?
    }
}

/// The handle's ends of a new sender link's state; [`SenderEnds::new`] also returns the
/// task's ends, to travel in the attach or accept command.
pub(crate) struct SenderEnds {
    credit: watch::Receiver<CreditState>,
    permits: Arc<Semaphore>,
}

impl SenderEnds {
    pub(crate) fn new() -> (SenderSetup, Self) {
        let (tx, credit) = watch::channel(CreditState::default());
        let permits = Arc::new(Semaphore::new(LINK_QUEUE_LIMIT));
        let setup = SenderSetup {
            credit: tx,
            permits: permits.clone(),
        };
        (setup, Self { credit, permits })
    }
}

impl Sender {
    /// The handle of an attached link whose task-side state came with `ends`.
    pub(crate) fn new(
        link: LinkId,
        conn: Connection,
        max_message_size: u64,
        remote_attach: Attach,
        ends: SenderEnds,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                link,
                conn,
                max_message_size,
                remote_attach,
                credit: ends.credit,
                permits: ends.permits,
                handed: AtomicU64::new(0),
            }),
        }
    }

    /// True once the link is detached or the connection is gone.
    pub fn is_detached(&self) -> bool {
        self.inner.credit.has_changed().is_err()
    }

    /// Resolves when the link is detached or the connection is gone.
    pub async fn closed(&self) {
        let mut rx = self.inner.credit.clone();
        while rx.changed().await.is_ok() {}
    }

    /// Waits until the peer has granted credit that deliveries already handed over (from
    /// any clone) have not used yet, and returns how much. A server that feeds a receiver
    /// from a log uses this to send exactly what the receiver asked for. `Err` once the
    /// link is detached. Cancel-safe.
    pub async fn wait_for_credit(&self) -> Result<u32, Error> {
        let mut rx = self.inner.credit.clone();
        let handed = &self.inner.handed;
        let unused = |c: &CreditState| {
            let in_transit = handed.load(Ordering::Acquire).saturating_sub(c.taken);
            u64::from(c.usable).saturating_sub(in_transit) as u32
        };
        let state = rx
            .wait_for(|c| unused(c) > 0)
            .await
            .map_err(|_| Error::LinkDetached(None))?;
        Ok(unused(&state))
    }

    /// The largest message the peer accepts on this link (`u64::MAX` when unlimited).
    pub fn max_message_size(&self) -> u64 {
        self.inner.max_message_size
    }

    /// The peer's attach frame.
    pub fn remote_attach(&self) -> &Attach {
        &self.inner.remote_attach
    }

    /// Sends an encoded message unsettled and waits for the outcome. Cancel-safe in the
    /// sense that matters: once the future is dropped, the delivery may or may not have been
    /// sent, and its outcome is not reported.
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

    /// Hands an unsettled delivery to the connection and returns a handle to its outcome,
    /// so many deliveries can be in flight. Waits while this link already has 2,048
    /// deliveries waiting for credit (other links are not held up). Cancel-safe: dropped before it
    /// returns, the delivery was not handed over.
    pub async fn start_send(
        &self,
        payload: Bytes,
        message_format: u32,
    ) -> Result<PendingOutcome, Error> {
        let permit = self.reserve(1).await?;
        let (tx, rx) = oneshot::channel();
        self.hand_over(
            Command::Send {
                link: self.inner.link,
                payload,
                format: message_format,
                reply: Some(tx),
            },
            permit,
        )
        .await?;
        Ok(PendingOutcome(rx))
    }

    /// Sends pre-settled ("fire and forget"): returns once the connection task has the
    /// delivery; it is written as soon as credit allows. Waits like [`Sender::start_send`]
    /// and is cancel-safe like it.
    pub async fn send_settled(&self, payload: Bytes, message_format: u32) -> Result<(), Error> {
        let permit = self.reserve(1).await?;
        self.hand_over(
            Command::Send {
                link: self.inner.link,
                payload,
                format: message_format,
                reply: None,
            },
            permit,
        )
        .await
    }

    /// Sends many deliveries pre-settled in few hand-overs to the connection task (cheaper
    /// than one [`Sender::send_settled`] each); they are written as credit allows. Not
    /// cancel-safe as a whole: dropped part-way, a prefix of `payloads` was handed over.
    pub async fn send_settled_many(
        &self,
        mut payloads: Vec<Bytes>,
        message_format: u32,
    ) -> Result<(), Error> {
        while !payloads.is_empty() {
            let rest = payloads.split_off(payloads.len().min(LINK_QUEUE_LIMIT));
            let permit = self.reserve(payloads.len()).await?;
            let cmd = Command::SendSettledMany {
                link: self.inner.link,
                payloads,
                format: message_format,
            };
            self.hand_over(cmd, permit).await?;
            payloads = rest;
        }
        Ok(())
    }

    /// Detaches (closes) the link now, optionally with an error, and waits for the peer.
    /// Deliveries still waiting for credit are dropped (unsettled ones fail); to let them
    /// go out first, drop every handle instead.
    pub async fn close(&self, error: Option<AmqpError>) -> Result<(), Error> {
        self.inner.conn.detach(self.inner.link, error).await
    }

    /// Waits for room for `n` more deliveries in this link's queue.
    async fn reserve(&self, n: usize) -> Result<SemaphorePermit<'_>, Error> {
        self.inner
            .permits
            .acquire_many(n as u32)
            .await
            .map_err(|_| Error::LinkDetached(None))
    }

    /// Hands a send to the task; from then on the task returns the permits as the link's
    /// deliveries leave its queue. Counted as handed over first, so credit waits never see
    /// a delivery the task took but the handle did not count.
    async fn hand_over(&self, cmd: Command, permit: SemaphorePermit<'_>) -> Result<(), Error> {
        let n = match &cmd {
            Command::SendSettledMany { payloads, .. } => payloads.len() as u64,
            _ => 1,
        };
        self.inner.handed.fetch_add(n, Ordering::AcqRel);
        if let Err(e) = self.inner.conn.send_data(cmd).await {
            self.inner.handed.fetch_sub(n, Ordering::AcqRel);
            return Err(e);
        }
        permit.forget();
        Ok(())
    }
}
