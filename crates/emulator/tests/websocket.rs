//! The emulator's WebSocket listener as a raw WebSocket peer sees it: the AMQP path (also
//! with a trailing `/` or `%24` for `$`) and either subprotocol name are accepted and the
//! chosen one is echoed; another path is 404, no AMQP subprotocol is 400, plain AMQP on
//! the WebSocket port is refused; a ping is answered while AMQP flows; a text message ends
//! the connection.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use eventhubs_emulator::{Config, Emulator, Transports};

async fn emulator() -> Emulator {
    Emulator::start_with(Config::default(), Transports::default().websocket())
        .await
        .unwrap()
}

/// The WebSocket handshake for `path` asking for `subprotocol`.
async fn upgrade(
    em: &Emulator,
    path: &str,
    subprotocol: Option<&'static str>,
) -> Result<(WebSocketStream<TcpStream>, Option<String>), String> {
    let addr = em.websocket_addr().unwrap();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("ws://localhost:{}{path}", addr.port())
        .into_client_request()
        .unwrap();
    if let Some(p) = subprotocol {
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(p));
    }
    match tokio_tungstenite::client_async(request, tcp).await {
        Ok((ws, response)) => {
            let chosen = response
                .headers()
                .get("Sec-WebSocket-Protocol")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            Ok((ws, chosen))
        }
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::test]
async fn paths_and_subprotocols() {
    let em = emulator().await;
    for (path, protocol) in [
        ("/$servicebus/websocket", "AMQPWSB10"),
        ("/$servicebus/websocket/", "AMQPWSB10"),
        ("/%24servicebus/websocket", "amqp"),
    ] {
        let (_ws, chosen) = upgrade(&em, path, Some(protocol))
            .await
            .unwrap_or_else(|e| panic!("{path} {protocol}: {e}"));
        assert_eq!(chosen.as_deref(), Some(protocol), "{path}");
    }
    let err = upgrade(&em, "/other", Some("AMQPWSB10")).await.unwrap_err();
    assert!(err.contains("404"), "{err}");
    let err = upgrade(&em, "/$servicebus/websocket", None)
        .await
        .unwrap_err();
    assert!(err.contains("400"), "{err}");
    em.shutdown().await;
}

/// AMQP's protocol header on the WebSocket port gets no AMQP answer: the connection is
/// closed (the HTTP parser refuses it).
#[tokio::test]
async fn plain_amqp_on_the_websocket_port_is_refused() {
    let em = emulator().await;
    let mut tcp = TcpStream::connect(em.websocket_addr().unwrap())
        .await
        .unwrap();
    tcp.write_all(b"AMQP\x03\x01\x00\x00").await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), tcp.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the emulator ends the connection");
    assert!(!answer.starts_with(b"AMQP"), "{answer:?}");
    em.shutdown().await;
}

/// A ping sent after the AMQP protocol header is answered with a pong of the same data,
/// and the AMQP answer arrives in binary messages.
#[tokio::test]
async fn pings_are_answered() {
    let em = emulator().await;
    let (mut ws, _) = upgrade(&em, "/$servicebus/websocket", Some("AMQPWSB10"))
        .await
        .unwrap();
    // SASL protocol header: the emulator answers with its own and the SASL mechanisms.
    ws.send(Message::Binary(b"AMQP\x03\x01\x00\x00".to_vec().into()))
        .await
        .unwrap();
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let (mut amqp, mut pong) = (Vec::new(), None);
    while pong.is_none() || amqp.len() < 8 {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("an answer")
            .expect("the connection stays open")
            .unwrap();
        match message {
            Message::Binary(b) => amqp.extend_from_slice(&b),
            Message::Pong(p) => pong = Some(p),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(&amqp[..8], b"AMQP\x03\x01\x00\x00");
    assert_eq!(pong.as_deref(), Some(&b"are you there"[..]));
    drop(ws);
    em.shutdown().await;
}

/// AMQP travels in binary messages: a text message ends the connection.
#[tokio::test]
async fn a_text_message_ends_the_connection() {
    let em = emulator().await;
    let (mut ws, _) = upgrade(&em, "/$servicebus/websocket", Some("AMQPWSB10"))
        .await
        .unwrap();
    ws.send(Message::Text("AMQP".into())).await.unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match ws.next().await {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection ended");
    em.shutdown().await;
}
