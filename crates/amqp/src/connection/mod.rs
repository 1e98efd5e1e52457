//! The sans-IO connection state machine: protocol headers, SASL, open/close, sessions,
//! links, credit, transfers and settlement, for both the client and the server role.
//!
//! Drive it like this: put received bytes into [`Connection::read_buffer`] and call
//! [`Connection::handle_input`]; write out and clear [`Connection::transmit_buffer`];
//! drain [`Connection::poll_event`]; call [`Connection::handle_timeout`] at
//! [`Connection::poll_timeout`]. It never reads a clock: every time-dependent call takes
//! `now`, so tests can run two peers against each other with virtual time.
//!
//! ```
//! use std::time::Instant;
//! use eventhubs_amqp::connection::{Connection, ConnectionConfig, Event, LinkConfig};
//!
//! let now = Instant::now();
//! let mut client = Connection::new(ConnectionConfig::client("client"), now);
//! let mut server = Connection::new(ConnectionConfig::server("server"), now);
//! // Move bytes both ways until both sides are quiet.
//! let mut pump = |a: &mut Connection, b: &mut Connection| loop {
//!     let (ab, ba) = (a.transmit_buffer().split(), b.transmit_buffer().split());
//!     if ab.is_empty() && ba.is_empty() { break; }
//!     b.read_buffer().extend_from_slice(&ab);
//!     b.handle_input(now).unwrap();
//!     a.read_buffer().extend_from_slice(&ba);
//!     a.handle_input(now).unwrap();
//! };
//! pump(&mut client, &mut server);
//! assert!(client.is_open() && server.is_open());
//!
//! let session = client.begin().unwrap();
//! let link = client.attach(session, LinkConfig::sender("s", "queue")).unwrap();
//! pump(&mut client, &mut server);
//! let requested = std::iter::from_fn(|| server.poll_event())
//!     .find_map(|e| match e { Event::LinkRequested { link, .. } => Some(link), _ => None })
//!     .unwrap();
//! server.accept_link(requested, LinkConfig::default()).unwrap();
//! server.flow(requested, 10, false).unwrap();
//! client.send(link, bytes::Bytes::from_static(b"\x00\x53\x75\xa0\x02hi"), 0, true, 0).unwrap();
//! pump(&mut client, &mut server);
//! let delivered = std::iter::from_fn(|| server.poll_event())
//!     .any(|e| matches!(e, Event::Delivery { delivery, .. } if &delivery.payload[..] == b"\x00\x53\x75\xa0\x02hi"));
//! assert!(delivered);
//! ```

mod config;
mod error;
mod event;
mod input;
mod link;
mod session;
mod transfer;

#[cfg(test)]
mod tests;

pub use config::{ConnectionConfig, SaslClient, Side};
pub use error::ConnectionError;
pub use event::{Delivery, Event, LinkId, SessionId};
pub use link::LinkConfig;

/// The `tracing` target of the per-frame log: every performative sent and received at
/// `trace` level (payloads only by length), e.g. `RUST_LOG=eventhubs_amqp::frames=trace`.
pub const FRAME_TRACE: &str = "eventhubs_amqp::frames";

use std::collections::VecDeque;

use crate::id_map::IdMap;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};

use crate::codec::Encode;
use crate::definitions::{condition, AmqpError, Role};
use crate::frame::{self, ProtocolHeader};
use crate::performatives::{Attach, Begin, Close, Detach, End, Flow, Open};
use link::{Link, LinkState};
use session::{Session, SessionState};

/// Where the connection is in its handshake and lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Client: waiting for the server's SASL header.
    AwaitSaslHeader,
    /// Client: waiting for sasl-mechanisms.
    AwaitMechanisms,
    /// Client: waiting for sasl-outcome.
    AwaitOutcome,
    /// Waiting for the peer's AMQP header (client after SASL or bare; server after SASL).
    AwaitAmqpHeader,
    /// Server: waiting for the first protocol header.
    AwaitHeader,
    /// Server: waiting for sasl-init.
    AwaitInit,
    /// AMQP frames flow.
    Frames,
    /// Closed (sent and/or received close, or failed).
    Closed,
}

