//! [`WebSocketStream`] against a raw WebSocket peer: bytes cross message boundaries both
//! ways (a small write limit cuts output into many messages; several messages make one
//! read), a server's ping is answered with its data, the subprotocol must be chosen, and
//! a TCP drop without the closing handshake reads as end of stream.

// tungstenite's handshake callbacks return its large error response.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use eventhubs_amqp_io::websocket::{WebSocketStream, PATH, SUBPROTOCOL};

/// A raw server that chooses `subprotocol` (or none), and our client connected to it.
async fn pair(
    subprotocol: Option<&'static str>,
) -> (
    Result<WebSocketStream<TcpStream>, eventhubs_amqp_io::Error>,
    tokio::task::JoinHandle<Option<tokio_tungstenite::WebSocketStream<TcpStream>>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let choose = move |_: &Request, mut response: Response| {
            if let Some(p) = subprotocol {
                response
                    .headers_mut()
                    .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(p));
            }
            Ok(response)
        };
        tokio_tungstenite::accept_hdr_async(tcp, choose).await.ok()
    });
    let tcp = TcpStream::connect(addr).await.unwrap();
    let url = format!("ws://localhost:{}{PATH}", addr.port());
    (WebSocketStream::connect(tcp, &url).await, server)
}

#[tokio::test]
async fn bytes_cross_message_boundaries_and_pings_are_answered() {
    let (client, server) = pair(Some(SUBPROTOCOL)).await;
    let mut client = client.unwrap().with_max_write_message(5);
    let mut server = server.await.unwrap().unwrap();

    // Ours → theirs: the bytes leave as messages of at most 5.
    const OUT: &[u8] = b"AMQP\x00\x01\x00\x00 and then some";
    client.write_all(OUT).await.unwrap();
    client.flush().await.unwrap();
    let mut got = Vec::new();
    while got.len() < OUT.len() {
        match server.next().await.unwrap().unwrap() {
            Message::Binary(b) => {
                assert!(b.len() <= 5, "a message of {} bytes", b.len());
                got.extend_from_slice(&b);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, OUT);

    // Theirs → ours: a ping between three messages; one read takes bytes from all three.
    for part in [&b"ab"[..], b"cd"] {
        server
            .send(Message::Binary(part.to_vec().into()))
            .await
            .unwrap();
    }
    server
        .send(Message::Ping(b"p1".to_vec().into()))
        .await
        .unwrap();
    server
        .send(Message::Binary(b"ef".to_vec().into()))
        .await
        .unwrap();
    let mut buf = [0u8; 6];
    client.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"abcdef");
    let pong = tokio::time::timeout(Duration::from_secs(5), server.next())
        .await
        .expect("the pong arrives")
        .unwrap()
        .unwrap();
    assert_eq!(pong, Message::Pong(b"p1".to_vec().into()));

    // A TCP drop without a close frame: end of stream, not an error.
    drop(server);
    let mut rest = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), client.read_to_end(&mut rest))
        .await
        .expect("the drop is seen")
        .unwrap();
    assert_eq!(n, 0);
}

/// A server that does not choose the AMQP subprotocol is refused by name.
#[tokio::test]
async fn the_subprotocol_must_be_chosen() {
    let (client, _server) = pair(None).await;
    let err = client.unwrap_err().to_string();
    assert!(err.contains("websocket"), "{err}");
    assert!(err.to_lowercase().contains("subprotocol"), "{err}");
}
