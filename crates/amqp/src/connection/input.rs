//! Reading: protocol headers, the SASL exchange and dispatch of AMQP frames.

use std::time::{Duration, Instant};

use bytes::{Buf, BufMut};

use super::link::{Link, LinkState};
use super::session::{Session, SessionState};
use super::{
    link_mut, session_mut, session_ref, Connection, ConnectionError, Event, Phase, SessionId,
};
use crate::definitions::{condition, AmqpError, Role};
use crate::frame::{self, FrameBody, FrameError, ProtocolHeader};
use crate::performatives::{Attach, Begin, Detach, End, Flow, Open, Performative};
use crate::sasl::{outcome, SaslFrame, SaslInit, SaslMechanisms, SaslOutcome};
use crate::types::Symbol;

impl Connection {
    /// Processes every complete header and frame in the read buffer. On a protocol
    /// violation the connection writes a close with the matching AMQP error, moves to the
    /// closed state and returns the error; the driver should flush output and hang up.
    pub fn handle_input(&mut self, now: Instant) -> Result<(), ConnectionError> {
        self.now = now;
        if !self.input.is_empty() {
            self.last_received = now;
        }
        loop {
            match self.phase {
                Phase::Closed => {
                    self.input.clear();
                    return Ok(());
                }
                Phase::AwaitHeader | Phase::AwaitSaslHeader | Phase::AwaitAmqpHeader => {
                    if self.input.len() < 8 {
                        return Ok(());
                    }
                    let mut raw = [0u8; 8];
                    raw.copy_from_slice(&self.input[..8]);
                    self.input.advance(8);
                    self.on_header(raw)?;
                }
                _ => {
                    let max = self.config.max_frame_size;
                    let parsed = match frame::parse(&mut self.input, max) {
                        Ok(Some(f)) => f,
                        Ok(None) => return Ok(()),
                        Err(e) => return Err(self.frame_error(e)),
                    };
                    if let Err(e) = self.on_frame(parsed.channel, parsed.body) {
                        if self.phase != Phase::Closed {
                            self.fail(protocol_error(&e));
                        }
                        return Err(e);
                    }
                }
            }
        }
    }

    fn frame_error(&mut self, e: FrameError) -> ConnectionError {
        let cond = match e {
            FrameError::Decode(_) => condition::DECODE_ERROR,
            _ => condition::FRAMING_ERROR,
        };
        self.fail(AmqpError::new(cond, e.to_string()));
        ConnectionError::Frame(e)
    }

    fn on_header(&mut self, raw: [u8; 8]) -> Result<(), ConnectionError> {
        let header = ProtocolHeader::parse(&raw).map_err(|b| self.bad_header(b))?;
        match (self.phase, header) {
            (Phase::AwaitSaslHeader, ProtocolHeader::Sasl) => self.phase = Phase::AwaitMechanisms,
            (Phase::AwaitAmqpHeader, ProtocolHeader::Amqp) => {
                if self.config.side == super::Side::Server {
                    self.output.put_slice(&ProtocolHeader::Amqp.bytes());
                }
                self.phase = Phase::Frames;
            }
            (Phase::AwaitHeader, ProtocolHeader::Sasl)
                if !self.config.sasl_server_mechanisms.is_empty() =>
            {
                self.output.put_slice(&ProtocolHeader::Sasl.bytes());
                let mechs = SaslMechanisms {
                    sasl_server_mechanisms: self.config.sasl_server_mechanisms.clone(),
                };
                frame::write_sasl(&mut self.output, &SaslFrame::Mechanisms(mechs));
                self.phase = Phase::AwaitInit;
            }
            (Phase::AwaitHeader, ProtocolHeader::Amqp) if self.config.allow_bare_amqp => {
                self.output.put_slice(&ProtocolHeader::Amqp.bytes());
                self.events.push_back(Event::SaslDone {
                    mechanism: None,
                    initial_response: None,
                });
                self.phase = Phase::Frames;
            }
            _ => return Err(self.bad_header(raw)),
        }
        Ok(())
    }

