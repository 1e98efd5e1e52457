//! Two peers driven against each other in memory, with virtual time.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::definitions::{condition, AmqpError, ReceiverSettleMode, SenderSettleMode};
use crate::delivery_state::DeliveryState;

struct Pair {
    client: Connection,
    server: Connection,
    now: Instant,
    client_events: Vec<Event>,
    server_events: Vec<Event>,
    /// Bytes moved client → server and server → client so far.
    moved: (usize, usize),
}

impl Pair {
    fn new(client: ConnectionConfig, server: ConnectionConfig) -> Self {
        let now = Instant::now();
        let mut p = Self {
            client: Connection::new(client, now),
            server: Connection::new(server, now),
            now,
            client_events: Vec::new(),
            server_events: Vec::new(),
            moved: (0, 0),
        };
        p.pump();
        p
    }

    fn default_pair() -> Self {
        Self::new(
            ConnectionConfig::client("client"),
            ConnectionConfig::server("server"),
        )
    }

    /// Moves bytes both ways until neither side has anything to say.
    fn pump(&mut self) {
        for _ in 0..1000 {
            let c2s = self.client.transmit_buffer().split();
            let s2c = self.server.transmit_buffer().split();
            if c2s.is_empty() && s2c.is_empty() {
                break;
            }
            self.moved.0 += c2s.len();
            self.moved.1 += s2c.len();
            self.server.read_buffer().extend_from_slice(&c2s);
            let _ = self.server.handle_input(self.now);
            self.client.read_buffer().extend_from_slice(&s2c);
            let _ = self.client.handle_input(self.now);
            while let Some(e) = self.client.poll_event() {
                self.client_events.push(e);
            }
            while let Some(e) = self.server.poll_event() {
                self.server_events.push(e);
            }
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        let _ = self.client.handle_timeout(self.now);
        let _ = self.server.handle_timeout(self.now);
    }

    /// Opens a session and a link from the client; the server accepts it.
    fn link(&mut self, config: LinkConfig) -> (LinkId, LinkId) {
        let s = self.client.begin().unwrap();
        let c = self.client.attach(s, config).unwrap();
        self.pump();
        let server_link = self.take_request();
        self.server
            .accept_link(server_link, LinkConfig::default())
            .unwrap();
        self.pump();
        assert!(self
            .client_events
            .iter()
            .any(|e| matches!(e, Event::LinkAttached { link, .. } if *link == c)));
        (c, server_link)
    }

    fn take_request(&mut self) -> LinkId {
        let i = self
            .server_events
            .iter()
            .position(|e| matches!(e, Event::LinkRequested { .. }))
            .unwrap();
        match self.server_events.remove(i) {
            Event::LinkRequested { link, .. } => link,
            _ => unreachable!(),
        }
    }

    fn server_deliveries(&mut self) -> Vec<Delivery> {
        let mut out = Vec::new();
        self.server_events.retain(|e| match e {
            Event::Delivery { delivery, .. } => {
                out.push(delivery.clone());
                false
            }
            _ => true,
        });
        out
    }
}

/// SASL PLAIN completes, both opens are exchanged, and the server sees the credentials.
#[test]
fn handshake_with_sasl_plain() {
    let client = ConnectionConfig::client("c").sasl(SaslClient::Plain {
        username: "u".into(),
        password: "p".into(),
    });
    let p = Pair::new(client, ConnectionConfig::server("s"));
    assert!(p.client.is_open() && p.server.is_open());
    assert!(p.server_events.iter().any(|e| matches!(e,
        Event::SaslDone { mechanism: Some(m), initial_response: Some(r) } if m.as_str() == "PLAIN" && &r[..] == b"\0u\0p")));
    assert!(p
        .client_events
        .iter()
        .any(|e| matches!(e, Event::Opened(o) if o.container_id == "s")));
}

/// A client that skips SASL (bare AMQP header) is accepted by a server that allows it.
#[test]
fn handshake_without_sasl() {
    let p = Pair::new(
        ConnectionConfig::client("c").sasl(SaslClient::None),
        ConnectionConfig::server("s"),
    );
    assert!(p.client.is_open() && p.server.is_open());
}

/// Each mechanism is offered by the default server and completes.
#[test]
fn every_client_mechanism_is_accepted() {
    for m in [
        SaslClient::Anonymous,
        SaslClient::MssbCbs,
        SaslClient::External,
    ] {
        let p = Pair::new(
            ConnectionConfig::client("c").sasl(m.clone()),
            ConnectionConfig::server("s"),
        );
        assert!(p.client.is_open(), "{m:?}");
    }
}

/// A mechanism the server does not offer fails the client with a typed error.
#[test]
fn missing_mechanism_fails() {
    let server = ConnectionConfig::server("s").sasl_mechanisms(vec!["ANONYMOUS".into()]);
    let p = Pair::new(
        ConnectionConfig::client("c").sasl(SaslClient::MssbCbs),
        server,
    );
    assert!(p.client.is_closed());
    assert!(!p.server.is_open());
}

/// Credit is honoured: with 10 credits only 10 of 15 deliveries go out; more credit
/// releases the rest, in order.
#[test]
fn credit_exhaustion_and_refill() {
    let mut p = Pair::default_pair();
    let (c, s) = p.link(LinkConfig::sender("snd", "q").snd_settle_mode(SenderSettleMode::Settled));
    p.server.flow(s, 10, false).unwrap();
    p.pump();
    for i in 0..15u32 {
        p.client
            .send(c, Bytes::from(i.to_be_bytes().to_vec()), 0, true, i as u64)
            .unwrap();
    }
    p.pump();
    let got = p.server_deliveries();
    assert_eq!(got.len(), 10);
    assert_eq!(p.client.queued(c), Some(5));
    assert_eq!(p.client.credit(c), Some(0));
    p.server.flow(s, 100, false).unwrap();
    p.pump();
    let rest = p.server_deliveries();
    assert_eq!(rest.len(), 5);
    let all: Vec<u32> = got
        .iter()
        .chain(&rest)
        .map(|d| u32::from_be_bytes(d.payload[..4].try_into().unwrap()))
        .collect();
    assert_eq!(all, (0..15).collect::<Vec<_>>());
    assert!(got.iter().all(|d| d.settled));
}

/// A delivery larger than the peer's max-frame-size is split into many frames and
/// reassembled byte for byte.
#[test]
fn multi_frame_reassembly() {
    let server = ConnectionConfig::server("s").max_frame_size(512);
    let mut p = Pair::new(ConnectionConfig::client("c"), server);
    let (c, s) = p.link(LinkConfig::sender("snd", "q"));
    p.server.flow(s, 10, false).unwrap();
    p.pump();
    let payload: Bytes = (0..100_000u32)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<_>>()
        .into();
    p.client.send(c, payload.clone(), 0, false, 7).unwrap();
    p.pump();
    let got = p.server_deliveries();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].payload, payload);
    assert!(p.moved.0 > 100_000 + 8 * (100_000 / 512));
}

