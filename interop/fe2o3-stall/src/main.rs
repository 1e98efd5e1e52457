//! Runs the same exchange with each pairing of fe2o3-amqp 0.16.2 and 0.18.4 as client and
//! server: the client sends `messages` messages, `in_flight` at a time (64 by default, as a
//! batching client does), to fe2o3's own acceptor, which accepts each delivery as it
//! arrives; a send with no outcome after 10 s counts as a stall. Prints, per pairing, how
//! many of `runs` runs stalled. Arguments: `[runs] [messages] [in_flight]`.

use std::time::Duration;

/// One version's client and server, written once for both crate versions.
macro_rules! exchange {
    ($module:ident, $fe:ident) => {
        pub mod $module {
            use std::time::Duration;

            use ::$fe::acceptor::{
                ConnectionAcceptor, LinkAcceptor, LinkEndpoint, SessionAcceptor,
            };
            use ::$fe::types::messaging::{Body, Message};
            use ::$fe::types::primitives::Value;
            use ::$fe::{Connection, Sender, Session};
            use tokio::net::{TcpListener, TcpStream};

            /// A server on `listener` that accepts (settles) every delivery at once.
            pub fn spawn_server(listener: TcpListener) -> tokio::task::JoinHandle<()> {
                tokio::spawn(serve(listener))
            }

            async fn serve(listener: TcpListener) {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(async move {
                        let acceptor = ConnectionAcceptor::builder().container_id("server").build();
                        let Ok(mut conn) = acceptor.accept(stream).await else {
                            return;
                        };
                        let sessions = SessionAcceptor::new();
                        while let Ok(mut session) = sessions.accept(&mut conn).await {
                            tokio::spawn(async move {
                                let links = LinkAcceptor::new();
                                while let Ok(link) = links.accept(&mut session).await {
                                    if let LinkEndpoint::Receiver(mut r) = link {
                                        tokio::spawn(async move {
                                            while let Ok(d) = r.recv::<Body<Value>>().await {
                                                if r.accept(&d).await.is_err() {
                                                    return;
                                                }
                                            }
                                        });
                                    }
                                }
                            });
                        }
                    });
                }
            }

            /// Whether `messages` sends of this version's client, `in_flight` at a time, to
            /// the server `spawn` starts, all got their outcome.
            pub async fn run(
                messages: usize,
                in_flight: usize,
                spawn: fn(TcpListener) -> tokio::task::JoinHandle<()>,
            ) -> bool {
                let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = listener.local_addr().unwrap();
                let server = spawn(listener);
                let stream = TcpStream::connect(addr).await.unwrap();
                let _ = stream.set_nodelay(true);
                let mut conn = Connection::builder()
                    .container_id("client")
                    .open_with_stream(stream)
                    .await
                    .unwrap();
                let mut session = Session::begin(&mut conn).await.unwrap();
                let mut sender = Sender::attach(&mut session, "s", "q").await.unwrap();
                let mut ok = true;
                let mut sent = 0;
                'all: while sent < messages {
                    let mut pending = Vec::with_capacity(in_flight);
                    for _ in 0..in_flight.min(messages - sent) {
                        let m = Message::builder().value(Value::Long(sent as i64)).build();
                        match sender.send_batchable(m).await {
                            Ok(fut) => pending.push(fut),
                            Err(_) => {
                                ok = false;
                                break 'all;
                            }
                        }
                        sent += 1;
                    }
                    for fut in pending {
                        match tokio::time::timeout(Duration::from_secs(10), fut).await {
                            Ok(Ok(_)) => {}
                            _ => {
                                ok = false;
                                break 'all;
                            }
                        }
                    }
                }
                if ok {
                    let _ = sender.close().await;
                    let _ = session.end().await;
                    let _ = conn.close().await;
                }
                server.abort();
                ok
            }
        }
    };
}

exchange!(v016, fe2o3_016);
exchange!(v018, fe2o3_018);

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let messages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let in_flight: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(64);
    type Server = fn(tokio::net::TcpListener) -> tokio::task::JoinHandle<()>;
    let pairs: [(&str, &str, u8, Server); 4] = [
        ("0.16.2", "0.16.2", 16, v016::spawn_server),
        ("0.16.2", "0.18.4", 16, v018::spawn_server),
        ("0.18.4", "0.16.2", 18, v016::spawn_server),
        ("0.18.4", "0.18.4", 18, v018::spawn_server),
    ];
    for (client, server, version, spawn) in pairs {
        let mut stalled = 0;
        for _ in 0..runs {
            let ok = tokio::time::timeout(Duration::from_secs(600), async {
                if version == 16 {
                    v016::run(messages, in_flight, spawn).await
                } else {
                    v018::run(messages, in_flight, spawn).await
                }
            })
            .await
            .unwrap_or(false);
            if !ok {
                stalled += 1;
            }
        }
        println!(
            "client fe2o3-amqp {client}, server fe2o3-amqp {server}: {stalled} of {runs} runs of \
             {messages} sends ({in_flight} in flight) stalled"
        );
    }
}
