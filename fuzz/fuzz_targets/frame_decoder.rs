//! Feeds arbitrary bytes to the frame decoder and the message parsers: they must return
//! errors, never panic, and never allocate beyond the frame limit.
#![no_main]

use bytes::{Bytes, BytesMut};
use eventhubs_amqp::codec::Decode;
use eventhubs_amqp::message::{Message, RawMessage};
use eventhubs_amqp::types::Value;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
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
});