/// Unsettled deliveries get outcomes back through a ranged disposition.
#[test]
fn unsettled_outcomes_by_range() {
    let mut p = Pair::default_pair();
    let (c, s) = p.link(LinkConfig::sender("snd", "q"));
    p.server.flow(s, 100, false).unwrap();
    p.pump();
    for i in 0..20 {
        p.client
            .send(c, Bytes::from_static(b"x"), 0, false, 1000 + i)
            .unwrap();
    }
    p.pump();
    let got = p.server_deliveries();
    assert!(got.iter().all(|d| !d.settled));
    let session = SessionId(0);
    p.server
        .disposition(
            session,
            got[0].delivery_id,
            got[19].delivery_id,
            true,
            Some(DeliveryState::Accepted),
        )
        .unwrap();
    p.pump();
    let contexts: Vec<u64> = p
        .client_events
        .iter()
        .filter_map(|e| match e {
            Event::Outcome {
                context,
                state: Some(DeliveryState::Accepted),
                settled: true,
                ..
            } => Some(*context),
            _ => None,
        })
        .collect();
    assert_eq!(contexts, (1000..1020).collect::<Vec<_>>());
}

/// rcv-settle-mode second: the receiver's unsettled terminal state is settled by the sender.
#[test]
fn settle_mode_second() {
    let mut p = Pair::default_pair();
    let (c, s) = p.link(LinkConfig::sender("snd", "q").rcv_settle_mode(ReceiverSettleMode::Second));
    p.server.flow(s, 1, false).unwrap();
    p.pump();
    p.client
        .send(c, Bytes::from_static(b"x"), 0, false, 1)
        .unwrap();
    p.pump();
    let d = p.server_deliveries().remove(0);
    p.server
        .disposition(
            SessionId(0),
            d.delivery_id,
            d.delivery_id,
            false,
            Some(DeliveryState::Accepted),
        )
        .unwrap();
    p.pump();
    assert!(p.server_events.iter().any(
        |e| matches!(e, Event::RemoteSettled { delivery_id, .. } if *delivery_id == d.delivery_id)
    ));
}

