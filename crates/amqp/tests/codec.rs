//! Codec conformance: byte vectors from the AMQP 1.0 specification (part 1, types) for
//! every primitive, decoding of every width variant, composite quirks real peers send, and
//! round-trip property tests.

use bytes::{Bytes, BytesMut};
use eventhubs_amqp::codec::{Decode, DecodeError, Encode};
use eventhubs_amqp::definitions::Role;
use eventhubs_amqp::message::{
    BatchBuilder, Body, Message, Properties, RawMessage, BATCH_MESSAGE_FORMAT,
};
use eventhubs_amqp::performatives::{Attach, End, Open, Performative, Transfer};
use eventhubs_amqp::types::{
    Decimal128, Decimal32, Decimal64, Described, Symbol, Timestamp, Uuid, Value,
};
use proptest::prelude::*;

fn decode(bytes: &[u8]) -> Value {
    Value::from_bytes(&Bytes::copy_from_slice(bytes)).unwrap()
}

fn encode(v: &Value) -> Vec<u8> {
    v.to_bytes().to_vec()
}

/// Each entry: the value, its canonical (narrowest) encoding per the spec's format codes.
fn canonical_vectors() -> Vec<(Value, Vec<u8>)> {
    vec![
        (Value::Null, vec![0x40]),
        (Value::Bool(true), vec![0x41]),
        (Value::Bool(false), vec![0x42]),
        (Value::Ubyte(0xab), vec![0x50, 0xab]),
        (Value::Ushort(0x1234), vec![0x60, 0x12, 0x34]),
        (Value::Uint(0), vec![0x43]),
        (Value::Uint(200), vec![0x52, 200]),
        (Value::Uint(0x01020304), vec![0x70, 1, 2, 3, 4]),
        (Value::Ulong(0), vec![0x44]),
        (Value::Ulong(255), vec![0x53, 255]),
        (
            Value::Ulong(0x0102030405060708),
            vec![0x80, 1, 2, 3, 4, 5, 6, 7, 8],
        ),
        (Value::Byte(-2), vec![0x51, 0xfe]),
        (Value::Short(-2), vec![0x61, 0xff, 0xfe]),
        (Value::Int(-2), vec![0x54, 0xfe]),
        (Value::Int(1000), vec![0x71, 0, 0, 0x03, 0xe8]),
        (Value::Long(-2), vec![0x55, 0xfe]),
        (Value::Long(1 << 40), vec![0x81, 0, 0, 1, 0, 0, 0, 0, 0]),
        (Value::Float(1.5), vec![0x72, 0x3f, 0xc0, 0, 0]),
        (Value::Double(1.5), vec![0x82, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]),
        (
            Value::Decimal32(Decimal32([1, 2, 3, 4])),
            vec![0x74, 1, 2, 3, 4],
        ),
        (
            Value::Decimal64(Decimal64([1; 8])),
            vec![0x84, 1, 1, 1, 1, 1, 1, 1, 1],
        ),
        (
            Value::Decimal128(Decimal128([2; 16])),
            [vec![0x94], vec![2; 16]].concat(),
        ),
        (Value::Char('€'), vec![0x73, 0, 0, 0x20, 0xac]),
        (
            Value::Timestamp(Timestamp(1_311_704_463_521)),
            vec![0x83, 0, 0, 0x01, 0x31, 0x67, 0xad, 0xb8, 0xa1],
        ),
        (
            Value::Uuid(Uuid([7; 16])),
            [vec![0x98], vec![7; 16]].concat(),
        ),
        (
            Value::Binary(Bytes::from_static(b"ab")),
            vec![0xa0, 2, b'a', b'b'],
        ),
        (
            Value::Binary(Bytes::from(vec![9u8; 300])),
            [vec![0xb0, 0, 0, 1, 44], vec![9; 300]].concat(),
        ),
        (Value::String("hé".into()), vec![0xa1, 3, b'h', 0xc3, 0xa9]),
        (
            Value::String("x".repeat(256)),
            [vec![0xb1, 0, 0, 1, 0], vec![b'x'; 256]].concat(),
        ),
        (Value::Symbol("ab".into()), vec![0xa3, 2, b'a', b'b']),
        (
            Value::Symbol(Symbol("s".repeat(300))),
            [vec![0xb3, 0, 0, 1, 44], vec![b's'; 300]].concat(),
        ),
        (Value::List(vec![]), vec![0x45]),
        (
            Value::List(vec![Value::Uint(1), Value::Null]),
            vec![0xc0, 4, 2, 0x52, 1, 0x40],
        ),
        (
            Value::Map(vec![(Value::Symbol("k".into()), Value::Bool(true))]),
            vec![0xc1, 5, 2, 0xa3, 1, b'k', 0x41],
        ),
        (
            Value::Array(vec![Value::Int(1), Value::Int(2)]),
            vec![0xe0, 10, 2, 0x71, 0, 0, 0, 1, 0, 0, 0, 2],
        ),
        (
            Value::Described(Box::new(Described {
                descriptor: Value::Ulong(0x24),
                value: Value::List(vec![]),
            })),
            vec![0x00, 0x53, 0x24, 0x45],
        ),
    ]
}

