//! Messages from the public handles to the connection task.

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

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

/// Everything a handle can ask of the connection task.
#[derive(Debug)]
pub(crate) enum Command {
    Begin(Reply<SessionId>),
    End(SessionId, Option<AmqpError>),
    Attach {
        session: SessionId,
        config: LinkConfig,
        receiver: Option<(mpsc::UnboundedSender<ReceiverEvent>, u32)>,
        reply: Reply<(LinkId, Box<Attach>)>,
    },
    Accept {
        link: LinkId,
        config: LinkConfig,
        receiver: Option<(mpsc::UnboundedSender<ReceiverEvent>, u32)>,
        reply: Reply<()>,
    },
    Refuse(LinkId, AmqpError),
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
        error: Option<AmqpError>,
        reply: Option<Reply<()>>,
    },
    Close(Option<AmqpError>, Reply<()>),
    MaxMessageSize(LinkId, oneshot::Sender<Option<u64>>),
    /// Publish a sender link's usable credit (credit minus queued) on this channel.
    WatchCredit(LinkId, tokio::sync::watch::Sender<u32>),
}