/// The receiver's drain request uses up the sender's credit and completes.
#[test]
fn drain_completes() {
    let mut p = Pair::default_pair();
    let s = p.client.begin().unwrap();
    let r = p
        .client
        .attach(s, LinkConfig::receiver("rcv", "q"))
        .unwrap();
    p.pump();
    let snd = p.take_request();
    p.server.accept_link(snd, LinkConfig::default()).unwrap();
    p.pump();
    p.server
        .send(snd, Bytes::from_static(b"a"), 0, true, 0)
        .unwrap();
    p.client.flow(r, 50, true).unwrap();
    p.pump();
    assert!(p
        .client_events
        .iter()
        .any(|e| matches!(e, Event::Delivery { link, .. } if *link == r)));
    assert!(p
        .client_events
        .iter()
        .any(|e| matches!(e, Event::Drained { link } if *link == r)));
    assert_eq!(p.server.credit(snd), Some(0));
}

/// Empty frames are sent at half the peer's idle timeout and keep the connection alive;
/// a silent peer is closed with resource-limit-exceeded after our idle timeout.
#[test]
fn heartbeat_and_idle_expiry() {
    let client = ConnectionConfig::client("c").idle_timeout(Some(Duration::from_secs(10)));
    let server = ConnectionConfig::server("s").idle_timeout(Some(Duration::from_secs(30)));
    let mut p = Pair::new(client, server);
    for _ in 0..20 {
        p.advance(Duration::from_secs(5));
        p.pump();
    }
    assert!(
        p.client.is_open() && p.server.is_open(),
        "heartbeats keep both alive for 100 s"
    );
    // Now the client goes silent: drop everything it writes.
    let mut silent_for = Duration::ZERO;
    while !p.server.is_closed() && silent_for < Duration::from_secs(60) {
        p.advance(Duration::from_secs(1));
        silent_for += Duration::from_secs(1);
        p.client.transmit_buffer().clear();
        p.pump();
    }
    assert!(p.server.is_closed());
    // The client's last heartbeat came at most 15 s (half the server's 30 s) before it went
    // silent, so the server gives up between 15 and 30 s into the silence.
    assert!(
        silent_for >= Duration::from_secs(15) && silent_for <= Duration::from_secs(31),
        "{silent_for:?}"
    );
    assert!(p.server_events.iter().any(|e| matches!(e,
        Event::Closed { error: Some(err), by_peer: false } if err.condition.as_str() == condition::RESOURCE_LIMIT_EXCEEDED)));
    assert!(p
        .client_events
        .iter()
        .any(|e| matches!(e, Event::Closed { by_peer: true, .. })));
}

