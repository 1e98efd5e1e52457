//! What the `websocket` fuzz target does with one input, shared with the test that replays
//! the committed corpus on every test run (`crates/emulator/tests/fuzz_corpus.rs`): the
//! emulator's WebSocket listener path — the upgrade, then the WebSocket frames the input
//! holds, whose binary payloads are the AMQP byte stream.

use std::time::Duration;

use eventhubs_amqp_io::WebSocketStream;
use eventhubs_emulator::Service;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A valid upgrade request for the AMQP path and subprotocol.
pub const UPGRADE: &[u8] = b"GET /$servicebus/websocket HTTP/1.1\r\n\
Host: localhost\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Sec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Protocol: AMQPWSB10\r\n\r\n";

/// One masked binary WebSocket frame (as a client must send) carrying `payload`.
pub fn binary_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x82];
    match payload.len() {
        n @ 0..=125 => f.push(0x80 | n as u8),
        n @ 126..=65535 => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(0x80 | 127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mask = [0x11, 0x22, 0x33, 0x44];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// Sends the upgrade request to the emulator's WebSocket accept path over an in-memory
/// pipe, waits for the answer (a client may send frames only after it), then writes
/// `frames` and reads until the connection closes. On a paused clock the bounds cost no
/// wall time; the connection must close or go idle. Returns how many bytes the emulator
/// wrote after its answer.
pub async fn converse(service: &Service, frames: Vec<u8>) -> usize {
    let (client, server) = tokio::io::duplex(1 << 20);
    let service = service.clone();
    let task = tokio::spawn(async move {
        // The listener bounds the handshake; so does this.
        if let Ok(Ok(ws)) =
            tokio::time::timeout(Duration::from_secs(10), WebSocketStream::accept(server)).await
        {
            service.serve_connection(ws).await;
        }
    });
    let (mut rd, mut wr) = tokio::io::split(client);
    let _ = wr.write_all(UPGRADE).await;
    // The answer's header, byte by byte so nothing after it is taken.
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\r\n\r\n") && answer.len() < 4096 {
        match tokio::time::timeout(Duration::from_secs(600), rd.read(&mut byte)).await {
            Ok(Ok(1)) => answer.push(byte[0]),
            _ => break,
        }
    }
    assert!(
        answer.starts_with(b"HTTP/1.1 101"),
        "the upgrade was refused: {}",
        String::from_utf8_lossy(&answer)
    );
    let answered = crate::emulator_input::exchange(&mut rd, &mut wr, &frames).await;
    let _ = tokio::time::timeout(Duration::from_secs(600), task).await;
    answered
}
