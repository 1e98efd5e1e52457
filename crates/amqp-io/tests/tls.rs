//! TLS with rustls for both roles: a self-signed certificate trusted through custom roots,
//! and the same server refused when the client trusts only the web PKI.

use std::time::Duration;

use bytes::Bytes;
use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig};
use eventhubs_amqp_io::{accept, Connection, Error, TlsConfig, TlsServerConfig};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A message sent over TLS arrives intact and its outcome comes back; a client that does
/// not trust the certificate fails with a TLS error.
#[tokio::test]
async fn tls_round_trip_and_untrusted_certificate() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = ck.cert.pem();
    let key_pem = ck.signing_key.serialize_pem();
    let server_tls = TlsServerConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (got_tx, mut got_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(tls) = server_tls.accept(tcp).await else {
                continue;
            };
            let (_conn, mut links) = accept(tls, ConnectionConfig::server("tls-server"))
                .await
                .unwrap();
            let link = links.recv().await.unwrap();
            let mut rx = link
                .accept_receiver(LinkConfig::default(), 10)
                .await
                .unwrap();
            let d = rx.recv().await.unwrap();
            rx.accept(&d).await.unwrap();
            got_tx.send(d.payload).unwrap();
            // Stay connected until the client closes (dropping the link would detach it).
            while links.recv().await.is_some() {}
            drop(rx);
        }
    });

    let trusted = TlsConfig::from_pem_roots(cert_pem.as_bytes()).unwrap();
    let conn = Connection::connect_tls(&addr, "localhost", ConnectionConfig::client("c"), &trusted)
        .await
        .unwrap();
    let sender = conn
        .begin()
        .await
        .unwrap()
        .attach_sender(LinkConfig::sender("s", "q"))
        .await
        .unwrap();
    let payload = Bytes::from_static(b"\x00\x53\x75\xa0\x05hello");
    sender.send_encoded(payload.clone(), 0).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), got_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, payload);
    conn.close(None).await.unwrap();

    let untrusted = TlsConfig::webpki().unwrap();
    let err = Connection::connect_tls(
        &addr,
        "localhost",
        ConnectionConfig::client("c"),
        &untrusted,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Io(ref e) if e.to_string().contains("certificate")),
        "{err}"
    );
}