/// A server endpoint whose peer never finishes the handshake fails at the handshake
/// timeout, with nothing written (no header was exchanged); one whose peer did finish is
/// unaffected by it.
#[test]
fn handshake_timeout() {
    let t0 = Instant::now();
    let config = ConnectionConfig::server("s").handshake_timeout(Some(Duration::from_secs(10)));
    let mut silent = Connection::new(config.clone(), t0);
    assert_eq!(silent.poll_timeout(), Some(t0 + Duration::from_secs(10)));
    assert!(silent.handle_timeout(t0 + Duration::from_secs(9)).is_ok());
    assert!(!silent.is_closed());
    assert!(matches!(
        silent.handle_timeout(t0 + Duration::from_secs(10)),
        Err(ConnectionError::HandshakeTimeout)
    ));
    assert!(silent.is_closed());
    assert!(silent.transmit_buffer().is_empty());
    assert!(
        matches!(silent.poll_event(), Some(Event::Closed { error: Some(e), by_peer: false })
        if e.condition.as_str() == condition::CONNECTION_FORCED)
    );

    // Half way: the protocol header came, the rest did not.
    let mut slow = Connection::new(config.clone(), t0);
    slow.read_buffer()
        .extend_from_slice(b"AMQP\x03\x01\x00\x00");
    slow.handle_input(t0).unwrap();
    assert!(
        !slow.transmit_buffer().is_empty(),
        "the server answered the header"
    );
    slow.transmit_buffer().clear();
    assert!(slow.handle_timeout(t0 + Duration::from_secs(10)).is_err());
    assert!(slow.is_closed());

    let mut p = Pair::new(ConnectionConfig::client("c"), config);
    p.pump();
    assert!(p.server.is_open());
    p.advance(Duration::from_secs(30));
    p.pump();
    assert!(
        p.server.is_open(),
        "an open connection has no handshake deadline"
    );
}

/// A detach with an error reaches the other side with the condition intact.
#[test]
fn detach_with_error() {
    let mut p = Pair::default_pair();
    let (c, s) = p.link(LinkConfig::sender("snd", "q"));
    p.server
        .detach(
            s,
            true,
            Some(AmqpError::new(
                condition::STOLEN,
                "new receiver with higher epoch",
            )),
        )
        .unwrap();
    p.pump();
    assert!(p.client_events.iter().any(|e| matches!(e,
        Event::LinkDetached { link, closed: true, error: Some(err), by_peer: true } if *link == c && err.condition.as_str() == condition::STOLEN)));
    assert!(p
        .server_events
        .iter()
        .any(|e| matches!(e, Event::LinkDetached { link, by_peer: false, .. } if *link == s)));
    assert!(p.client.send(c, Bytes::new(), 0, true, 0).is_err());
}

/// A refused link is never reported attached; the refusal error reaches the client.
#[test]
fn link_refusal() {
    let mut p = Pair::default_pair();
    let s = p.client.begin().unwrap();
    let c = p
        .client
        .attach(s, LinkConfig::receiver("r", "nowhere"))
        .unwrap();
    p.pump();
    let req = p.take_request();
    p.server
        .refuse_link(req, AmqpError::new(condition::NOT_FOUND, "no such entity"))
        .unwrap();
    p.pump();
    assert!(!p
        .client_events
        .iter()
        .any(|e| matches!(e, Event::LinkAttached { .. })));
    assert!(p.client_events.iter().any(|e| matches!(e,
        Event::LinkDetached { link, error: Some(err), .. } if *link == c && err.condition.as_str() == condition::NOT_FOUND)));
}