/// Every primitive encodes to the spec's canonical bytes and decodes back.
#[test]
fn spec_vectors_encode_and_decode() {
    for (value, bytes) in canonical_vectors() {
        assert_eq!(encode(&value), bytes, "encode {value:?}");
        assert_eq!(decode(&bytes), value, "decode {bytes:02x?}");
    }
}

/// The non-canonical widths decode to the same values as the compact ones.
#[test]
fn every_width_variant_decodes() {
    let cases: Vec<(&[u8], Value)> = vec![
        (&[0x56, 0x01], Value::Bool(true)),
        (&[0x56, 0x00], Value::Bool(false)),
        (&[0x70, 0, 0, 0, 5], Value::Uint(5)),
        (&[0x80, 0, 0, 0, 0, 0, 0, 0, 5], Value::Ulong(5)),
        (&[0x71, 0xff, 0xff, 0xff, 0xfe], Value::Int(-2)),
        (
            &[0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe],
            Value::Long(-2),
        ),
        (
            &[0xb0, 0, 0, 0, 1, 7],
            Value::Binary(Bytes::from_static(&[7])),
        ),
        (&[0xb1, 0, 0, 0, 1, b'a'], Value::String("a".into())),
        (&[0xb3, 0, 0, 0, 1, b'a'], Value::Symbol("a".into())),
        (
            &[0xd0, 0, 0, 0, 5, 0, 0, 0, 1, 0x40],
            Value::List(vec![Value::Null]),
        ),
        (
            &[0xd1, 0, 0, 0, 6, 0, 0, 0, 2, 0x40, 0x41],
            Value::Map(vec![(Value::Null, Value::Bool(true))]),
        ),
        (
            &[0xf0, 0, 0, 0, 7, 0, 0, 0, 2, 0x50, 1, 2],
            Value::Array(vec![Value::Ubyte(1), Value::Ubyte(2)]),
        ),
    ];
    for (bytes, value) in cases {
        assert_eq!(decode(bytes), value, "{bytes:02x?}");
    }
}

/// Truncated, oversized and invalid inputs are typed errors, never panics.
#[test]
fn malformed_inputs_are_errors() {
    let bad: Vec<&[u8]> = vec![
        &[],
        &[0x70, 0, 0],
        &[0xa1, 5, b'a'],
        &[0xa1, 1, 0xff],
        &[0xc0, 10, 1],
        &[0xc0, 0, 1],
        &[0xc1, 2, 1, 0x40],
        &[0x73, 0, 0x11, 0, 0],
        &[0x01],
        &[0x00, 0x00],
    ];
    for b in bad {
        assert!(
            Value::from_bytes(&Bytes::copy_from_slice(b)).is_err(),
            "{b:02x?}"
        );
    }
    let deep: Vec<u8> = std::iter::repeat_n([0x00u8, 0x53, 0x01], 100)
        .flatten()
        .chain([0x40])
        .collect();
    assert_eq!(
        Value::from_bytes(&Bytes::from(deep)),
        Err(DecodeError::TooDeep(32))
    );
}

