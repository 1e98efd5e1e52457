//! Reliability against the in-process emulator: connections cut mid-stream (through a
//! fault-injecting proxy) lose no acknowledged event and skip none on receive; an epoch
//! receiver takes a partition with a clear error; tokens are renewed before they expire;
//! a wrong key fails at once.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{start, within};
use eventhubs::{
    ErrorKind, Event, Hub, HubOptions, ReceiveOptions, RetryOptions, SasTokenProvider,
};
use eventhubs_emulator::{Config, Emulator};
use eventhubs_test_support::proxy::Proxy;

fn fast_retry() -> RetryOptions {
    RetryOptions::default()
        .max_retries(20)
        .delay(Duration::from_millis(20))
        .max_delay(Duration::from_millis(200))
}

/// Cutting every connection twice while 4 producers send and a consumer reads: every
/// acknowledged event is stored, and the consumer sees the partition without a gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_cut_mid_stream_lose_nothing() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let proxy = Proxy::start(em.addr()).await;
    let cs = format!(
        "Endpoint=sb://localhost:{};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;EntityPath=eh1",
        proxy.addr().port()
    );
    let hub = Hub::from_connection_string(&cs, HubOptions::default().retry(fast_retry())).unwrap();
    let acked = Arc::new(Mutex::new(HashSet::new()));
    let mut producers = tokio::task::JoinSet::new();
    for p in 0..4 {
        let (hub, acked) = (hub.clone(), acked.clone());
        producers.spawn(async move {
            for i in 0..500 {
                let body = format!("p{p}-{i}");
                hub.send_to_partition("0", body.as_str()).await.unwrap();
                acked.lock().unwrap().insert(body);
            }
        });
    }
    let consumer_hub =
        Hub::from_connection_string(&cs, HubOptions::default().retry(fast_retry())).unwrap();
    let consumer = tokio::spawn(async move {
        let mut rx = consumer_hub
            .receiver("0", ReceiveOptions::default().from_beginning().prefetch(50))
            .await
            .unwrap();
        let mut seen = Vec::new();
        while let Ok(Ok(e)) = tokio::time::timeout(Duration::from_secs(3), rx.recv()).await {
            seen.push((e.sequence_number(), e.data_as_str().unwrap().to_owned()));
        }
        seen
    });
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(120)).await;
        let cut = proxy.cut_all();
        eprintln!("cut {cut} connection(s)");
    }
    while let Some(r) = producers.join_next().await {
        r.unwrap();
    }
    let seen = within("consumer", consumer).await.unwrap();
    for (i, (seq, _)) in seen.iter().enumerate() {
        assert_eq!(
            *seq, i as i64,
            "no gap and no repeat in what the consumer saw"
        );
    }
    let bodies: HashSet<String> = seen.into_iter().map(|(_, b)| b).collect();
    let acked = acked.lock().unwrap();
    assert_eq!(acked.len(), 2000);
    let lost: Vec<_> = acked.difference(&bodies).collect();
    assert!(lost.is_empty(), "acknowledged but not received: {lost:?}");
}

/// A receiver with a higher epoch takes the partition: ours fails at once with
/// `OwnershipLost`, not retried.
#[tokio::test]
async fn epoch_receiver_steals_the_partition() {
    let (_em, hub) = start().await;
    let mut ours = hub
        .receiver("2", ReceiveOptions::default().epoch(1).identifier("ours"))
        .await
        .unwrap();
    let _theirs = hub
        .receiver("2", ReceiveOptions::default().epoch(2).identifier("theirs"))
        .await
        .unwrap();
    let err = within("stolen", ours.recv()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OwnershipLost);
    assert!(!err.is_transient());
    assert!(err.to_string().contains("epoch"), "{err}");
    let err = hub
        .receiver("2", ReceiveOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::OwnershipLost);
}

/// With 3-second tokens, links live well past the first expiry: the client renews.
#[tokio::test]
async fn tokens_are_renewed_before_they_expire() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let provider = Arc::new(
        SasTokenProvider::from_key("RootManageSharedAccessKey", "SAS_KEY_VALUE")
            .with_ttl(Duration::from_secs(3)),
    );
    let hub = Hub::from_connection_string(
        &em.connection_string(Some("eh1")),
        HubOptions::default()
            .token_provider(provider)
            .retry(RetryOptions::default().max_retries(0)),
    )
    .unwrap();
    let mut rx = hub
        .receiver("1", ReceiveOptions::default().from_latest())
        .await
        .unwrap();
    for i in 0..8 {
        hub.send_to_partition("1", format!("t{i}")).await.unwrap();
        let e = within("renewed", rx.recv()).await.unwrap();
        assert_eq!(e.data_as_str(), Some(format!("t{i}").as_str()));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// A wrong key is refused with `Unauthorized`, at once (no retries).
#[tokio::test]
async fn wrong_key_is_unauthorized() {
    let em = Emulator::start(Config::default()).await.unwrap();
    let cs = em
        .connection_string(Some("eh1"))
        .replace("SAS_KEY_VALUE", "wrong");
    let hub = Hub::from_connection_string(&cs, HubOptions::default()).unwrap();
    let started = std::time::Instant::now();
    let err = hub.send("x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let err = hub
        .receiver("0", ReceiveOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(
        !format!("{err:?}").contains("SharedAccessSignature sr="),
        "no token in errors"
    );
}

/// After `close`, calls fail with `Closed`.
#[tokio::test]
async fn closed_client() {
    let (_em, hub) = start().await;
    hub.send(Event::from("before")).await.unwrap();
    hub.close().await;
    assert_eq!(
        hub.send("after").await.unwrap_err().kind(),
        ErrorKind::Closed
    );
}
