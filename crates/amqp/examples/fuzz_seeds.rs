//! Writes the fuzz corpus seeds (valid frames of every kind, encoded by this crate) into
//! `fuzz/corpus/<target>/`. Run: `cargo run -p eventhubs-amqp --example fuzz_seeds`.

use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use eventhubs_amqp::codec::Encode;
use eventhubs_amqp::definitions::{AmqpError, Role};
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_amqp::frame;
use eventhubs_amqp::message::{BatchBuilder, Message, Properties};
use eventhubs_amqp::performatives::*;
use eventhubs_amqp::terminus::{Source, Target};
use eventhubs_amqp::types::{Symbol, Value};

fn main() -> std::io::Result<()> {
    let mut msg = Message::with_data(Bytes::from_static(b"hello, world!"));
    msg.message_annotations = Some(vec![(
        Value::Symbol("x-opt-partition-key".into()),
        Value::from("pk"),
    )]);
    msg.properties = Some(Properties {
        message_id: Some(Value::from("id-1")),
        ..Properties::default()
    });
    msg.application_properties = Some(vec![("n".to_owned(), Value::Int(7))]);
    let mut batch = BatchBuilder::new(Some(&msg), 4096);
    batch.try_add(&msg);
    batch.try_add(&Message::with_data(Bytes::from_static(b"second")));
    let filter = vec![(
        Symbol::from("apache.org:selector-filter:string"),
        Value::Described(Box::new(eventhubs_amqp::types::Described {
            descriptor: Value::Ulong(0x0000_468C_0000_0004),
            value: Value::from("amqp.annotation.x-opt-offset > '-1'"),
        })),
    )];
    let frames: Vec<(&str, Performative, Bytes)> = vec![
        (
            "open",
            Open {
                container_id: "c".into(),
                max_frame_size: 65536,
                ..Open::default()
            }
            .into(),
            Bytes::new(),
        ),
        (
            "begin",
            Begin {
                next_outgoing_id: 0,
                incoming_window: 5000,
                outgoing_window: 5000,
                ..Begin::default()
            }
            .into(),
            Bytes::new(),
        ),
        (
            "attach",
            Attach {
                name: "r".into(),
                handle: 0,
                role: Role::Receiver,
                source: Some(Source {
                    address: Some("eh1/ConsumerGroups/$default/Partitions/0".into()),
                    filter: Some(filter),
                    ..Source::default()
                }),
                target: Some(Target::default()),
                ..Attach::default()
            }
            .into(),
            Bytes::new(),
        ),
        (
            "flow",
            Flow {
                incoming_window: 10,
                next_outgoing_id: 0,
                outgoing_window: 10,
                handle: Some(0),
                link_credit: Some(100),
                ..Flow::default()
            }
            .into(),
            Bytes::new(),
        ),
        (
            "transfer",
            Transfer {
                handle: 0,
                delivery_id: Some(0),
                delivery_tag: Some(Bytes::from_static(b"t")),
                message_format: Some(0),
                ..Transfer::default()
            }
            .into(),
            msg.to_bytes(),
        ),
        (
            "batch",
            Transfer {
                handle: 0,
                delivery_id: Some(1),
                delivery_tag: Some(Bytes::from_static(b"u")),
                message_format: Some(0x8001_3700),
                ..Transfer::default()
            }
            .into(),
            batch.finish(),
        ),
        (
            "disposition",
            Disposition {
                role: Role::Receiver,
                first: 0,
                last: Some(9),
                settled: true,
                state: Some(DeliveryState::Accepted),
                batchable: false,
            }
            .into(),
            Bytes::new(),
        ),
        (
            "detach",
            Detach {
                handle: 0,
                closed: true,
                error: Some(AmqpError::new("amqp:link:stolen", "x")),
            }
            .into(),
            Bytes::new(),
        ),
        ("end", End::default().into(), Bytes::new()),
        ("close", Close::default().into(), Bytes::new()),
    ];
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for target in ["frame_decoder", "connection"] {
        std::fs::create_dir_all(root.join(target))?;
    }
    let mut all = BytesMut::new();
    for (name, p, payload) in &frames {
        let mut buf = BytesMut::new();
        frame::write_amqp(&mut buf, 0, p, payload);
        all.extend_from_slice(&buf);
        std::fs::write(
            root.join("frame_decoder").join(format!("seed-{name}")),
            &buf,
        )?;
        std::fs::write(root.join("connection").join(format!("seed-{name}")), &buf)?;
    }
    std::fs::write(root.join("connection").join("seed-sequence"), &all)?;
    std::fs::write(
        root.join("frame_decoder").join("seed-message"),
        msg.to_bytes(),
    )?;
    Ok(())
}
