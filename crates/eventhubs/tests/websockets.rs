//! Our client over AMQP over WebSockets to the emulator: plain `ws://` and TLS `wss://`
//! (a self-signed certificate trusted through the client's extra roots), WebSocket messages
//! so small that every AMQP frame spans several, an event larger than a message, the
//! management node, and a TCP connection dropped under the client (recovered like any
//! other lost connection).

use std::time::Duration;

use eventhubs::{
    ClientOptions, ConsumerClient, CreateBatchOptions, ErrorKind, EventData,
    PartitionReceiverOptions, ProducerClient, RetryOptions, StartPosition, TransportType,
    DEFAULT_CONSUMER_GROUP,
};
use eventhubs_amqp_io::TlsServerConfig;
use eventhubs_emulator::{Config, Emulator, Transports};
use eventhubs_test_support::proxy::Proxy;

fn websockets() -> ClientOptions {
    ClientOptions::default().transport_type(TransportType::AmqpWebSockets)
}

/// Bodies of many sizes, and one far larger than a WebSocket message (64 KiB).
fn bodies() -> Vec<Vec<u8>> {
    let mut bodies: Vec<Vec<u8>> = (0..300usize)
        .map(|i| {
            (0..(i * 37) % 3000)
                .map(|j| (i + j) as u8)
                .collect::<Vec<u8>>()
        })
        .collect();
    bodies.push((0..300 * 1024).map(|j| (j % 251) as u8).collect());
    bodies
}

async fn from_earliest(consumer: &ConsumerClient, partition: &str) -> eventhubs::PartitionReceiver {
    consumer
        .open_partition_receiver(
            partition,
            PartitionReceiverOptions::default().start_position(StartPosition::earliest()),
        )
        .await
        .unwrap()
}

/// Sends `bodies` to partition 0 in batches, reads them back from the earliest event and
/// compares them byte for byte; also asks the management node for the hub's partitions.
async fn round_trip(cs: &str, options: ClientOptions, bodies: &[Vec<u8>]) {
    let producer = ProducerClient::from_connection_string(cs, None, options.clone()).unwrap();
    let properties = producer.get_eventhub_properties().await.unwrap();
    assert_eq!(properties.partition_ids.len(), 4);
    let mut rest = bodies;
    while !rest.is_empty() {
        let mut batch = producer
            .create_batch(CreateBatchOptions::default().partition_id("0"))
            .await
            .unwrap();
        let mut added = 0;
        while added < rest.len() && batch.try_add(EventData::new(rest[added].clone())).is_ok() {
            added += 1;
        }
        assert!(added > 0, "an event fits in a batch");
        producer.send_batch(batch).await.unwrap();
        rest = &rest[added..];
    }
    let consumer =
        ConsumerClient::from_connection_string(cs, None, DEFAULT_CONSUMER_GROUP, options).unwrap();
    let mut receiver = from_earliest(&consumer, "0").await;
    for (i, body) in bodies.iter().enumerate() {
        let event = tokio::time::timeout(Duration::from_secs(20), receiver.recv())
            .await
            .unwrap_or_else(|_| panic!("event {i} arrives"))
            .unwrap();
        assert_eq!(event.data(), &body[..], "event {i}");
    }
    receiver.close().await;
    producer.close().await;
    consumer.close().await;
}

fn websocket_connection_string(em: &Emulator) -> String {
    let addr = em.websocket_addr().expect("serving WebSockets");
    eventhubs_emulator::connection_string(addr, &em.namespace().config, Some("eh1"))
}

#[tokio::test]
async fn over_plain_websockets() {
    let em = Emulator::start_with(Config::default(), Transports::default().websocket())
        .await
        .unwrap();
    round_trip(&websocket_connection_string(&em), websockets(), &bodies()).await;
    em.shutdown().await;
}

/// The emulator writes WebSocket messages of 7 bytes: every frame it sends spans messages
/// (and the client's own output packs several frames into its messages).
#[tokio::test]
async fn frames_spanning_tiny_websocket_messages() {
    let transports = Transports::default().websocket().websocket_message_bytes(7);
    let em = Emulator::start_with(Config::default(), transports)
        .await
        .unwrap();
    round_trip(
        &websocket_connection_string(&em),
        websockets(),
        &bodies()[..60],
    )
    .await;
    em.shutdown().await;
}

fn certificate() -> (String, TlsServerConfig) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = ck.cert.pem();
    let key = ck.signing_key.serialize_pem();
    let tls = TlsServerConfig::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    (cert, tls)
}

