//! `eh emulator --tls-cert/--tls-key` serves AMQPS: a client trusting the certificate
//! authenticates, sends and receives over TLS; one trusting only the web PKI is refused;
//! the plain port keeps working alongside.

mod common;

use eventhubs_amqp::connection::ConnectionConfig;
use eventhubs_amqp_io::{Connection, TlsConfig};
use eventhubs_protocol::selector::StartPosition;
use eventhubs_test_support::client::{
    body_of, connect, consumer, put_token, receive_bodies, send_bodies,
};

#[tokio::test]
async fn amqps_listener() {
    let dir = std::env::temp_dir().join(format!("eh-tls-{}", std::process::id()));
    let (args, cert) = common::tls_arguments(&dir);
    let cert_pem = std::fs::read(&cert).unwrap();

    let mut running = common::start_eh(args, 1);
    let plain = running.addr;
    let tls_addr = running.more[0]
        .strip_prefix("tls listening on ")
        .unwrap_or_else(|| panic!("{:?}", running.more))
        .to_owned();

    let trusted = TlsConfig::from_pem_roots(&cert_pem).unwrap();
    let conn = Connection::connect_tls(
        &tls_addr,
        "localhost",
        ConnectionConfig::client("t"),
        &trusted,
    )
    .await
    .unwrap();
    let session = conn.begin().await.unwrap();
    assert_eq!(put_token(&session, "SAS_KEY_VALUE").await, 202);
    send_bodies(&session, "eh1/Partitions/2", ["over tls"]).await;
    assert_eq!(
        receive_bodies(&session, "2", 1).await,
        [("over tls".to_owned(), 0)]
    );

    // The same event is visible over the plain port.
    let (_c, plain_session) = connect(plain).await;
    assert_eq!(put_token(&plain_session, "SAS_KEY_VALUE").await, 202);
    let mut rx = plain_session
        .attach_receiver(consumer("2", StartPosition::Earliest, None), 10)
        .await
        .unwrap();
    assert_eq!(body_of(&rx.recv().await.unwrap().payload).0, "over tls");

    let untrusted = TlsConfig::webpki().unwrap();
    let err = Connection::connect_tls(
        &tls_addr,
        "localhost",
        ConnectionConfig::client("u"),
        &untrusted,
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );

    running.kill();
    std::fs::remove_dir_all(&dir).unwrap();
}
