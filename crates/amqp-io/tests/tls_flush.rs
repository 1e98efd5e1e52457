//! TLS buffers what it could not write yet: when the socket is momentarily full, rustls
//! keeps the encrypted records until the stream is written again or flushed. A connection
//! whose last frames (here, the outcomes a sender waits for) were held that way would stall
//! with nothing left to trigger the write. The server's socket here is "full" on every other
//! write; every outcome must still arrive.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use eventhubs_amqp::connection::{ConnectionConfig, LinkConfig};
use eventhubs_amqp::delivery_state::DeliveryState;
use eventhubs_amqp_io::{accept, Connection, TlsConfig, TlsServerConfig};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// A TCP stream whose every other write finds the socket full (`Pending`, with the task
/// woken at once, as a socket that drains quickly would).
struct Choked {
    inner: TcpStream,
    writes: u64,
}

impl AsyncRead for Choked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Choked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.writes += 1;
        if self.writes % 2 == 1 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_held_by_tls_are_flushed() {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = ck.cert.pem();
    let server_tls = TlsServerConfig::from_pem(
        cert_pem.as_bytes(),
        ck.signing_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let tls = server_tls
            .accept(Choked {
                inner: tcp,
                writes: 0,
            })
            .await
            .unwrap();
        let (_conn, mut links) = accept(tls, ConnectionConfig::server("choked"))
            .await
            .unwrap();
        let link = links.recv().await.unwrap();
        let mut rx = link
            .accept_receiver(LinkConfig::default(), 100)
            .await
            .unwrap();
        while let Ok(d) = rx.recv().await {
            if rx.accept(&d).await.is_err() {
                break;
            }
        }
    });

    let roots = TlsConfig::from_pem_roots(cert_pem.as_bytes()).unwrap();
    let (conn, sender) = tokio::time::timeout(Duration::from_secs(5), async {
        let conn =
            Connection::connect_tls(&addr, "localhost", ConnectionConfig::client("c"), &roots)
                .await
                .unwrap();
        let session = conn.begin().await.unwrap();
        let sender = session
            .attach_sender(LinkConfig::sender("s", "q"))
            .await
            .unwrap();
        (conn, sender)
    })
    .await
    .expect("connect, begin and attach answer within 5 s");
    let payload = Bytes::from_static(b"\x00\x53\x75\xa0\x05hello");
    // One at a time: each outcome is the server's last frame when it is written.
    for i in 0..200 {
        let outcome = tokio::time::timeout(
            Duration::from_secs(5),
            sender.send_encoded(payload.clone(), 0),
        )
        .await
        .unwrap_or_else(|_| panic!("the outcome of send {i} never arrived"));
        assert_eq!(outcome.unwrap(), DeliveryState::Accepted);
    }
    conn.close(None).await.unwrap();
}
