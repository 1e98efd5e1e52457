//! Feeds arbitrary bytes to a server connection after a valid SASL + open handshake: the
//! state machine must close with an AMQP error or keep going, never panic.
#![no_main]

use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use eventhubs_amqp::connection::{Connection, ConnectionConfig};
use eventhubs_amqp::frame::{self, ProtocolHeader};
use eventhubs_amqp::performatives::{Begin, Open};
use eventhubs_amqp::sasl::{SaslFrame, SaslInit};

fn handshake() -> BytesMut {
    let mut b = BytesMut::new();
    b.put_slice(&ProtocolHeader::Sasl.bytes());
    let init = SaslInit { mechanism: "ANONYMOUS".into(), initial_response: None, hostname: None };
    frame::write_sasl(&mut b, &SaslFrame::Init(init));
    b.put_slice(&ProtocolHeader::Amqp.bytes());
    frame::write_amqp(&mut b, 0, &Open { container_id: "fuzz-client".into(), ..Open::default() }, &[]);
    let begin = Begin { next_outgoing_id: 0, incoming_window: 100, outgoing_window: 100, ..Begin::default() };
    frame::write_amqp(&mut b, 0, &begin, &[]);
    b
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut c = Connection::new(ConnectionConfig::server("fuzz"), now);
    c.read_buffer().extend_from_slice(&handshake());
    c.handle_input(now).expect("valid handshake");
    assert!(c.is_open());
    // Split the input in chunks to exercise partial frames.
    for (i, chunk) in data.chunks(97).enumerate() {
        c.read_buffer().extend_from_slice(chunk);
        let t = now + Duration::from_millis(i as u64);
        let _ = c.handle_input(t);
        let _ = c.handle_timeout(t);
        while c.poll_event().is_some() {}
        c.transmit_buffer().clear();
    }
});