/// Regression (found by fuzzing): an array of a zero-width type declaring billions of
/// elements is refused instead of exhausting memory.
#[test]
fn zero_width_array_count_is_bounded() {
    let huge = [0xf0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x40];
    assert_eq!(
        Value::from_bytes(&Bytes::copy_from_slice(&huge)),
        Err(DecodeError::Malformed("array"))
    );
    let artifact = include_bytes!("regressions/oom-zero-width-array.bin");
    let mut buf = BytesMut::from(&artifact[..]);
    while let Ok(Some(_)) = eventhubs_amqp::frame::parse(&mut buf, 65536) {}
    let _ = Value::from_bytes(&Bytes::from_static(artifact));
}

/// Performatives are written with every field and a small-ulong descriptor: an `end`
/// is `00 53 17 c0 02 01 40`, never list0 (pyamqp reads fields by position).
#[test]
fn performatives_encode_every_field() {
    assert_eq!(
        End::default().to_bytes().as_ref(),
        &[0x00, 0x53, 0x17, 0xc0, 0x02, 0x01, 0x40]
    );
    let open = Open {
        container_id: "c".into(),
        ..Open::default()
    }
    .to_bytes();
    assert_eq!(&open[..5], &[0x00, 0x53, 0x10, 0xc0, open[4]]);
    assert_eq!(open[5], 10, "open has 10 fields");
    let t = Transfer {
        handle: 1,
        ..Transfer::default()
    }
    .to_bytes();
    assert_eq!(t[5], 11, "transfer has 11 fields");
}