    /// "... it MUST reply with a protocol header for a protocol it supports and close the
    /// socket" (part 2 §2.2).
    fn bad_header(&mut self, raw: [u8; 8]) -> ConnectionError {
        if self.config.side == super::Side::Server {
            let reply = if self.config.sasl_server_mechanisms.is_empty() {
                ProtocolHeader::Amqp
            } else {
                ProtocolHeader::Sasl
            };
            self.output.put_slice(&reply.bytes());
        }
        self.phase = Phase::Closed;
        self.events.push_back(Event::Closed {
            error: Some(AmqpError::new(
                condition::NOT_ALLOWED,
                "unsupported protocol header",
            )),
            by_peer: false,
        });
        ConnectionError::BadProtocolHeader(raw)
    }

    fn on_frame(&mut self, channel: u16, body: FrameBody) -> Result<(), ConnectionError> {
        match (self.phase, body) {
            (Phase::AwaitMechanisms, FrameBody::Sasl(SaslFrame::Mechanisms(m))) => {
                self.on_mechanisms(m)
            }
            (Phase::AwaitOutcome, FrameBody::Sasl(SaslFrame::Outcome(o))) => self.on_outcome(o),
            (Phase::AwaitOutcome, FrameBody::Sasl(SaslFrame::Challenge(_))) => {
                // None of our mechanisms uses challenges; answer with an empty response and
                // let the server decide.
                let resp = crate::sasl::SaslResponse {
                    response: bytes::Bytes::new(),
                };
                frame::write_sasl(&mut self.output, &SaslFrame::Response(resp));
                Ok(())
            }
            (Phase::AwaitInit, FrameBody::Sasl(SaslFrame::Init(i))) => self.on_init(i),
            (Phase::Frames, FrameBody::Empty) => Ok(()),
            (
                Phase::Frames,
                FrameBody::Amqp {
                    performative,
                    payload,
                },
            ) => self.on_performative(channel, performative, payload),
            (_, other) => {
                let what = match other {
                    FrameBody::Empty => "empty frame",
                    FrameBody::Sasl(_) => "SASL frame",
                    FrameBody::Amqp { .. } => "AMQP frame",
                };
                Err(ConnectionError::Protocol(AmqpError::new(
                    condition::FRAMING_ERROR,
                    format!("unexpected {what} during {:?}", self.phase),
                )))
            }
        }
    }

    fn on_mechanisms(&mut self, m: SaslMechanisms) -> Result<(), ConnectionError> {
        let ours = self.config.sasl_client.mechanism();
        if !m.sasl_server_mechanisms.iter().any(|s| s.as_str() == ours) {
            self.phase = Phase::Closed;
            self.events.push_back(Event::Closed {
                error: Some(AmqpError::new(
                    condition::NOT_ALLOWED,
                    format!("server does not offer {ours}"),
                )),
                by_peer: false,
            });
            return Err(ConnectionError::SaslMechanismUnavailable(ours.to_owned()));
        }
        let init = SaslInit {
            mechanism: Symbol::from(ours),
            initial_response: self.config.sasl_client.initial_response(),
            hostname: self.config.hostname.clone(),
        };
        frame::write_sasl(&mut self.output, &SaslFrame::Init(init));
        self.phase = Phase::AwaitOutcome;
        Ok(())
    }

    fn on_outcome(&mut self, o: SaslOutcome) -> Result<(), ConnectionError> {
        if o.code != outcome::OK {
            self.phase = Phase::Closed;
            self.events.push_back(Event::Closed {
                error: Some(AmqpError::new(
                    condition::UNAUTHORIZED_ACCESS,
                    "SASL authentication failed",
                )),
                by_peer: true,
            });
            return Err(ConnectionError::SaslFailed(o.code));
        }
        let mech = Symbol::from(self.config.sasl_client.mechanism());
        self.events.push_back(Event::SaslDone {
            mechanism: Some(mech),
            initial_response: None,
        });
        // Pipeline the AMQP header and open right behind the outcome.
        self.output.put_slice(&ProtocolHeader::Amqp.bytes());
        self.send_open();
        self.phase = Phase::AwaitAmqpHeader;
        Ok(())
    }

