//! A consumer that grants credit and then stops reading its socket (a proxy stops reading
//! for it) must not make `eh emulator` hold what it cannot send: its resident memory stays
//! within retention plus bounded per-connection buffers.

mod chaos;
mod common;

use eventhubs::{ClientOptions, CreateBatchOptions, EventData, ProducerClient};
use eventhubs_amqp::connection::ConnectionConfig;
use eventhubs_amqp_io::Connection;
use eventhubs_protocol::selector::StartPosition as Selector;
use eventhubs_test_support::client::{consumer, put_token};
use eventhubs_test_support::proxy::Proxy;

use chaos::settled_rss;
use common::start_eh;

const NO_ARGS: [&str; 0] = [];
/// 1 GiB sent in events of 1 KiB (the default retention, a million events or 1 GiB, keeps
/// nearly all of it).
const EVENTS: usize = 1 << 20;
const SIZE: usize = 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_consumer_does_not_grow_the_emulator() {
    let em = start_eh(NO_ARGS, 0);
    let pid = em.child.id();
    let producer = ProducerClient::from_connection_string(
        &em.connection_string,
        None,
        ClientOptions::default(),
    )
    .unwrap();
    let body = bytes::Bytes::from(vec![b'x'; SIZE]);
    let mut sent = 0;
    while sent < EVENTS {
        let mut batch = producer
            .create_batch(CreateBatchOptions::default().partition_id("0"))
            .await
            .unwrap();
        while sent < EVENTS && batch.try_add(EventData::new(body.clone())).is_ok() {
            sent += 1;
        }
        producer.send_batch(batch).await.unwrap();
    }
    producer.close().await;
    let retained = settled_rss(pid).await;

    // Two consumers through a proxy that then stops reading for them: each has granted
    // credit for every event there is, on a session whose window never closes (as some
    // clients open them), so only the emulator's own bounds hold it back.
    let proxy = Proxy::start(em.addr).await;
    let mut receivers = Vec::new();
    for _ in 0..2 {
        let mut config = ConnectionConfig::client("stalled");
        config.session_window = u32::MAX;
        let conn = Connection::connect_tcp(&proxy.addr().to_string(), config)
            .await
            .unwrap();
        let session = conn.begin().await.unwrap();
        assert_eq!(put_token(&session, "SAS_KEY_VALUE").await, 202);
        let receiver = session
            .attach_receiver(consumer("0", Selector::Earliest, None), EVENTS as u32)
            .await
            .unwrap();
        receivers.push((conn, session, receiver));
    }
    proxy.freeze_downstream(true);
    let stalled = settled_rss(pid).await;
    let grown = stalled.saturating_sub(retained);
    eprintln!(
        "retained {} MiB; with two stalled consumers {} MiB (+{} MiB)",
        retained >> 20,
        stalled >> 20,
        grown >> 20
    );
    assert!(
        grown < 48 << 20,
        "two stalled consumers grew the emulator by {} MiB",
        grown >> 20
    );
    drop(receivers);
}