/// Closing in the middle of a multi-frame transfer closes both sides cleanly.
#[test]
fn close_during_transfer() {
    let server = ConnectionConfig::server("s").max_frame_size(512);
    let mut p = Pair::new(ConnectionConfig::client("c"), server);
    let (c, s) = p.link(LinkConfig::sender("snd", "q"));
    p.server.flow(s, 10, false).unwrap();
    p.pump();
    p.client
        .send(c, Bytes::from(vec![7u8; 10_000]), 0, true, 0)
        .unwrap();
    // Deliver the first five frames of the delivery (whole frames: the server holds a
    // partial delivery), then the close instead of the rest.
    let out = p.client.transmit_buffer().split();
    let mut cut = 0;
    for _ in 0..5 {
        cut += u32::from_be_bytes(out[cut..cut + 4].try_into().unwrap()) as usize;
    }
    assert!(cut < out.len(), "the delivery spans more than five frames");
    p.server.read_buffer().extend_from_slice(&out[..cut]);
    p.server.handle_input(p.now).unwrap();
    assert!(p.server_deliveries().is_empty());
    p.client
        .close(Some(AmqpError::new(condition::CONNECTION_FORCED, "bye")));
    let close = p.client.transmit_buffer().split();
    p.server.read_buffer().extend_from_slice(&close);
    p.server.handle_input(p.now).unwrap();
    p.pump();
    assert!(p.server.is_closed() && p.client.is_closed());
    assert!(p.server_events.iter().any(|e| matches!(e,
        Event::Closed { error: Some(err), by_peer: true } if err.condition.as_str() == condition::CONNECTION_FORCED)));
    assert!(p.server_deliveries().is_empty());
}

/// Garbage after the handshake closes the connection with a decode or framing error and
/// never panics.
#[test]
fn garbage_closes_with_error() {
    let mut p = Pair::default_pair();
    p.server.read_buffer().extend_from_slice(&[
        0, 0, 0, 16, 2, 0, 0, 0, 0x00, 0x53, 0x10, 0xc0, 0xff, 0x05, 0x40, 0x40,
    ]);
    assert!(p.server.handle_input(p.now).is_err());
    p.pump();
    assert!(p.server.is_closed());
    assert!(p.client_events.iter().any(|e| matches!(e,
        Event::Closed { error: Some(err), by_peer: true } if err.condition.as_str() == condition::DECODE_ERROR)));
}

/// A frame header announcing more than max-frame-size is refused before buffering it.
#[test]
fn oversize_frame_is_refused_early() {
    let mut p = Pair::default_pair();
    p.server
        .read_buffer()
        .extend_from_slice(&[0x7f, 0xff, 0xff, 0xff, 2, 0, 0, 0]);
    let err = p.server.handle_input(p.now).unwrap_err();
    assert!(matches!(
        err,
        ConnectionError::Frame(frame::FrameError::TooLarge { .. })
    ));
    p.pump();
    assert!(p.client_events.iter().any(|e| matches!(e,
        Event::Closed { error: Some(err), .. } if err.condition.as_str() == condition::FRAMING_ERROR)));
}

/// Many sessions on one connection each keep their own delivery-id counter.
#[test]
fn many_sessions_with_own_delivery_ids() {
    let mut p = Pair::default_pair();
    let mut links = Vec::new();
    for i in 0..5 {
        let (c, s) = p.link(LinkConfig::sender(format!("snd{i}"), "q"));
        p.server.flow(s, 10, false).unwrap();
        links.push(c);
    }
    p.pump();
    for &c in &links {
        for _ in 0..3 {
            p.client
                .send(c, Bytes::from_static(b"m"), 0, false, 0)
                .unwrap();
        }
    }
    p.pump();
    let ids: Vec<u32> = p
        .server_deliveries()
        .iter()
        .map(|d| d.delivery_id)
        .collect();
    assert_eq!(ids, [0, 1, 2].repeat(5));
}

/// A message larger than the peer's max-message-size is refused locally with both sizes.
#[test]
fn message_too_large_is_refused() {
    let mut p = Pair::default_pair();
    let s = p.client.begin().unwrap();
    let c = p.client.attach(s, LinkConfig::sender("snd", "q")).unwrap();
    p.pump();
    let req = p.take_request();
    p.server
        .accept_link(req, LinkConfig::default().max_message_size(1000))
        .unwrap();
    p.pump();
    let err = p
        .client
        .send(c, Bytes::from(vec![0u8; 1001]), 0, true, 0)
        .unwrap_err();
    assert_eq!(
        err,
        ConnectionError::MessageTooLarge {
            size: 1001,
            max: 1000
        }
    );
}

