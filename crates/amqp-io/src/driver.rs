//! The connection task: owns the socket and the sans-IO engine, serves handle commands,
//! and turns engine events into replies, deliveries and link notifications.

use eventhubs_amqp::id_map::IdMap;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use eventhubs_amqp::connection::{Connection as Engine, Event, LinkId, SessionId};
use eventhubs_amqp::definitions::AmqpError;
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_amqp::performatives::Open;

use crate::command::{
    Attached, Command, CreditState, LinkSetup, ReceiverEvent, ReceiverSetup, Reply, SenderSetup,
};
use crate::connection::WeakChannels;
use crate::server::IncomingLink;
use crate::Error;

/// Commands of each channel handled per wakeup before output is written: batches many
/// small sends into one write without starving reads.
const COMMANDS_PER_WAKEUP: usize = 512;
/// Read buffer growth step.
const READ_CHUNK: usize = 64 * 1024;
/// Encoded bytes waiting for the socket beyond which no more sends are taken: a peer that
/// stops reading (whatever credit and window it granted) holds back the senders (through
/// the data channel and their permits), not the connection's memory.
const MAX_UNWRITTEN: usize = 1024 * 1024;

/// A sender link's task-side state: its setup, and how many permits its queued deliveries
/// hold (returned as they leave the engine's queue).
struct SenderState {
    setup: SenderSetup,
    held: u32,
    /// Deliveries taken from the handles so far.
    taken: u64,
    /// Every handle is gone: detach once the queue is empty.
    detach_when_drained: bool,
}

/// An attach we sent: who waits for the answer, and the link state to install.
type PendingAttach = (Reply<Attached>, LinkSetup);

/// Everything the task tracks besides the engine.
pub(crate) struct Driver {
    engine: Engine,
    control: mpsc::UnboundedReceiver<Command>,
    data: mpsc::Receiver<Command>,
    /// Our own channels, handed to incoming links (server side).
    own: WeakChannels,
    opened: Option<oneshot::Sender<Result<Box<Open>, Error>>>,
    incoming: Option<mpsc::UnboundedSender<IncomingLink>>,
    begins: IdMap<SessionId, Reply<SessionId>>,
    attaches: IdMap<LinkId, PendingAttach>,
    receivers: IdMap<LinkId, ReceiverSetup>,
    senders: IdMap<LinkId, SenderState>,
    outcomes: IdMap<u64, Reply<DeliveryState>>,
    drains: IdMap<LinkId, Reply<()>>,
    detaches: IdMap<LinkId, Reply<()>>,
    close_reply: Option<Reply<()>>,
    next_context: u64,
}

impl Driver {
    pub(crate) fn new(
        engine: Engine,
        control: mpsc::UnboundedReceiver<Command>,
        data: mpsc::Receiver<Command>,
        own: WeakChannels,
        opened: oneshot::Sender<Result<Box<Open>, Error>>,
        incoming: Option<mpsc::UnboundedSender<IncomingLink>>,
    ) -> Self {
        Self {
            engine,
            control,
            data,
            own,
            opened: Some(opened),
            incoming,
            begins: IdMap::default(),
            attaches: IdMap::default(),
            receivers: IdMap::default(),
            senders: IdMap::default(),
            outcomes: IdMap::default(),
            drains: IdMap::default(),
            detaches: IdMap::default(),
            close_reply: None,
            next_context: 0,
        }
    }

