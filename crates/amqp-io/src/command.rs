//! Messages from the public handles to the connection task.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

use eventhubs_amqp::connection::{Delivery, LinkConfig, LinkId, SessionId};
use eventhubs_amqp::definitions::AmqpError;
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_amqp::performatives::Attach;

use crate::Error;

pub(crate) type Reply<T> = oneshot::Sender<Result<T, Error>>;

/// What a receiver link's channel carries.
#[derive(Debug)]
pub(crate) enum ReceiverEvent {
    Delivery(Delivery),
    Detached(Error),
}

/// What the task keeps for a receiver link: where deliveries go, and the credit it keeps
/// outstanding (0: the application grants credit itself).
#[derive(Debug)]
pub(crate) struct ReceiverSetup {
    pub(crate) deliveries: mpsc::UnboundedSender<ReceiverEvent>,
    pub(crate) prefetch: u32,
}

/// A sender link's credit as the connection task last saw it: credit its queued
/// deliveries have not used yet, and how many deliveries it has taken from the handles
/// so far (so a handle can discount those it handed over that the task has not taken).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CreditState {
    pub(crate) usable: u32,
    pub(crate) taken: u64,
}

/// What the task keeps for a sender link: the credit it publishes, and the permits that
/// bound how many of the link's deliveries may wait in the engine for credit.
#[derive(Debug)]
pub(crate) struct SenderSetup {
    pub(crate) credit: watch::Sender<CreditState>,
    pub(crate) permits: Arc<Semaphore>,
}

/// The link-side state installed when a link is attached or accepted.
#[derive(Debug)]
pub(crate) enum LinkSetup {
    Sender(SenderSetup),
    Receiver(ReceiverSetup),
}

/// The answer to an attach or accept: the link, the peer's attach, and (sender links) the
/// largest message the peer takes.
#[derive(Debug)]
pub(crate) struct Attached {
    pub(crate) link: LinkId,
    pub(crate) remote: Box<Attach>,
    pub(crate) max_message_size: u64,
}

/// Everything a handle can ask of the connection task. Sends travel on the data channel,
/// everything else on the control channel.
#[derive(Debug)]
pub(crate) enum Command {
    Begin(Reply<SessionId>),
    End(SessionId, Option<Box<AmqpError>>),
    /// The config is boxed: it is large, and every command (most of them sends) is as
    /// big as the largest variant on its way through the channels.
    Attach {
        session: SessionId,
        config: Box<LinkConfig>,
        setup: LinkSetup,
        reply: Reply<Attached>,
    },
    Accept {
        link: LinkId,
        config: Box<LinkConfig>,
        setup: LinkSetup,
        reply: Reply<u64>,
    },
    Refuse(LinkId, Box<AmqpError>),
    Send {
        link: LinkId,
        payload: Bytes,
        format: u32,
        reply: Option<Reply<DeliveryState>>,
    },
    /// Pre-settled deliveries handed over in one command (one channel hop for many).
    SendSettledMany {
        link: LinkId,
        payloads: Vec<Bytes>,
        format: u32,
    },
    /// One disposition per delivery id (not a range), handed over in one command.
    SettleEach {
        session: SessionId,
        ids: Vec<u32>,
        state: DeliveryState,
    },
    AddCredit(LinkId, u32),
    Drain(LinkId, Reply<()>),
    Disposition {
        session: SessionId,
        first: u32,
        last: u32,
        state: Option<DeliveryState>,
    },
    Detach {
        link: LinkId,
        closed: bool,
        error: Option<Box<AmqpError>>,
        reply: Option<Reply<()>>,
    },
    Close(Option<Box<AmqpError>>, Reply<()>),
    /// The last handle of a sender link is gone: detach it once the deliveries waiting in
    /// its queue have been written (at once if there are none).
    DetachWhenDrained(LinkId),
}

#[cfg(test)]
mod tests {
    /// Commands are moved by value through the channels: keep them small.
    #[test]
    fn commands_stay_small() {
        assert!(
            size_of::<super::Command>() <= 128,
            "{}",
            size_of::<super::Command>()
        );
    }
}