/// One AMQP connection endpoint and all its sessions and links. See the module docs.
#[derive(Debug)]
pub struct Connection {
    config: ConnectionConfig,
    phase: Phase,
    input: BytesMut,
    output: BytesMut,
    events: VecDeque<Event>,
    sessions: IdMap<u16, Session>,
    /// Remote channel → local channel.
    remote_channels: IdMap<u16, u16>,
    links: IdMap<LinkId, Link>,
    next_link_id: u64,
    remote_max_frame_size: u32,
    remote_channel_max: u16,
    remote_idle_timeout: Option<Duration>,
    open_sent: bool,
    open_received: bool,
    close_sent: bool,
    now: Instant,
    /// When the endpoint was made: the handshake timeout runs from here.
    created: Instant,
    last_received: Instant,
    last_sent: Instant,
}

impl Connection {
    /// A new endpoint. A client writes its first protocol header (and, without SASL, its
    /// open) into the transmit buffer at once.
    pub fn new(config: ConnectionConfig, now: Instant) -> Self {
        let mut c = Self {
            phase: Phase::AwaitHeader,
            input: BytesMut::with_capacity(64 * 1024),
            output: BytesMut::with_capacity(64 * 1024),
            events: VecDeque::new(),
            sessions: IdMap::default(),
            remote_channels: IdMap::default(),
            links: IdMap::default(),
            next_link_id: 0,
            remote_max_frame_size: frame::MIN_MAX_FRAME_SIZE,
            remote_channel_max: u16::MAX,
            remote_idle_timeout: None,
            open_sent: false,
            open_received: false,
            close_sent: false,
            now,
            created: now,
            last_received: now,
            last_sent: now,
            config,
        };
        if c.config.side == Side::Client {
            if c.config.sasl_client == SaslClient::None {
                c.output.put_slice(&ProtocolHeader::Amqp.bytes());
                c.send_open();
                c.phase = Phase::AwaitAmqpHeader;
            } else {
                c.output.put_slice(&ProtocolHeader::Sasl.bytes());
                c.phase = Phase::AwaitSaslHeader;
            }
        }
        c
    }

    /// The configuration this endpoint was created with.
    pub fn config(&self) -> &ConnectionConfig {
        &self.config
    }

    /// Buffer to append received bytes to before calling [`Connection::handle_input`].
    pub fn read_buffer(&mut self) -> &mut BytesMut {
        &mut self.input
    }