    /// Runs until the connection closes or every handle is dropped.
    pub(crate) async fn run<S: AsyncRead + AsyncWrite + Send + 'static>(mut self, stream: S) {
        let (mut rd, mut wr) = tokio::io::split(stream);
        let mut read_buf = BytesMut::with_capacity(READ_CHUNK);
        let mut write_buf = BytesMut::with_capacity(READ_CHUNK);
        let mut commands_open = true;
        // A write may leave bytes inside the stream (TLS keeps encrypted records it could
        // not send yet, until the next write or a flush): flush once the buffer is drained,
        // or the last frames before a quiet spell would never leave.
        let mut unflushed = false;
        let exit: Result<(), Error> = loop {
            self.dispatch_events();
            self.publish_senders();
            let out = self.engine.transmit_buffer();
            if !out.is_empty() {
                if write_buf.is_empty() {
                    std::mem::swap(&mut write_buf, out);
                } else {
                    write_buf.extend_from_slice(out);
                    out.clear();
                }
            }
            if self.engine.is_closed() && write_buf.is_empty() {
                break Ok(());
            }
            let deadline = self.engine.poll_timeout();
            if read_buf.capacity() - read_buf.len() < 4096 {
                read_buf.reserve(READ_CHUNK);
            }
            tokio::select! {
                biased;
                r = write_or_flush(&mut wr, &write_buf), if unflushed || !write_buf.is_empty() => match r {
                    Ok(Some(0)) => break Err(Error::Io(std::io::ErrorKind::WriteZero.into())),
                    Ok(Some(n)) => {
                        write_buf.advance(n);
                        unflushed = true;
                    }
                    Ok(None) => unflushed = false,
                    Err(e) => break Err(Error::Io(e)),
                },
                cmd = self.control.recv(), if commands_open => match cmd {
                    Some(cmd) => {
                        self.command(cmd);
                        for _ in 1..COMMANDS_PER_WAKEUP {
                            match self.control.try_recv() {
                                Ok(cmd) => self.command(cmd),
                                Err(_) => break,
                            }
                        }
                    }
                    None => {
                        // Every handle is gone: write what they sent, then close gracefully.
                        commands_open = false;
                        self.drain_data();
                        self.engine.close(None);
                    }
                },
                r = rd.read_buf(&mut read_buf) => match r {
                    Ok(0) => break Err(Error::Io(std::io::ErrorKind::UnexpectedEof.into())),
                    Ok(_) => {
                        let chunk = read_buf.split();
                        let input = self.engine.read_buffer();
                        if input.is_empty() {
                            *input = chunk;
                        } else {
                            input.unsplit(chunk);
                        }
                        if let Err(e) = self.engine.handle_input(now()) {
                            tracing::debug!(error = %e, "connection failed on input");
                        }
                    }
                    Err(e) => break Err(Error::Io(e)),
                },
                Some(cmd) = self.data.recv(), if commands_open && write_buf.len() < MAX_UNWRITTEN => {
                    self.command(cmd);
                    for _ in 1..COMMANDS_PER_WAKEUP {
                        if write_buf.len() + self.engine.transmit_buffer().len() >= MAX_UNWRITTEN {
                            break;
                        }
                        match self.data.try_recv() {
                            Ok(cmd) => self.command(cmd),
                            Err(_) => break,
                        }
                    }
                }
                _ = sleep_until(deadline) => {
                    if let Err(e) = self.engine.handle_timeout(now()) {
                        tracing::debug!(error = %e, "connection timed out");
                    }
                }
            }
        };
        self.dispatch_events();
        let _ = wr.flush().await;
        let _ = wr.shutdown().await;
        self.fail_all(exit.err());
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Begin(reply) => match self.engine.begin() {
                Ok(s) => {
                    self.begins.insert(s, reply);
                }
                Err(e) => drop(reply.send(Err(e.into()))),
            },
            Command::End(s, error) => {
                let _ = self.engine.end(s, error.map(|e| *e));
            }
            Command::Attach {
                session,
                config,
                setup,
                reply,
            } => match self.engine.attach(session, *config) {
                Ok(link) => {
                    if let LinkSetup::Receiver(r) = &setup {
                        if r.prefetch > 0 {
                            let _ = self.engine.flow(link, r.prefetch, false);
                        }
                    }
                    self.attaches.insert(link, (reply, setup));
                }
                Err(e) => drop(reply.send(Err(e.into()))),
            },
            Command::Accept {
                link,
                config,
                setup,
                reply,
            } => match self.engine.accept_link(link, *config) {
                Ok(()) => {
                    self.install(link, setup);
                    let max = self.engine.max_message_size(link).unwrap_or(u64::MAX);
                    if reply.send(Ok(max)).is_err() {
                        // Whoever accepted it is gone: nobody would use the link.
                        self.forget_link(link);
                        let _ = self.engine.detach(link, true, None);
                    }
                }
                Err(e) => drop(reply.send(Err(e.into()))),
            },
            Command::Refuse(link, error) => {
                let _ = self.engine.refuse_link(link, *error);
            }
            Command::Send {
                link,
                payload,
                format,
                reply,
            } => {
                if let Some(s) = self.senders.get_mut(&link) {
                    s.held += 1;
                    s.taken += 1;
                }
                let settled = reply.is_none();
                self.next_context += 1;
                let ctx = self.next_context;
                match self.engine.send(link, payload, format, settled, ctx) {
                    Ok(()) => {
                        if let Some(r) = reply {
                            self.outcomes.insert(ctx, r);
                        }
                    }
                    Err(e) => {
                        if let Some(r) = reply {
                            let _ = r.send(Err(e.into()));
                        } else {
                            tracing::debug!(error = %e, "pre-settled send failed");
                        }
                    }
                }
            }
            Command::SendSettledMany {
                link,
                payloads,
                format,
            } => {
                if let Some(s) = self.senders.get_mut(&link) {
                    s.held += payloads.len() as u32;
                    s.taken += payloads.len() as u64;
                }
                for payload in payloads {
                    self.next_context += 1;
                    let ctx = self.next_context;
                    if let Err(e) = self.engine.send(link, payload, format, true, ctx) {
                        tracing::debug!(error = %e, "pre-settled send failed");
                        break;
                    }
                }
            }
            Command::SettleEach {
                session,
                ids,
                state,
            } => {
                for id in ids {
                    let _ = self
                        .engine
                        .disposition(session, id, id, true, Some(state.clone()));
                }
            }
            Command::AddCredit(link, n) => {
                let credit = self.engine.credit(link).unwrap_or(0).saturating_add(n);
                let _ = self.engine.flow(link, credit, false);
            }
            Command::Drain(link, reply) => {
                let credit = self.engine.credit(link).unwrap_or(0);
                match self.engine.flow(link, credit, true) {
                    Ok(()) => {
                        self.drains.insert(link, reply);
                    }
                    Err(e) => drop(reply.send(Err(e.into()))),
                }
            }
            Command::Disposition {
                session,
                first,
                last,
                state,
            } => {
                let _ = self.engine.disposition(session, first, last, true, state);
            }
            Command::Detach {
                link,
                closed,
                error,
                reply,
            } => {
                // Sends handed over before the detach go first.
                self.drain_data();
                match self.engine.detach(link, closed, error.map(|e| *e)) {
                    Ok(()) => {
                        if let Some(r) = reply {
                            self.detaches.insert(link, r);
                        }
                    }
                    Err(e) => {
                        if let Some(r) = reply {
                            let _ = r.send(Err(e.into()));
                        }
                    }
                }
            }
            Command::DetachWhenDrained(link) => {
                // Its sends are ahead of it on the data channel.
                self.drain_data();
                if let Some(s) = self.senders.get_mut(&link) {
                    // The next pass over the senders detaches it once its queue is empty.
                    s.detach_when_drained = true;
                }
            }
            Command::Close(error, reply) => {
                // Sends handed over before the close go first.
                self.drain_data();
                self.engine.close(error.map(|e| *e));
                self.close_reply = Some(reply);
            }
        }
    }

    /// Hands the engine every send already waiting on the data channel.
    fn drain_data(&mut self) {
        while let Ok(cmd) = self.data.try_recv() {
            self.command(cmd);
        }
    }

    /// Installs the task-side state of a link that is now attached.
    fn install(&mut self, link: LinkId, setup: LinkSetup) {
        match setup {
            LinkSetup::Sender(setup) => {
                self.senders.insert(
                    link,
                    SenderState {
                        setup,
                        held: 0,
                        taken: 0,
                        detach_when_drained: false,
                    },
                );
            }
            LinkSetup::Receiver(r) => {
                if r.prefetch > 0 && self.engine.credit(link) == Some(0) {
                    let _ = self.engine.flow(link, r.prefetch, false);
                }
                self.receivers.insert(link, r);
            }
        }
    }

    /// Drops the task-side state of a link; waiting senders learn it is gone.
    fn forget_link(&mut self, link: LinkId) {
        if let Some(s) = self.senders.remove(&link) {
            s.setup.permits.close();
        }
        self.receivers.remove(&link);
    }

    /// For each sender link: returns the permits of deliveries that left the engine's queue
    /// (written, or dropped with the link), publishes how many more deliveries the link's
    /// credit can take now, and detaches it if every handle is gone and nothing waits.
    fn publish_senders(&mut self) {
        let mut drained = Vec::new();
        for (link, s) in &mut self.senders {
            let queued = self.engine.queued(*link).unwrap_or(0) as u32;
            if s.held > queued {
                s.setup.permits.add_permits((s.held - queued) as usize);
                s.held = queued;
            }
            if s.detach_when_drained && queued == 0 {
                drained.push(*link);
                continue;
            }
            let now = CreditState {
                usable: self
                    .engine
                    .credit(*link)
                    .unwrap_or(0)
                    .saturating_sub(queued),
                taken: s.taken,
            };
            s.setup
                .credit
                .send_if_modified(|v| std::mem::replace(v, now) != now);
        }
        for link in drained {
            self.forget_link(link);
            let _ = self.engine.detach(link, true, None);
        }
    }

    fn dispatch_events(&mut self) {
        while let Some(event) = self.engine.poll_event() {
            self.event(event);
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Opened(open) => {
                if let Some(tx) = self.opened.take() {
                    let _ = tx.send(Ok(open));
                }
            }
            Event::SessionBegun {
                session,
                remote_initiated: false,
            } => {
                if let Some(r) = self.begins.remove(&session) {
                    if r.send(Ok(session)).is_err() {
                        // Whoever began it gave up waiting: nobody will use it.
                        let _ = self.engine.end(session, None);
                    }
                }
            }
            Event::SessionEnded { session, error } => {
                if let Some(r) = self.begins.remove(&session) {
                    let _ = r.send(Err(Error::SessionEnded(error)));
                }
            }
            Event::LinkRequested {
                link,
                session,
                attach,
            } => {
                let handle = self.own.upgrade();
                match (&self.incoming, handle) {
                    (Some(tx), Some(channels)) => {
                        let _ = tx.send(IncomingLink::new(link, session, attach, channels));
                    }
                    _ => {
                        let _ = self.engine.refuse_link(
                            link,
                            AmqpError::new(
                                eventhubs_amqp::definitions::condition::NOT_ALLOWED,
                                "links are not accepted here",
                            ),
                        );
                    }
                }
            }
            Event::LinkAttached { link, attach } => {
                if let Some((reply, setup)) = self.attaches.remove(&link) {
                    self.install(link, setup);
                    let attached = Attached {
                        link,
                        remote: attach,
                        max_message_size: self.engine.max_message_size(link).unwrap_or(u64::MAX),
                    };
                    if reply.send(Ok(attached)).is_err() {
                        // The attach was cancelled: detach rather than leave a link nobody
                        // owns holding credit (or a place in the peer's quota).
                        self.forget_link(link);
                        let _ = self.engine.detach(link, true, None);
                    }
                }
            }
            Event::LinkDetached { link, error, .. } => {
                if let Some(s) = self.senders.remove(&link) {
                    s.setup.permits.close();
                }
                if let Some((reply, _)) = self.attaches.remove(&link) {
                    let _ = reply.send(Err(Error::LinkDetached(error.clone())));
                }
                if let Some(r) = self.receivers.remove(&link) {
                    let _ = r
                        .deliveries
                        .send(ReceiverEvent::Detached(Error::LinkDetached(error.clone())));
                }
                if let Some(r) = self.detaches.remove(&link) {
                    let _ = r.send(Ok(()));
                }
                if let Some(r) = self.drains.remove(&link) {
                    let _ = r.send(Err(Error::LinkDetached(error.clone())));
                }
            }
            Event::Delivery { link, delivery } => {
                if let Some(r) = self.receivers.get(&link) {
                    let _ = r.deliveries.send(ReceiverEvent::Delivery(delivery));
                }
            }
            Event::Drained { link } => {
                if let Some(r) = self.drains.remove(&link) {
                    let _ = r.send(Ok(()));
                }
            }
            Event::Outcome {
                context,
                state,
                settled,
                ..
            } if (settled || state.as_ref().is_some_and(DeliveryState::is_terminal)) => {
                if let Some(r) = self.outcomes.remove(&context) {
                    let result = match state {
                        Some(DeliveryState::Accepted) | None => Ok(DeliveryState::Accepted),
                        Some(other) => Err(Error::NotAccepted(other)),
                    };
                    let _ = r.send(result);
                }
            }
            Event::Closed { error, by_peer } => {
                if let Some(tx) = self.opened.take() {
                    let _ = tx.send(Err(Error::ConnectionClosed(error.clone())));
                }
                if by_peer {
                    tracing::debug!(?error, "connection closed by peer");
                    if let Some(e) = &error {
                        self.own.cause.set(e.clone());
                    }
                }
                if let Some(r) = self.close_reply.take() {
                    let _ = r.send(Ok(()));
                }
                self.fail_links(|| Error::ConnectionClosed(error.clone()));
            }
            _ => {}
        }
    }

    fn fail_links(&mut self, err: impl Fn() -> Error) {
        for (_, s) in self.senders.drain() {
            s.setup.permits.close();
        }
        for (_, r) in self.begins.drain() {
            let _ = r.send(Err(err()));
        }
        for (_, (r, _)) in self.attaches.drain() {
            let _ = r.send(Err(err()));
        }
        for (_, r) in self.receivers.drain() {
            let _ = r.deliveries.send(ReceiverEvent::Detached(err()));
        }
        for (_, r) in self.outcomes.drain() {
            let _ = r.send(Err(err()));
        }
        for (_, r) in self.drains.drain() {
            let _ = r.send(Err(err()));
        }
        for (_, r) in self.detaches.drain() {
            let _ = r.send(Err(err()));
        }
    }

    fn fail_all(&mut self, error: Option<Error>) {
        let msg = error.as_ref().map(|e| e.to_string());
        if let Some(e) = &error {
            tracing::debug!(error = %e, "connection task ended");
        }
        if let Some(tx) = self.opened.take() {
            let _ = tx.send(Err(error.unwrap_or(Error::Closed)));
        }
        if let Some(r) = self.close_reply.take() {
            let _ = r.send(Ok(()));
        }
        self.fail_links(|| match &msg {
            Some(m) => Error::Io(std::io::Error::other(m.clone())),
            None => Error::Closed,
        });
    }
}

/// The engine's "now": tokio's clock, so heartbeats and idle timeouts follow a paused test
/// clock too (with std's clock, a paused runtime would see every deadline as already due
/// and spin).
pub(crate) fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

async fn sleep_until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// Writes what `buf` holds (`Some(bytes written)`), or flushes the stream once it is empty
/// (`None`). Cancel-safe, as `select!` needs: a write either happened or did not, and a
/// flush can be repeated.
async fn write_or_flush<W: AsyncWrite + Unpin>(
    wr: &mut W,
    buf: &[u8],
) -> std::io::Result<Option<usize>> {
    if buf.is_empty() {
        wr.flush().await.map(|()| None)
    } else {
        wr.write(buf).await.map(Some)
    }
}
