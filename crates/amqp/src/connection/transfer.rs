//! Messages: sending with credit and session windows (splitting large deliveries into
//! frames), receiving and reassembling, and settlement in both directions.

use bytes::{BufMut, Bytes, BytesMut};

use super::input::violation;
use super::link::{LinkState, Outgoing, Partial};
use super::session::Unsettled;
use super::{
    link_mut, session_mut, Connection, ConnectionError, Delivery, Event, LinkId, SessionId,
};
use crate::codec::ListWriter;
use crate::definitions::{condition, Role};
use crate::delivery_state::DeliveryState;
use crate::descriptors;
use crate::frame;
use crate::performatives::{Disposition, Transfer};

/// Fixed part of a transfer frame's encoding that we can predict: used to check whether a
/// delivery fits in one frame before writing it.
const TRANSFER_OVERHEAD_MAX: usize = 64;

impl Connection {
    /// Queues a delivery on a sender link; it goes out as soon as the link has credit and
    /// the session window allows. `context` comes back in [`Event::Outcome`] for
    /// unsettled deliveries.
    pub fn send(
        &mut self,
        link_id: LinkId,
        payload: Bytes,
        message_format: u32,
        settled: bool,
        context: u64,
    ) -> Result<(), ConnectionError> {
        self.ensure_usable()?;
        let link = link_mut(&mut self.links, &link_id)?;
        if link.role != Role::Sender {
            return Err(ConnectionError::InvalidState("only sender links send"));
        }
        if matches!(link.state, LinkState::DetachSent | LinkState::Refused) {
            return Err(ConnectionError::InvalidState("link is detached"));
        }
        let size = payload.len() as u64;
        if size > link.remote_max_message_size {
            return Err(ConnectionError::MessageTooLarge {
                size,
                max: link.remote_max_message_size,
            });
        }
        link.queue.push_back(Outgoing {
            payload,
            format: message_format,
            settled,
            context,
        });
        if link.state == LinkState::Attached && link.credit > 0 {
            self.flush_link(link_id);
        }
        Ok(())
    }

    /// Settles (and/or sets the state of) deliveries `first..=last` we received on `session`.
    pub fn disposition(
        &mut self,
        session: SessionId,
        first: u32,
        last: u32,
        settled: bool,
        state: Option<DeliveryState>,
    ) -> Result<(), ConnectionError> {
        let s = session_mut(&mut self.sessions, &session.0)?;
        if settled {
            remove_range(&mut s.unsettled_in, first, last);
        }
        let d = Disposition {
            role: Role::Receiver,
            first,
            last: Some(last),
            settled,
            state,
            batchable: false,
        };
        self.write(session.0, &d);
        Ok(())
    }

    /// Sends queued deliveries on every link of a session.
    pub(super) fn flush_session(&mut self, channel: u16) {
        let Some(s) = self.sessions.get(&channel) else {
            return;
        };
        let links: Vec<LinkId> = s.local_handles.values().copied().collect();
        for id in links {
            self.flush_link(id);
        }
    }

    /// Sends queued deliveries of one link while credit and the session window allow.
    pub(super) fn flush_link(&mut self, link_id: LinkId) {
        loop {
            let Some(link) = self.links.get_mut(&link_id) else {
                return;
            };
            if link.state != LinkState::Attached || link.credit == 0 || link.queue.is_empty() {
                return;
            }
            let Some(session) = self.sessions.get_mut(&link.session.0) else {
                return;
            };
            if session.remote_incoming_window == 0 {
                return;
            }
            let Some(out) = link.queue.pop_front() else {
                return;
            };
            let (Some(handle), channel) = (link.handle, link.session.0) else {
                return;
            };
            link.credit -= 1;
            link.delivery_count = link.delivery_count.wrapping_add(1);
            let tag = link.next_tag.to_be_bytes();
            link.next_tag = link.next_tag.wrapping_add(1);
            let delivery_id = session.next_delivery_id;
            session.next_delivery_id = session.next_delivery_id.wrapping_add(1);
            if !out.settled {
                session.unsettled_out.insert(
                    delivery_id,
                    Unsettled {
                        link: link_id,
                        context: out.context,
                    },
                );
            }
            let max_frame = self.remote_max_frame_size as usize;
            tracing::trace!(target: super::FRAME_TRACE, channel, handle, delivery_id, settled = out.settled, payload = out.payload.len(), "send transfer");
            let frames = write_transfer(
                &mut self.output,
                channel,
                handle,
                delivery_id,
                &tag,
                &out,
                max_frame,
            );
            session.next_outgoing_id = session.next_outgoing_id.wrapping_add(frames);
            session.remote_incoming_window = session.remote_incoming_window.saturating_sub(frames);
            self.last_sent = self.now;
        }
    }