    fn on_init(&mut self, init: SaslInit) -> Result<(), ConnectionError> {
        let offered = self.config.sasl_server_mechanisms.contains(&init.mechanism);
        let code = if offered { outcome::OK } else { outcome::AUTH };
        frame::write_sasl(
            &mut self.output,
            &SaslFrame::Outcome(SaslOutcome {
                code,
                additional_data: None,
            }),
        );
        if !offered {
            self.phase = Phase::Closed;
            self.events.push_back(Event::Closed {
                error: Some(AmqpError::new(
                    condition::UNAUTHORIZED_ACCESS,
                    "SASL mechanism not offered",
                )),
                by_peer: false,
            });
            return Err(ConnectionError::SaslFailed(code));
        }
        self.events.push_back(Event::SaslDone {
            mechanism: Some(init.mechanism),
            initial_response: init.initial_response,
        });
        self.phase = Phase::AwaitAmqpHeader;
        Ok(())
    }

    fn on_performative(
        &mut self,
        channel: u16,
        p: Performative,
        payload: bytes::Bytes,
    ) -> Result<(), ConnectionError> {
        tracing::trace!(target: super::FRAME_TRACE, channel, performative = ?p, payload = payload.len(), "recv");
        if !self.open_received && !matches!(p, Performative::Open(_)) {
            return Err(violation(
                condition::ILLEGAL_STATE,
                "first frame must be open",
            ));
        }
        match p {
            Performative::Open(o) => self.on_open(*o),
            Performative::Close(c) => {
                let by_peer = !self.close_sent;
                if !self.close_sent {
                    self.close_sent = true;
                    self.write(0, &crate::performatives::Close { error: None });
                }
                self.phase = Phase::Closed;
                self.events.push_back(Event::Closed {
                    error: c.error,
                    by_peer,
                });
                Ok(())
            }
            Performative::Begin(b) => self.on_begin(channel, *b),
            Performative::End(e) => self.on_end(channel, e),
            Performative::Attach(a) => self.on_attach(channel, *a),
            Performative::Detach(d) => self.on_detach(channel, d),
            Performative::Flow(f) => self.on_flow(channel, f),
            Performative::Transfer(t) => self.on_transfer(channel, t, payload),
            Performative::Disposition(d) => self.on_disposition(channel, d),
        }
    }

    fn on_open(&mut self, o: Open) -> Result<(), ConnectionError> {
        if self.open_received {
            return Err(violation(condition::ILLEGAL_STATE, "second open"));
        }
        self.open_received = true;
        self.remote_max_frame_size = o.max_frame_size.max(frame::MIN_MAX_FRAME_SIZE);
        self.remote_channel_max = o.channel_max;
        self.remote_idle_timeout = o
            .idle_time_out
            .filter(|&ms| ms > 0)
            .map(|ms| Duration::from_millis(ms as u64));
        if !self.open_sent {
            self.send_open();
        }
        self.events.push_back(Event::Opened(Box::new(o)));
        Ok(())
    }

    pub(super) fn local_channel(&self, remote: u16) -> Result<u16, ConnectionError> {
        self.remote_channels.get(&remote).copied().ok_or_else(|| {
            violation(
                condition::NOT_FOUND,
                format!("no session on channel {remote}"),
            )
        })
    }

    fn on_begin(&mut self, channel: u16, b: Begin) -> Result<(), ConnectionError> {
        if self.remote_channels.contains_key(&channel) {
            return Err(violation(
                condition::ILLEGAL_STATE,
                format!("channel {channel} already in use"),
            ));
        }
        let (local, remote_initiated) = match b.remote_channel {
            Some(local) => {
                let s = self
                    .sessions
                    .get_mut(&local)
                    .filter(|s| s.state == SessionState::BeginSent);
                let Some(s) = s else {
                    return Err(violation(
                        condition::ILLEGAL_STATE,
                        "begin answers no session of ours",
                    ));
                };
                s.state = SessionState::Mapped;
                (local, false)
            }
            None => {
                let local = self.free_channel().map_err(|_| {
                    violation(condition::RESOURCE_LIMIT_EXCEEDED, "channel-max reached")
                })?;
                let window = self.config.session_window;
                self.sessions
                    .insert(local, Session::new(window, SessionState::Mapped));
                (local, true)
            }
        };
        self.remote_channels.insert(channel, local);
        let s = session_mut(&mut self.sessions, &local)?;
        s.remote_channel = Some(channel);
        s.next_incoming_id = b.next_outgoing_id;
        s.remote_incoming_window = b.incoming_window;
        s.remote_handle_max = b.handle_max;
        if remote_initiated {
            let reply = Begin {
                remote_channel: Some(channel),
                next_outgoing_id: s.next_outgoing_id,
                incoming_window: s.incoming_window,
                outgoing_window: u32::MAX,
                ..Begin::default()
            };
            self.write(local, &reply);
        }
        self.events.push_back(Event::SessionBegun {
            session: SessionId(local),
            remote_initiated,
        });
        Ok(())
    }

