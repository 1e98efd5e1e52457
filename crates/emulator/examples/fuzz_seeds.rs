//! Writes seeds for the `emulator` fuzz target into `fuzz/corpus/emulator/`: the frames a
//! real client sends after its handshake — CBS put-token (a JWT, which the default
//! configuration accepts), a producer with an event and a batch, a consumer with a
//! selector and an epoch, a `$management` READ, then detach/end/close.
//! Run: `cargo run -p eventhubs-emulator --example fuzz_seeds`.

use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use eventhubs_amqp::codec::Encode;
use eventhubs_amqp::definitions::Role;
use eventhubs_amqp::frame;
use eventhubs_amqp::message::{BatchBuilder, Body, Message, Properties};
use eventhubs_amqp::performatives::{Attach, Close, Detach, End, Flow, Performative, Transfer};
use eventhubs_amqp::terminus::{Source, Target};
use eventhubs_amqp::types::{Described, Symbol, Value};
use eventhubs_protocol::cbs::{PutToken, CBS_NODE};
use eventhubs_protocol::constants as k;
use eventhubs_protocol::management::{ReadRequest, MANAGEMENT_NODE};
use eventhubs_protocol::response::RequestParts;
use eventhubs_protocol::selector::SELECTOR_FILTER;

fn attach(handle: u32, name: &str, role: Role, source: &str, target: &str) -> Performative {
    Attach {
        name: name.into(),
        handle,
        role,
        source: Some(Source {
            address: Some(source.into()),
            ..Source::default()
        }),
        target: Some(Target {
            address: Some(target.into()),
            ..Target::default()
        }),
        ..Attach::default()
    }
    .into()
}

fn flow(handle: u32, credit: u32, drain: bool) -> Performative {
    Flow {
        next_incoming_id: Some(0),
        incoming_window: 5000,
        next_outgoing_id: 0,
        outgoing_window: 5000,
        handle: Some(handle),
        delivery_count: Some(0),
        link_credit: Some(credit),
        drain,
        ..Flow::default()
    }
    .into()
}

fn transfer(handle: u32, id: u32, format: u32) -> Performative {
    Transfer {
        handle,
        delivery_id: Some(id),
        delivery_tag: Some(Bytes::from(id.to_be_bytes().to_vec())),
        message_format: Some(format),
        ..Transfer::default()
    }
    .into()
}

fn request(id: u64, request: RequestParts) -> Bytes {
    Message {
        properties: Some(Properties {
            message_id: Some(Value::Ulong(id)),
            reply_to: Some("client-node".into()),
            ..Properties::default()
        }),
        application_properties: Some(request.properties),
        body: Body::Value(request.body),
        ..Message::default()
    }
    .to_bytes()
}

fn consumer() -> Performative {
    let filter = vec![(
        Symbol::from(SELECTOR_FILTER),
        Value::Described(Box::new(Described {
            descriptor: Value::Symbol(SELECTOR_FILTER.into()),
            value: Value::from("amqp.annotation.x-opt-offset > '-1'"),
        })),
    )];
    Attach {
        name: "consumer".into(),
        handle: 3,
        role: Role::Receiver,
        source: Some(Source {
            address: Some("eh1/ConsumerGroups/$Default/Partitions/3".into()),
            filter: Some(filter),
            ..Source::default()
        }),
        target: Some(Target::default()),
        properties: Some(vec![(Symbol::from(k::EPOCH), Value::Long(1))]),
        desired_capabilities: Some(vec![Symbol::from(k::RUNTIME_METRIC)]),
        ..Attach::default()
    }
    .into()
}

fn main() -> std::io::Result<()> {
    let mut event = Message::with_data(Bytes::from_static(b"hello, world!"));
    event.message_annotations = Some(vec![(
        Value::Symbol(k::PARTITION_KEY.into()),
        Value::from("pk"),
    )]);
    let mut batch = BatchBuilder::new(None, 4096);
    batch.try_add(&event);
    batch.try_add(&Message::with_data(Bytes::from_static(b"second")));
    let put_token = request(
        1,
        PutToken {
            token_type: k::JWT_TOKEN_TYPE.to_owned(),
            audience: "sb://localhost/eh1".to_owned(),
            expiration_ms: None,
            token: "header.payload.signature".to_owned(),
        }
        .into_parts(),
    );
    let read = request(
        2,
        ReadRequest {
            hub: "eh1".to_owned(),
            partition: Some("3".to_owned()),
        }
        .into_parts(),
    );
    let none = Bytes::new;
    let frames: Vec<(&str, Performative, Bytes)> = vec![
        (
            "cbs-sender",
            attach(0, "cbs", Role::Sender, "client-node", CBS_NODE),
            none(),
        ),
        (
            "cbs-receiver",
            attach(1, "cbs-reply", Role::Receiver, CBS_NODE, "client-node"),
            none(),
        ),
        ("cbs-credit", flow(1, 10, false), none()),
        ("put-token", transfer(0, 0, 0), put_token),
        (
            "producer",
            attach(2, "producer", Role::Sender, "local", "eh1"),
            none(),
        ),
        ("event", transfer(2, 1, 0), event.to_bytes()),
        ("batch", transfer(2, 2, 0x8001_3700), batch.finish()),
        ("consumer", consumer(), none()),
        ("consumer-credit", flow(3, 100, false), none()),
        (
            "mgmt-sender",
            attach(4, "mgmt", Role::Sender, "client-node", MANAGEMENT_NODE),
            none(),
        ),
        (
            "mgmt-receiver",
            attach(
                5,
                "mgmt-reply",
                Role::Receiver,
                MANAGEMENT_NODE,
                "client-node",
            ),
            none(),
        ),
        ("mgmt-credit", flow(5, 10, false), none()),
        ("read", transfer(4, 3, 0), read),
        ("drain", flow(3, 100, true), none()),
        (
            "detach",
            Detach {
                handle: 3,
                closed: true,
                error: None,
            }
            .into(),
            none(),
        ),
        ("end", End::default().into(), none()),
        ("close", Close::default().into(), none()),
    ];
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/emulator");
    std::fs::create_dir_all(&dir)?;
    let mut all = BytesMut::new();
    for (i, (name, p, payload)) in frames.iter().enumerate() {
        frame::write_amqp(&mut all, 0, p, payload);
        // Every prefix of the conversation is a seed: the fuzzer mutates from each stage.
        std::fs::write(dir.join(format!("seed-{i:02}-{name}")), &all)?;
    }
    Ok(())
}
