//! What the engine's fuzz targets do with one input, shared with the test that replays the
//! committed corpus on every test run (`crates/amqp/tests/fuzz_corpus.rs`).

// Each target uses one of the two.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use eventhubs_amqp::codec::Decode;
use eventhubs_amqp::connection::{Connection, ConnectionConfig};
use eventhubs_amqp::message::{Message, RawMessage};
use eventhubs_amqp::types::Value;

/// `frame_decoder`: arbitrary bytes to the frame parser (64 KiB limit), the value decoder,
/// and eager and lazy message parsing. Errors are fine; a panic is not.
pub fn decode_everything(data: &[u8]) {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(frame)) = eventhubs_amqp::frame::parse(&mut buf, 64 * 1024) {
        if let eventhubs_amqp::frame::FrameBody::Amqp { payload, .. } = frame.body {
            let _ = Message::decode(&payload);
        }
    }
    let bytes = Bytes::copy_from_slice(data);
    let _ = Value::from_bytes(&bytes);
    if let Ok(raw) = RawMessage::parse(bytes.clone()) {
        let _ = raw.message_annotations();
        let _ = raw.properties();
        let _ = raw.data_sections();
    }
    let _ = Message::decode(&bytes);
}

/// `connection`: arbitrary bytes, in 97-byte chunks, to a server connection after a valid
/// SASL + open + begin (`handshake`): it closes with an AMQP error or keeps going.
pub fn drive_a_server_connection(handshake: &[u8], data: &[u8]) {
    let now = Instant::now();
    let mut c = Connection::new(ConnectionConfig::server("fuzz"), now);
    c.read_buffer().extend_from_slice(handshake);
    c.handle_input(now).expect("valid handshake");
    assert!(c.is_open());
    for (i, chunk) in data.chunks(97).enumerate() {
        c.read_buffer().extend_from_slice(chunk);
        let t = now + Duration::from_millis(i as u64);
        let _ = c.handle_input(t);
        let _ = c.handle_timeout(t);
        while c.poll_event().is_some() {}
        c.transmit_buffer().clear();
    }
}