    pub(super) fn on_transfer(
        &mut self,
        channel: u16,
        t: Transfer,
        payload: Bytes,
    ) -> Result<(), ConnectionError> {
        let local = self.local_channel(channel)?;
        let s = session_mut(&mut self.sessions, &local)?;
        s.next_incoming_id = s.next_incoming_id.wrapping_add(1);
        s.incoming_window = s.incoming_window.saturating_sub(1);
        let reopen = s.incoming_window < s.window_size / 2;
        if reopen {
            s.incoming_window = s.window_size;
        }
        let Some(&id) = s.remote_handles.get(&t.handle) else {
            return Err(violation(
                condition::UNATTACHED_HANDLE,
                format!("transfer on unattached handle {}", t.handle),
            ));
        };
        let link = link_mut(&mut self.links, &id)?;
        if link.role != Role::Receiver {
            return Err(violation(
                condition::ILLEGAL_STATE,
                "transfer on a link where we are the sender",
            ));
        }
        let max = link.max_message_size;
        let too_big = |size: usize| max != 0 && size as u64 > max;
        let mut p = match link.partial.take() {
            Some(p) => p,
            None if t.aborted => Partial::aborted(),
            None => {
                let delivery_id = t.delivery_id.ok_or_else(|| {
                    violation(
                        condition::INVALID_FIELD,
                        "first transfer of a delivery without delivery-id",
                    )
                })?;
                Partial {
                    delivery_id,
                    tag: t.delivery_tag.clone().unwrap_or_default(),
                    format: t.message_format.unwrap_or(0),
                    settled: t.settled.unwrap_or(false),
                    data: BytesMut::new(),
                    size: 0,
                }
            }
        };
        let complete = if t.aborted {
            None
        } else if !t.more && p.size == 0 {
            // A whole delivery in one frame stays a zero-copy slice of the read buffer.
            p.size = payload.len();
            Some((p, payload))
        } else {
            p.size += payload.len();
            if too_big(p.size) {
                // Keep counting, stop buffering: the delivery will be rejected.
                p.data = BytesMut::new();
            } else {
                p.data.extend_from_slice(&payload);
            }
            p.settled |= t.settled == Some(true);
            if t.more {
                link.partial = Some(p);
                None
            } else {
                let data = std::mem::take(&mut p.data).freeze();
                Some((p, data))
            }
        };
        if let Some((p, payload)) = complete {
            link.credit = link.credit.saturating_sub(1);
            link.delivery_count = link.delivery_count.wrapping_add(1);
            if too_big(p.size) {
                // "amqp:link:message-size-exceeded" as a rejected outcome, like the service;
                // the connection and link stay up.
                tracing::debug!(size = p.size, max, "rejecting oversize delivery");
                if !p.settled {
                    let error = crate::definitions::AmqpError::new(
                        condition::MESSAGE_SIZE_EXCEEDED,
                        format!("The received message (delivery-id:{}, size:{} bytes) exceeds the limit ({max} bytes) currently allowed on the link.", p.delivery_id, p.size),
                    );
                    let d = Disposition {
                        role: Role::Receiver,
                        first: p.delivery_id,
                        last: Some(p.delivery_id),
                        settled: true,
                        state: Some(DeliveryState::Rejected(Some(error))),
                        batchable: false,
                    };
                    self.write(local, &d);
                }
            } else {
                if !p.settled {
                    s.unsettled_in.insert(p.delivery_id, id);
                }
                let delivery = Delivery {
                    delivery_id: p.delivery_id,
                    tag: p.tag,
                    message_format: p.format,
                    settled: p.settled,
                    payload,
                };
                self.events
                    .push_back(Event::Delivery { link: id, delivery });
            }
        }
        if reopen {
            self.write_session_flow(local);
        }
        Ok(())
    }