/// A disposition whose range wraps around (first > last) settles exactly the ids in the
/// wrapped range, and a hostile wrapped range over almost all ids is handled by walking
/// the unsettled map, not four billion ids (regression found by fuzzing).
#[test]
fn wrapped_disposition_range() {
    let mut p = Pair::default_pair();
    let (c, s) = p.link(LinkConfig::sender("snd", "q"));
    p.server.flow(s, 10, false).unwrap();
    p.pump();
    for i in 0..4 {
        p.client
            .send(c, Bytes::from_static(b"x"), 0, false, i)
            .unwrap();
    }
    p.pump();
    // ids 0..=3 are unsettled at the client; settle u32::MAX..=1 (wrapping): 0 and 1.
    p.server
        .disposition(
            SessionId(0),
            u32::MAX,
            1,
            true,
            Some(DeliveryState::Accepted),
        )
        .unwrap();
    p.pump();
    let settled: Vec<u64> = p
        .client_events
        .iter()
        .filter_map(|e| match e {
            Event::Outcome {
                context,
                settled: true,
                ..
            } => Some(*context),
            _ => None,
        })
        .collect();
    assert_eq!(settled, vec![0, 1]);
    // The fuzzer's input: first = 9, last = 0, on a fresh session.
    let artifact = include_bytes!("../../tests/regressions/slow-wrapped-disposition.bin");
    p.client.read_buffer().extend_from_slice(artifact);
    p.client.handle_input(p.now).unwrap();
    p.pump();
    assert!(p.client.is_open());
}

/// A delivery over the receiving link's max-message-size is rejected with
/// `amqp:link:message-size-exceeded` (as the service does) and the connection stays up;
/// single- and multi-frame deliveries alike.
#[test]
fn oversize_delivery_is_rejected_not_fatal() {
    use crate::performatives::Transfer;
    let server = ConnectionConfig::server("s").max_frame_size(512);
    let mut p = Pair::new(ConnectionConfig::client("c"), server);
    let s = p.client.begin().unwrap();
    let _c = p.client.attach(s, LinkConfig::sender("snd", "q")).unwrap();
    p.pump();
    let req = p.take_request();
    p.server
        .accept_link(req, LinkConfig::default().max_message_size(300))
        .unwrap();
    p.server.flow(req, 10, false).unwrap();
    p.pump();
    // Hand-written transfers that ignore the advertised limit: 400 bytes in one frame,
    // then 900 bytes over three frames.
    let mut raw = BytesMut::new();
    let t = |id: Option<u32>, more: bool| Transfer {
        handle: 0,
        delivery_id: id,
        delivery_tag: id.map(|i| Bytes::from(vec![i as u8])),
        message_format: Some(0),
        settled: Some(false),
        more,
        ..Transfer::default()
    };
    frame::write_amqp(&mut raw, 0, &t(Some(0), false), &[1u8; 400]);
    frame::write_amqp(&mut raw, 0, &t(Some(1), true), &[2u8; 300]);
    frame::write_amqp(&mut raw, 0, &t(None, true), &[2u8; 300]);
    frame::write_amqp(&mut raw, 0, &t(None, false), &[2u8; 300]);
    p.server.read_buffer().extend_from_slice(&raw);
    p.server.handle_input(p.now).unwrap();
    assert!(p.server_deliveries().is_empty());
    let mut out = p.server.transmit_buffer().split();
    let mut rejected = Vec::new();
    while let Some(f) = frame::parse(&mut out, u32::MAX).unwrap() {
        if let frame::FrameBody::Amqp {
            performative: crate::performatives::Performative::Disposition(d),
            ..
        } = f.body
        {
            if let Some(DeliveryState::Rejected(Some(e))) = d.state {
                assert_eq!(e.condition.as_str(), condition::MESSAGE_SIZE_EXCEEDED);
                assert!(d.settled);
                rejected.push(d.first);
            }
        }
    }
    assert_eq!(rejected, vec![0, 1]);
    assert!(p.server.is_open());
}
