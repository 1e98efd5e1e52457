//! The client side of a valid handshake (SASL ANONYMOUS, AMQP header, open, begin), shared
//! by the targets that fuzz a connection after it.

use bytes::{BufMut, BytesMut};
use eventhubs_amqp::frame::{self, ProtocolHeader};
use eventhubs_amqp::performatives::{Begin, Open};
use eventhubs_amqp::sasl::{SaslFrame, SaslInit};

pub fn handshake() -> BytesMut {
    let mut b = BytesMut::new();
    b.put_slice(&ProtocolHeader::Sasl.bytes());
    let init = SaslInit {
        mechanism: "ANONYMOUS".into(),
        initial_response: None,
        hostname: None,
    };
    frame::write_sasl(&mut b, &SaslFrame::Init(init));
    b.put_slice(&ProtocolHeader::Amqp.bytes());
    frame::write_amqp(
        &mut b,
        0,
        &Open {
            container_id: "fuzz-client".into(),
            ..Open::default()
        },
        &[],
    );
    let begin = Begin {
        next_outgoing_id: 0,
        incoming_window: 5000,
        outgoing_window: 5000,
        ..Begin::default()
    };
    frame::write_amqp(&mut b, 0, &begin, &[]);
    b
}