    pub(super) fn on_disposition(
        &mut self,
        channel: u16,
        d: Disposition,
    ) -> Result<(), ConnectionError> {
        let local = self.local_channel(channel)?;
        let s = session_mut(&mut self.sessions, &local)?;
        let last = d.last.unwrap_or(d.first);
        match d.role {
            // The peer is the receiver: this is about deliveries we sent.
            Role::Receiver => {
                let mut to_settle = Vec::new();
                for (id, u) in range(&s.unsettled_out, d.first, last) {
                    self.events.push_back(Event::Outcome {
                        link: u.link,
                        context: u.context,
                        state: d.state.clone(),
                        settled: d.settled,
                    });
                    to_settle.push(id);
                }
                if d.settled {
                    remove_range(&mut s.unsettled_out, d.first, last);
                } else if d.state.as_ref().is_some_and(DeliveryState::is_terminal)
                    && !to_settle.is_empty()
                {
                    // rcv-settle-mode second: the receiver waits for us to settle.
                    remove_range(&mut s.unsettled_out, d.first, last);
                    let reply = Disposition {
                        role: Role::Sender,
                        first: d.first,
                        last: Some(last),
                        settled: true,
                        state: d.state,
                        batchable: false,
                    };
                    self.write(local, &reply);
                }
            }
            // The peer is the sender: it settled deliveries it sent us.
            Role::Sender => {
                if d.settled {
                    let settled: Vec<(u32, LinkId)> =
                        range(&s.unsettled_in, d.first, last).collect();
                    remove_range(&mut s.unsettled_in, d.first, last);
                    for (delivery_id, link) in settled {
                        self.events.push_back(Event::RemoteSettled {
                            link,
                            delivery_id,
                            state: d.state.clone(),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// Entries of a delivery-id keyed map within `first..=last` (serial-number wrap aware).
fn range<V: Copy>(
    map: &std::collections::BTreeMap<u32, V>,
    first: u32,
    last: u32,
) -> impl Iterator<Item = (u32, V)> + '_ {
    let (a, b) = if first <= last {
        (first..=last, None)
    } else {
        (first..=u32::MAX, Some(0..=last))
    };
    map.range(a)
        .chain(b.into_iter().flat_map(|b| map.range(b)))
        .map(|(k, v)| (*k, *v))
}

fn remove_range<V>(map: &mut std::collections::BTreeMap<u32, V>, first: u32, last: u32) {
    // A peer controls `first` and `last`: a wrapped range like 9..=0 spans four billion
    // ids, so walk the map, not the range, whenever the range is the larger (found by
    // fuzzing).
    let span = last.wrapping_sub(first) as u64 + 1;
    if span > map.len() as u64 {
        map.retain(|k, _| k.wrapping_sub(first) as u64 >= span);
        return;
    }
    let mut id = first;
    loop {
        map.remove(&id);
        if id == last {
            break;
        }
        id = id.wrapping_add(1);
    }
}

/// Writes the transfer frame(s) of one delivery and returns how many frames it used.
fn write_transfer(
    buf: &mut BytesMut,
    channel: u16,
    handle: u32,
    delivery_id: u32,
    tag: &[u8],
    out: &Outgoing,
    max_frame: usize,
) -> u32 {
    let payload = &out.payload[..];
    if payload.len() + frame::HEADER_SIZE + TRANSFER_OVERHEAD_MAX <= max_frame {
        write_transfer_frame(
            buf,
            channel,
            handle,
            Some((delivery_id, tag, out.format, out.settled)),
            false,
            payload,
        );
        return 1;
    }
    let mut frames = 0;
    let mut rest = payload;
    let mut first = true;
    while first || !rest.is_empty() {
        let budget = max_frame
            .saturating_sub(frame::HEADER_SIZE + TRANSFER_OVERHEAD_MAX)
            .max(1);
        let n = rest.len().min(budget);
        let (chunk, tail) = rest.split_at(n);
        let head = first.then_some((delivery_id, tag, out.format, out.settled));
        write_transfer_frame(buf, channel, handle, head, !tail.is_empty(), chunk);
        rest = tail;
        first = false;
        frames += 1;
    }
    frames
}

/// Encodes a transfer frame without building a [`Transfer`] value (no allocation for the
/// tag). Byte-identical to `Transfer`'s own encoding, every field present.
#[inline]
fn write_transfer_frame(
    buf: &mut BytesMut,
    channel: u16,
    handle: u32,
    head: Option<(u32, &[u8], u32, bool)>,
    more: bool,
    payload: &[u8],
) {
    let start = buf.len();
    buf.reserve(frame::HEADER_SIZE + TRANSFER_OVERHEAD_MAX + payload.len());
    buf.put_u32(0);
    buf.put_u8(2);
    buf.put_u8(0);
    buf.put_u16(channel);
    let mut w = ListWriter::described(buf, descriptors::TRANSFER);
    w.field(&handle);
    match head {
        Some((id, tag, format, settled)) => {
            w.field(&id)
                .field(&Binary(tag))
                .field(&format)
                .field(&settled);
        }
        None => {
            w.field(&None::<u32>)
                .field(&None::<u32>)
                .field(&None::<u32>)
                .field(&None::<bool>);
        }
    }
    w.field(&more)
        .field(&None::<u8>)
        .field(&None::<DeliveryState>)
        .field(&false)
        .field(&false)
        .field(&false);
    w.finish();
    buf.put_slice(payload);
    let size = (buf.len() - start) as u32;
    buf[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// Borrowed binary for encoding without allocation.
struct Binary<'a>(&'a [u8]);

impl crate::codec::Encode for Binary<'_> {
    #[inline]
    fn encode(&self, buf: &mut BytesMut) {
        crate::codec::__private::write_variable(
            buf,
            crate::codec::code::VBIN8,
            crate::codec::code::VBIN32,
            self.0,
        );
    }
}