    fn on_end(&mut self, channel: u16, e: End) -> Result<(), ConnectionError> {
        let local = self.local_channel(channel)?;
        self.remote_channels.remove(&channel);
        let Some(s) = self.sessions.remove(&local) else {
            return Ok(());
        };
        if s.state != SessionState::EndSent {
            self.write(local, &End { error: None });
        }
        let links: Vec<_> = s
            .local_handles
            .values()
            .chain(s.remote_handles.values())
            .copied()
            .collect();
        for id in links {
            if self.links.remove(&id).is_some() {
                self.events.push_back(Event::LinkDetached {
                    link: id,
                    closed: false,
                    error: e.error.clone(),
                    by_peer: true,
                });
            }
        }
        self.events.push_back(Event::SessionEnded {
            session: SessionId(local),
            error: e.error,
        });
        Ok(())
    }

    fn on_attach(&mut self, channel: u16, a: Attach) -> Result<(), ConnectionError> {
        let local = self.local_channel(channel)?;
        let session = session_ref(&self.sessions, &local)?;
        if session.remote_handles.contains_key(&a.handle) {
            return Err(violation(
                condition::HANDLE_IN_USE,
                format!("handle {} in use", a.handle),
            ));
        }
        // An answer to our attach has the same name and the opposite role.
        let ours = session.local_handles.values().copied().find(|id| {
            self.links.get(id).is_some_and(|l| {
                l.state == LinkState::AttachSent && l.name == a.name && l.role != a.role
            })
        });
        match ours {
            Some(id) => {
                let s = session_mut(&mut self.sessions, &local)?;
                s.remote_handles.insert(a.handle, id);
                let link = link_mut(&mut self.links, &id)?;
                link.remote_handle = Some(a.handle);
                apply_remote_attach(link, &a);
                let refused = match link.role {
                    Role::Sender => a.target.is_none(),
                    Role::Receiver => a.source.is_none(),
                };
                if refused {
                    link.state = LinkState::Refused;
                } else {
                    link.state = LinkState::Attached;
                    let grant = link.role == Role::Receiver && link.credit > 0;
                    self.events.push_back(Event::LinkAttached {
                        link: id,
                        attach: Box::new(a),
                    });
                    if grant {
                        self.write_link_flow(id, false);
                    }
                }
            }
            None => {
                let id = self.new_link_id();
                let role = match a.role {
                    Role::Sender => Role::Receiver,
                    Role::Receiver => Role::Sender,
                };
                let mut link = Link::new(
                    SessionId(local),
                    a.name.clone(),
                    role,
                    LinkState::AttachReceived,
                );
                link.remote_handle = Some(a.handle);
                apply_remote_attach(&mut link, &a);
                link.remote_terminus = Some((a.source.clone(), a.target.clone()));
                self.links.insert(id, link);
                let s = session_mut(&mut self.sessions, &local)?;
                s.remote_handles.insert(a.handle, id);
                self.events.push_back(Event::LinkRequested {
                    link: id,
                    session: SessionId(local),
                    attach: Box::new(a),
                });
            }
        }
        Ok(())
    }