    /// Encoded bytes waiting to be written. The driver writes them and clears the buffer
    /// (keeping its allocation).
    pub fn transmit_buffer(&mut self) -> &mut BytesMut {
        &mut self.output
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// True once both opens are exchanged and until close.
    pub fn is_open(&self) -> bool {
        self.phase == Phase::Frames && self.open_received && self.open_sent
    }

    /// True once the connection is closed (by either side or by an error).
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// The largest frame we may send (the peer's max-frame-size).
    pub fn remote_max_frame_size(&self) -> u32 {
        self.remote_max_frame_size
    }

    /// When [`Connection::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase == Phase::Closed {
            return None;
        }
        let heartbeat = self.remote_idle_timeout.map(|t| self.last_sent + t / 2);
        let expiry = self
            .config
            .idle_timeout
            .filter(|_| self.open_received)
            .map(|t| self.last_received + t);
        let handshake = self.handshake_deadline();
        [heartbeat, expiry, handshake].into_iter().flatten().min()
    }

    /// Until the peer's open arrives: when the handshake must be done.
    fn handshake_deadline(&self) -> Option<Instant> {
        self.config
            .handshake_timeout
            .filter(|_| !self.open_received)
            .map(|t| self.created + t)
    }

    /// Sends a heartbeat when one is due and fails the connection when the peer has been
    /// silent for longer than our idle timeout, or has not finished the handshake within
    /// the handshake timeout.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ConnectionError> {
        self.now = now;
        if self.phase == Phase::Closed {
            return Ok(());
        }
        if self.handshake_deadline().is_some_and(|d| now >= d) {
            let err = AmqpError::new(
                condition::CONNECTION_FORCED,
                "the handshake (protocol header, SASL, open) was not completed in time",
            );
            self.fail(err);
            return Err(ConnectionError::HandshakeTimeout);
        }
        if let Some(t) = self.config.idle_timeout.filter(|_| self.open_received) {
            if now >= self.last_received + t {
                let err = AmqpError::new(
                    condition::RESOURCE_LIMIT_EXCEEDED,
                    "local-idle-timeout expired",
                );
                self.fail(err);
                return Err(ConnectionError::IdleTimeout);
            }
        }
        if let Some(t) = self.remote_idle_timeout {
            if now >= self.last_sent + t / 2 {
                // "an empty frame ... to keep the connection alive" (part 2 §2.4.5)
                self.output.put_slice(&frame::EMPTY_FRAME);
                self.last_sent = now;
            }
        }
        Ok(())
    }

    /// Starts a session.
    pub fn begin(&mut self) -> Result<SessionId, ConnectionError> {
        self.ensure_usable()?;
        let channel = self.free_channel()?;
        let window = self.config.session_window;
        self.sessions
            .insert(channel, Session::new(window, SessionState::BeginSent));
        let begin = Begin {
            remote_channel: None,
            next_outgoing_id: 0,
            incoming_window: window,
            outgoing_window: u32::MAX,
            ..Begin::default()
        };
        self.write(channel, &begin);
        Ok(SessionId(channel))
    }

    /// Ends a session (its links are detached implicitly).
    pub fn end(
        &mut self,
        session: SessionId,
        error: Option<AmqpError>,
    ) -> Result<(), ConnectionError> {
        let s = session_mut(&mut self.sessions, &session.0)?;
        if s.state == SessionState::EndSent {
            return Ok(());
        }
        s.state = SessionState::EndSent;
        self.write(session.0, &End { error });
        Ok(())
    }

    /// Attaches a new link on `session`.
    pub fn attach(
        &mut self,
        session: SessionId,
        config: LinkConfig,
    ) -> Result<LinkId, ConnectionError> {
        self.ensure_usable()?;
        let id = self.new_link_id();
        let mut link = Link::new(
            session,
            config.name.clone(),
            config.role,
            LinkState::AttachSent,
        );
        link.max_message_size = config
            .max_message_size
            .unwrap_or(self.config.max_message_size);
        let handle = self.take_handle(session, id)?;
        link.handle = Some(handle);
        link.snd_settle_mode = config.snd_settle_mode;
        link.rcv_settle_mode = config.rcv_settle_mode;
        let attach = self.attach_frame(&link, handle, config);
        self.links.insert(id, link);
        self.write(session.0, &attach);
        Ok(id)
    }

    /// Accepts a link the peer attached ([`Event::LinkRequested`]). `config.role` is
    /// ignored: our role is the opposite of the peer's.
    pub fn accept_link(
        &mut self,
        link_id: LinkId,
        config: LinkConfig,
    ) -> Result<(), ConnectionError> {
        let (session, handle) = self.answer_handle(link_id)?;
        let mut config = config;
        let link = link_mut(&mut self.links, &link_id)?;
        config.role = link.role;
        config.name = link.name.clone();
        // Echo the peer's terminus unless the application supplied its own (docs/PROTOCOL.md §9.5).
        if let Some((source, target)) = link.remote_terminus.take() {
            config.source = config.source.or(source);
            config.target = config.target.or(target);
        }
        link.handle = Some(handle);
        link.state = LinkState::Attached;
        link.max_message_size = config
            .max_message_size
            .unwrap_or(self.config.max_message_size);
        link.snd_settle_mode = config.snd_settle_mode;
        link.rcv_settle_mode = config.rcv_settle_mode;
        let link = link_ref(&self.links, &link_id)?;
        let attach = self.attach_frame(link, handle, config);
        self.write(session.0, &attach);
        self.flush_link(link_id);
        Ok(())
    }

    /// Refuses a link the peer attached: answers with a null terminus, then detaches with
    /// `error` (part 2 §2.6.3).
    pub fn refuse_link(
        &mut self,
        link_id: LinkId,
        error: AmqpError,
    ) -> Result<(), ConnectionError> {
        let (session, handle) = self.answer_handle(link_id)?;
        let link = link_mut(&mut self.links, &link_id)?;
        link.handle = Some(handle);
        link.state = LinkState::DetachSent;
        let attach = Attach {
            name: link.name.clone(),
            handle,
            role: link.role,
            initial_delivery_count: (link.role == Role::Sender).then_some(0),
            ..Attach::default()
        };
        self.write(session.0, &attach);
        self.write(
            session.0,
            &Detach {
                handle,
                closed: true,
                error: Some(error),
            },
        );
        Ok(())
    }

    /// Detaches (or, with `closed`, closes) a link.
    pub fn detach(
        &mut self,
        link_id: LinkId,
        closed: bool,
        error: Option<AmqpError>,
    ) -> Result<(), ConnectionError> {
        let link = link_mut(&mut self.links, &link_id)?;
        let Some(handle) = link.handle else {
            return Err(ConnectionError::InvalidState("link has no local handle"));
        };
        if link.state == LinkState::DetachSent {
            return Ok(());
        }
        link.state = LinkState::DetachSent;
        let channel = link.session.0;
        self.write(
            channel,
            &Detach {
                handle,
                closed,
                error,
            },
        );
        Ok(())
    }

    /// Sets a receiver link's credit (and drain flag) and tells the sender.
    pub fn flow(
        &mut self,
        link_id: LinkId,
        credit: u32,
        drain: bool,
    ) -> Result<(), ConnectionError> {
        let link = link_mut(&mut self.links, &link_id)?;
        if link.role != Role::Receiver {
            return Err(ConnectionError::InvalidState(
                "flow credit is granted by receivers",
            ));
        }
        link.credit = credit;
        link.drain = drain;
        if link.state == LinkState::Attached {
            self.write_link_flow(link_id, false);
        }
        Ok(())
    }

    /// Current credit of a link (for senders: how many deliveries may go out now).
    pub fn credit(&self, link: LinkId) -> Option<u32> {
        self.links.get(&link).map(|l| l.credit)
    }

    /// Which end of the connection this is.
    pub fn side(&self) -> Side {
        self.config.side
    }

    /// Deliveries queued on a sender link waiting for credit.
    pub fn queued(&self, link: LinkId) -> Option<usize> {
        self.links.get(&link).map(|l| l.queue.len())
    }

    /// Deliveries queued on all sender links, waiting for credit or session window.
    pub fn queued_total(&self) -> usize {
        self.links.values().map(|l| l.queue.len()).sum()
    }

    /// The largest message the peer accepts on a sender link (`u64::MAX` if unlimited).
    pub fn max_message_size(&self, link: LinkId) -> Option<u64> {
        self.links.get(&link).map(|l| l.remote_max_message_size)
    }

    /// Closes the connection with an optional error.
    pub fn close(&mut self, error: Option<AmqpError>) {
        if self.close_sent || self.phase == Phase::Closed && !self.open_sent {
            return;
        }
        if !self.open_sent && self.phase == Phase::Frames {
            self.send_open();
        }
        if self.open_sent {
            self.close_sent = true;
            self.write(0, &Close { error });
        } else {
            self.phase = Phase::Closed;
        }
    }

    // ----- internals shared by the other files of this module -----

    fn ensure_usable(&self) -> Result<(), ConnectionError> {
        if self.phase == Phase::Closed || self.close_sent {
            Err(ConnectionError::Closed)
        } else {
            Ok(())
        }
    }

    /// Checks that a peer-attached link awaits our answer and gives it a local handle.
    fn answer_handle(&mut self, link_id: LinkId) -> Result<(SessionId, u32), ConnectionError> {
        let link = link_ref(&self.links, &link_id)?;
        if link.state != LinkState::AttachReceived {
            return Err(ConnectionError::InvalidState(
                "link is not awaiting an answer",
            ));
        }
        let session = link.session;
        let handle = self.take_handle(session, link_id)?;
        Ok((session, handle))
    }

    fn new_link_id(&mut self) -> LinkId {
        self.next_link_id += 1;
        LinkId(self.next_link_id)
    }

    fn free_channel(&self) -> Result<u16, ConnectionError> {
        let max = self.config.channel_max.min(self.remote_channel_max);
        (0..=max)
            .find(|c| !self.sessions.contains_key(c))
            .ok_or(ConnectionError::Exhausted("channels"))
    }

    fn take_handle(&mut self, session: SessionId, link: LinkId) -> Result<u32, ConnectionError> {
        let s = session_mut(&mut self.sessions, &session.0)?;
        let h = s
            .free_handle()
            .ok_or(ConnectionError::Exhausted("link handles"))?;
        s.local_handles.insert(h, link);
        Ok(h)
    }

    fn attach_frame(&self, link: &Link, handle: u32, config: LinkConfig) -> Attach {
        Attach {
            name: link.name.clone(),
            handle,
            role: link.role,
            snd_settle_mode: config.snd_settle_mode,
            rcv_settle_mode: config.rcv_settle_mode,
            source: config.source,
            target: config.target,
            initial_delivery_count: (link.role == Role::Sender).then_some(0),
            max_message_size: (link.role == Role::Receiver).then_some(link.max_message_size),
            offered_capabilities: config.offered_capabilities,
            desired_capabilities: config.desired_capabilities,
            properties: config.properties,
            ..Attach::default()
        }
    }

    fn send_open(&mut self) {
        let open = Open {
            container_id: self.config.container_id.clone(),
            hostname: self.config.hostname.clone(),
            max_frame_size: self.config.max_frame_size,
            channel_max: self.config.channel_max,
            idle_time_out: self
                .config
                .idle_timeout
                .map(|d| d.as_millis().min(u32::MAX as u128) as u32),
            properties: self.config.properties.clone(),
            ..Open::default()
        };
        self.open_sent = true;
        self.write(0, &open);
    }

    /// Writes one AMQP frame without payload.
    fn write(&mut self, channel: u16, performative: &(impl Encode + std::fmt::Debug)) {
        tracing::trace!(target: FRAME_TRACE, channel, ?performative, "send");
        frame::write_amqp(&mut self.output, channel, performative, &[]);
        self.last_sent = self.now;
    }

    /// Writes a link-level flow frame carrying our view of the session and link state.
    fn write_link_flow(&mut self, link_id: LinkId, echo: bool) {
        let Some(link) = self.links.get(&link_id) else {
            return;
        };
        let Some(session) = self.sessions.get(&link.session.0) else {
            return;
        };
        let flow = Flow {
            next_incoming_id: Some(session.next_incoming_id),
            incoming_window: session.incoming_window,
            next_outgoing_id: session.next_outgoing_id,
            outgoing_window: u32::MAX,
            handle: link.handle,
            delivery_count: Some(link.delivery_count),
            link_credit: Some(link.credit),
            available: (link.role == Role::Sender).then_some(link.queue.len() as u32),
            drain: link.drain,
            echo,
            properties: None,
        };
        let channel = link.session.0;
        self.write(channel, &flow);
    }

    /// Writes a session-level flow (no handle), e.g. to reopen our incoming window.
    fn write_session_flow(&mut self, channel: u16) {
        let Some(session) = self.sessions.get(&channel) else {
            return;
        };
        let flow = Flow {
            next_incoming_id: Some(session.next_incoming_id),
            incoming_window: session.incoming_window,
            next_outgoing_id: session.next_outgoing_id,
            outgoing_window: u32::MAX,
            ..Flow::default()
        };
        self.write(channel, &flow);
    }

    /// Closes the connection because of a local error and reports it.
    fn fail(&mut self, error: AmqpError) {
        tracing::debug!(%error, "closing connection on error");
        if self.phase == Phase::Frames || self.open_sent {
            if !self.open_sent {
                self.send_open();
            }
            if !self.close_sent {
                self.close_sent = true;
                self.write(
                    0,
                    &Close {
                        error: Some(error.clone()),
                    },
                );
            }
        }
        self.phase = Phase::Closed;
        self.events.push_back(Event::Closed {
            error: Some(error),
            by_peer: false,
        });
    }
}

// Lookups by id that turn a missing entry into the typed error. Free functions over one
// field, so the caller can keep using the other fields while holding the reference.
fn link_mut<'a>(
    links: &'a mut IdMap<LinkId, Link>,
    id: &LinkId,
) -> Result<&'a mut Link, ConnectionError> {
    links.get_mut(id).ok_or(ConnectionError::Unknown("link"))
}

fn link_ref<'a>(links: &'a IdMap<LinkId, Link>, id: &LinkId) -> Result<&'a Link, ConnectionError> {
    links.get(id).ok_or(ConnectionError::Unknown("link"))
}

fn session_mut<'a>(
    sessions: &'a mut IdMap<u16, Session>,
    channel: &u16,
) -> Result<&'a mut Session, ConnectionError> {
    sessions
        .get_mut(channel)
        .ok_or(ConnectionError::Unknown("session"))
}

fn session_ref<'a>(
    sessions: &'a IdMap<u16, Session>,
    channel: &u16,
) -> Result<&'a Session, ConnectionError> {
    sessions
        .get(channel)
        .ok_or(ConnectionError::Unknown("session"))
}