/// `wss://` with a certificate the client trusts through its extra roots; without them
/// the same connection is refused (verification is always on).
#[tokio::test]
async fn over_tls_websockets_with_an_extra_root() {
    let (cert, tls) = certificate();
    let em = Emulator::start_with(
        Config::default(),
        Transports::default().tls(tls).websocket(),
    )
    .await
    .unwrap();
    let wss = em.secure_websocket_addr().unwrap();
    // No `UseDevelopmentEmulator`: TLS, as against the service.
    let cs = format!(
        "Endpoint=sb://localhost:{}/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;EntityPath=eh1",
        wss.port()
    );
    round_trip(
        &cs,
        websockets().add_root_certificates(cert.clone()),
        &bodies()[..100],
    )
    .await;

    let untrusting = websockets()
        .retry(RetryOptions::default().max_retries(0))
        .operation_timeout(Duration::from_secs(10));
    let producer = ProducerClient::from_connection_string(&cs, None, untrusting).unwrap();
    let err = producer.get_eventhub_properties().await.unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    producer.close().await;
    em.shutdown().await;
}

/// A bundle that holds no certificate is refused when the client is built.
#[test]
fn a_root_bundle_without_a_certificate_is_refused() {
    let cs = "Endpoint=sb://localhost:1/;SharedAccessKeyName=a;SharedAccessKey=b;EntityPath=eh1";
    let options = ClientOptions::default().add_root_certificates("not a certificate");
    let err = ProducerClient::from_connection_string(cs, None, options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("no certificate"), "{err}");
}

/// The TCP connection under the WebSocket is dropped without a closing handshake: the
/// next operations reconnect and nothing acknowledged is lost.
#[tokio::test]
async fn a_dropped_websocket_connection_is_recovered() {
    let em = Emulator::start_with(Config::default(), Transports::default().websocket())
        .await
        .unwrap();
    let proxy = Proxy::start(em.websocket_addr().unwrap()).await;
    let cs =
        eventhubs_emulator::connection_string(proxy.addr(), &em.namespace().config, Some("eh1"));
    let producer = ProducerClient::from_connection_string(&cs, None, websockets()).unwrap();
    let send = |body: &'static str| {
        let producer = producer.clone();
        async move {
            producer
                .send_events(
                    [body],
                    eventhubs::SendEventOptions::default().partition_id("1"),
                )
                .await
                .unwrap();
        }
    };
    send("before").await;
    assert!(
        proxy.cut_all() >= 1,
        "the connection went through the proxy"
    );
    send("after").await;
    let consumer =
        ConsumerClient::from_connection_string(&cs, None, DEFAULT_CONSUMER_GROUP, websockets())
            .unwrap();
    let mut receiver = from_earliest(&consumer, "1").await;
    for expected in ["before", "after"] {
        let event = tokio::time::timeout(Duration::from_secs(20), receiver.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event.data_as_str(), Some(expected));
    }
    receiver.close().await;
    producer.close().await;
    consumer.close().await;
    em.shutdown().await;
}

/// Through a loopback CONNECT proxy with Basic auth: the proxy's log shows the tunnel to
/// the emulator's WebSocket port (a proxy implies WebSockets); a wrong password is an
/// `Unauthorized` error naming the proxy and not the password; a host on the no-proxy
/// list is reached directly.
#[tokio::test]
async fn through_an_http_connect_proxy() {
    use eventhubs::ProxyOptions;
    use eventhubs_test_support::connect_proxy::ConnectProxy;

    let em = Emulator::start_with(Config::default(), Transports::default().websocket())
        .await
        .unwrap();
    let ws = em.websocket_addr().unwrap();
    let cs = websocket_connection_string(&em);
    let proxy = ConnectProxy::start(Some(("alice", "s3cret"))).await;
    // Asking for TCP: the proxy still means WebSockets.
    let options = ClientOptions::default()
        .proxy(ProxyOptions::new(&proxy.url(Some(("alice", "s3cret")))).unwrap());
    round_trip(&cs, options, &bodies()[..50]).await;
    let log = proxy.log();
    assert!(!log.tunnels.is_empty(), "{log:?}");
    assert!(
        log.tunnels
            .iter()
            .all(|t| *t == format!("localhost:{}", ws.port())),
        "{log:?}"
    );

    let wrong = ClientOptions::default()
        .proxy(ProxyOptions::new(&proxy.url(Some(("alice", "wrong-password")))).unwrap())
        .retry(RetryOptions::default().max_retries(0));
    let producer = ProducerClient::from_connection_string(&cs, None, wrong).unwrap();
    let err = producer.get_eventhub_properties().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&proxy.addr().to_string()) && text.contains("407"),
        "{text}"
    );
    assert!(!text.contains("wrong-password"), "{text}");
    assert!(!format!("{err:?}").contains("wrong-password"));
    producer.close().await;
    assert_eq!(proxy.log().refused, 1);

    // localhost on the no-proxy list: straight to the emulator, no new tunnel.
    let before = proxy.log().tunnels.len();
    let bypass = websockets().proxy(
        ProxyOptions::new(&proxy.url(None))
            .unwrap()
            .no_proxy(["localhost"]),
    );
    let producer = ProducerClient::from_connection_string(&cs, None, bypass).unwrap();
    producer.get_eventhub_properties().await.unwrap();
    producer.close().await;
    assert_eq!(proxy.log().tunnels.len(), before);
    em.shutdown().await;
}
