//! The faults the emulator injects for tests of clients, each off by default and set from
//! code only: one send in N refused with server-busy (and not stored), links detached with
//! detach-forced after a while, and `$management` replies delayed.

use std::time::{Duration, Instant};

use eventhubs_amqp::connection::LinkConfig;
use eventhubs_amqp::definitions::condition;
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_emulator::{Config, Emulator, Faults};
use eventhubs_protocol::constants::SERVER_BUSY;
use eventhubs_protocol::selector::StartPosition;
use eventhubs_test_support::client::{
    authorized, consumer, event, management_read, receive_bodies, status,
};

async fn with_faults(faults: Faults) -> Emulator {
    let mut config = Config::default();
    config.faults = faults;
    Emulator::start(config).await.unwrap()
}

#[tokio::test]
async fn one_send_in_n_is_refused_as_server_busy() {
    let em = with_faults(Faults::default().reject_every(3)).await;
    let (_conn, session) = authorized(em.addr()).await;
    let sender = session
        .attach_sender(LinkConfig::sender("busy", "eh1/Partitions/0"))
        .await
        .unwrap();
    let mut refused = Vec::new();
    for i in 1..=9 {
        match sender.send_encoded(event(&i.to_string(), None), 0).await {
            Ok(DeliveryState::Accepted) => {}
            Err(e) if e.condition() == Some(SERVER_BUSY) => refused.push(i),
            other => panic!("send {i}: {other:?}"),
        }
    }
    assert_eq!(refused, [3, 6, 9]);
    let stored: Vec<String> = receive_bodies(&session, "0", 6)
        .await
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    assert_eq!(
        stored,
        ["1", "2", "4", "5", "7", "8"],
        "refused sends are not stored"
    );
}

#[tokio::test]
async fn links_are_detached_with_detach_forced() {
    let after = Duration::from_millis(300);
    let em = with_faults(Faults::default().detach_links_after(after)).await;
    let (_conn, session) = authorized(em.addr()).await;
    let attached = Instant::now();
    let mut rx = session
        .attach_receiver(consumer("1", StartPosition::Earliest, None), 10)
        .await
        .unwrap();
    let sender = session
        .attach_sender(LinkConfig::sender("forced", "eh1/Partitions/1"))
        .await
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("the receiver is detached")
        .unwrap_err();
    assert_eq!(e.condition(), Some(condition::DETACH_FORCED), "{e}");
    assert!(attached.elapsed() >= after);
    tokio::time::timeout(Duration::from_secs(10), sender.closed())
        .await
        .expect("the sender is detached");
    let e = sender
        .send_encoded(event("late", None), 0)
        .await
        .unwrap_err();
    assert!(
        matches!(e, eventhubs_amqp_io::Error::LinkDetached(_)),
        "{e}"
    );
    // The session is fine: links attached again work until their own expiry.
    let again = session
        .attach_sender(LinkConfig::sender("again", "eh1/Partitions/1"))
        .await
        .unwrap();
    assert_eq!(
        again.send_encoded(event("again", None), 0).await.unwrap(),
        DeliveryState::Accepted
    );
}

/// Every second reply is late; the ones between are not held up behind it.
#[tokio::test]
async fn one_management_reply_in_n_is_delayed() {
    let delay = Duration::from_millis(1500);
    let em = with_faults(Faults::default().delay_management(2, delay)).await;
    let (_conn, session) = authorized(em.addr()).await;
    for (n, late) in [(1, false), (2, true), (3, false)] {
        let asked = Instant::now();
        let reply = management_read(&session, "eh1", None).await;
        assert_eq!(status(&reply), 200);
        assert_eq!(
            asked.elapsed() >= delay,
            late,
            "request {n}: {:?}",
            asked.elapsed()
        );
    }
}