/// What rhea sends is accepted: list0 performatives, trimmed lists, symbolic descriptors,
/// and an empty source list.
#[test]
fn accepts_what_real_peers_send() {
    // END as list0
    let end = Performative::from_bytes(&Bytes::from_static(&[0x00, 0x53, 0x17, 0x45])).unwrap();
    assert_eq!(end, Performative::End(End::default()));
    // ATTACH with a symbolic descriptor, trimmed after `source`, source an empty list
    let mut b = vec![0x00, 0xa3, 16];
    b.extend_from_slice(b"amqp:attach:list");
    b.extend_from_slice(&[
        0xc0, 0x0c, 0x06, 0xa1, 0x01, b'n', 0x43, 0x42, 0x40, 0x40, 0x00, 0x53, 0x28, 0x45,
    ]);
    let a = match Performative::from_bytes(&Bytes::from(b)) {
        Ok(Performative::Attach(a)) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(a.name, "n");
    assert_eq!(a.handle, 0);
    assert_eq!(a.source, Some(eventhubs_amqp::terminus::Source::default()));
    assert_eq!(a.target, None);
    assert_eq!(
        a.snd_settle_mode,
        eventhubs_amqp::definitions::SenderSettleMode::Mixed
    );
    assert_eq!(a.role, Role::Sender);
}

/// A whole message round-trips, and the lazy parser finds annotations and data without
/// decoding the body.
#[test]
fn message_round_trip_and_lazy_parse() {
    let mut m = Message::with_data(Bytes::from_static(b"hello, world!"));
    m.message_annotations = Some(vec![(
        Value::Symbol("x-opt-partition-key".into()),
        Value::from("pk"),
    )]);
    m.properties = Some(Properties {
        message_id: Some(Value::from("id")),
        ..Properties::default()
    });
    m.application_properties = Some(vec![("a".into(), Value::Long(1))]);
    let bytes = m.to_bytes();
    assert_eq!(Message::decode(&bytes).unwrap(), m);
    let raw = RawMessage::parse(bytes.clone()).unwrap();
    assert_eq!(raw.message_annotations().unwrap(), m.message_annotations);
    assert_eq!(
        raw.data_sections().unwrap(),
        vec![Bytes::from_static(b"hello, world!")]
    );
    assert_eq!(raw.properties().unwrap(), m.properties);
    assert_eq!(
        &bytes[raw.body_offset()..raw.body_offset() + 3],
        &[0x00, 0x53, 0x75]
    );
}

/// Batch size accounting is exact: `size()` equals the finished length, and adding stops
/// exactly at the limit.
#[test]
fn batch_size_accounting_is_exact() {
    let envelope = Message {
        message_annotations: Some(vec![(
            Value::Symbol("x-opt-partition-key".into()),
            Value::from("k"),
        )]),
        ..Message::default()
    };
    let limit = 10_000;
    let mut batch = BatchBuilder::new(Some(&envelope), limit);
    let event = Message::with_data(Bytes::from(vec![1u8; 100])).to_bytes();
    while batch.try_add_encoded(&event) {}
    let n = batch.len();
    let size = batch.size();
    assert!(size <= limit && size + (event.len() + 5) > limit, "{size}");
    let bytes = batch.finish();
    assert_eq!(bytes.len(), size);
    let decoded = Message::decode(&bytes).unwrap();
    let Body::Data(sections) = decoded.body else {
        panic!()
    };
    assert_eq!(sections.len(), n);
    assert!(sections.iter().all(|s| *s == event));
    assert_eq!(decoded.message_annotations, envelope.message_annotations);
    assert_eq!(BATCH_MESSAGE_FORMAT, 0x8001_3700);
}

/// An attach with a selector filter round-trips field for field.
#[test]
fn attach_round_trip() {
    let a = Attach {
        name: "r".into(),
        handle: 3,
        role: Role::Receiver,
        max_message_size: Some(1 << 20),
        properties: Some(vec![(Symbol::from("com.microsoft:epoch"), Value::Long(5))]),
        ..Attach::default()
    };
    assert_eq!(Attach::from_bytes(&a.to_bytes()).unwrap(), a);
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u8>().prop_map(Value::Ubyte),
        any::<u16>().prop_map(Value::Ushort),
        any::<u32>().prop_map(Value::Uint),
        any::<u64>().prop_map(Value::Ulong),
        any::<i8>().prop_map(Value::Byte),
        any::<i16>().prop_map(Value::Short),
        any::<i32>().prop_map(Value::Int),
        any::<i64>().prop_map(Value::Long),
        (-1e30f32..1e30).prop_map(Value::Float),
        (-1e300f64..1e300).prop_map(Value::Double),
        any::<char>().prop_map(Value::Char),
        any::<i64>().prop_map(|t| Value::Timestamp(Timestamp(t))),
        any::<[u8; 16]>().prop_map(|u| Value::Uuid(Uuid(u))),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(|v| Value::Binary(v.into())),
        ".{0,40}".prop_map(Value::String),
        "[a-z:.-]{0,40}".prop_map(|s| Value::Symbol(s.into())),
        proptest::collection::vec(any::<i32>(), 1..20)
            .prop_map(|v| Value::Array(v.into_iter().map(Value::Int).collect())),
        proptest::collection::vec("[a-z]{0,300}", 1..4)
            .prop_map(|v| Value::Array(v.into_iter().map(|s| Value::Symbol(s.into())).collect())),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::List),
            proptest::collection::vec((inner.clone(), inner.clone()), 0..6).prop_map(Value::Map),
            (any::<u64>(), inner).prop_map(|(d, v)| Value::Described(Box::new(Described {
                descriptor: Value::Ulong(d),
                value: v
            }))),
        ]
    })
}

proptest! {
    /// Any value survives encode → decode unchanged, and the encoding is self-delimiting.
    #[test]
    fn value_round_trip(v in value()) {
        let bytes = v.to_bytes();
        let mut r = eventhubs_amqp::codec::Reader::new(&bytes);
        let back = Value::decode(&mut r).unwrap();
        prop_assert!(r.is_empty());
        prop_assert_eq!(back, v);
    }

    /// Any message round-trips through encode → decode.
    #[test]
    fn message_round_trip(body in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 1..4),
                          props in proptest::collection::vec(("[a-z]{1,8}", leaf()), 0..5)) {
        let m = Message {
            body: Body::Data(body.into_iter().map(Bytes::from).collect()),
            application_properties: Some(props),
            ..Message::default()
        };
        prop_assert_eq!(Message::decode(&m.to_bytes()).unwrap(), m);
    }

    /// Arbitrary bytes never panic the decoders.
    #[test]
    fn arbitrary_bytes_do_not_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let bytes = Bytes::from(b);
        let _ = Value::from_bytes(&bytes);
        let _ = Performative::from_bytes(&bytes);
        let _ = Message::decode(&bytes);
        let mut buf = BytesMut::from(&bytes[..]);
        let _ = eventhubs_amqp::frame::parse(&mut buf, 1024);
    }
}