    fn on_detach(&mut self, channel: u16, d: Detach) -> Result<(), ConnectionError> {
        let local = self.local_channel(channel)?;
        let s = session_mut(&mut self.sessions, &local)?;
        let Some(id) = s.remote_handles.remove(&d.handle) else {
            return Err(violation(
                condition::UNATTACHED_HANDLE,
                format!("detach of unattached handle {}", d.handle),
            ));
        };
        let Some(link) = self.links.remove(&id) else {
            return Ok(());
        };
        if let Some(h) = link.handle {
            s.local_handles.remove(&h);
        }
        s.unsettled_out.retain(|_, u| u.link != id);
        s.unsettled_in.retain(|_, l| *l != id);
        let by_peer = link.state != LinkState::DetachSent;
        if by_peer {
            // Answer with our own detach (we may not have a handle if we never answered).
            if let Some(h) = link.handle {
                self.write(
                    local,
                    &Detach {
                        handle: h,
                        closed: d.closed,
                        error: None,
                    },
                );
            }
        }
        self.events.push_back(Event::LinkDetached {
            link: id,
            closed: d.closed,
            error: d.error,
            by_peer,
        });
        Ok(())
    }

    fn on_flow(&mut self, channel: u16, f: Flow) -> Result<(), ConnectionError> {
        let local = self.local_channel(channel)?;
        let s = session_mut(&mut self.sessions, &local)?;
        // remote-incoming-window = next-incoming-id(flow) + incoming-window(flow) - next-outgoing-id(ours)
        let nid = f.next_incoming_id.unwrap_or(0);
        s.remote_incoming_window = nid
            .wrapping_add(f.incoming_window)
            .wrapping_sub(s.next_outgoing_id);
        let Some(handle) = f.handle else {
            if f.echo {
                self.write_session_flow(local);
            }
            self.flush_session(local);
            return Ok(());
        };
        let Some(&id) = s.remote_handles.get(&handle) else {
            return Err(violation(
                condition::UNATTACHED_HANDLE,
                format!("flow on unattached handle {handle}"),
            ));
        };
        let link = link_mut(&mut self.links, &id)?;
        match link.role {
            Role::Sender => {
                // link-credit(snd) = delivery-count(rcv) + link-credit(rcv) - delivery-count(snd)
                let rcv_count = f.delivery_count.unwrap_or(0);
                let credit = rcv_count
                    .wrapping_add(f.link_credit.unwrap_or(0))
                    .wrapping_sub(link.delivery_count);
                link.credit = if credit > i32::MAX as u32 { 0 } else { credit };
                link.drain = f.drain;
                self.events.push_back(Event::Credit {
                    link: id,
                    credit: link.credit,
                    drain: f.drain,
                });
                self.flush_session(local);
                let link = link_mut(&mut self.links, &id)?;
                if link.drain && link.queue.is_empty() && link.credit > 0 {
                    // Drain: use up the credit by advancing the delivery count (part 2 §2.6.7).
                    link.delivery_count = link.delivery_count.wrapping_add(link.credit);
                    link.credit = 0;
                    self.write_link_flow(id, false);
                } else if f.echo {
                    self.write_link_flow(id, false);
                }
            }
            Role::Receiver => {
                if let Some(dc) = f.delivery_count {
                    let consumed = dc.wrapping_sub(link.delivery_count);
                    link.delivery_count = dc;
                    link.credit = link.credit.saturating_sub(consumed);
                }
                if let Some(c) = f.link_credit {
                    link.credit = c;
                }
                if link.drain && link.credit == 0 {
                    link.drain = false;
                    self.events.push_back(Event::Drained { link: id });
                }
                if f.echo {
                    self.write_link_flow(id, false);
                }
            }
        }
        Ok(())
    }
}

fn apply_remote_attach(link: &mut Link, a: &Attach) {
    if link.role == Role::Sender {
        link.remote_max_message_size = match a.max_message_size {
            None | Some(0) => u64::MAX,
            Some(n) => n,
        };
    } else {
        link.delivery_count = a.initial_delivery_count.unwrap_or(0);
    }
}

pub(super) fn violation(cond: &'static str, msg: impl Into<String>) -> ConnectionError {
    ConnectionError::Protocol(AmqpError::new(cond, msg))
}

fn protocol_error(e: &ConnectionError) -> AmqpError {
    match e {
        ConnectionError::Protocol(a) => a.clone(),
        other => AmqpError::new(condition::INTERNAL_ERROR, other.to_string()),
    }
}
