//! A fault-injecting loopback TCP proxy: forwards connections to a target and can cut
//! every live one at once, as a network failure would, or stop reading the target's side
//! (a client that stops reading its socket).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running proxy; dropping it stops accepting (live connections keep going until cut).
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
    frozen: watch::Sender<bool>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards each connection to `target`.
    ///
    /// # Panics
    /// When no loopback port is free.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let live = connections.clone();
        let (frozen, frozen_rx) = watch::channel(false);
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let frozen = frozen_rx.clone();
                let task = tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (mut client_rd, mut client_wr) = client.into_split();
                    let (mut server_rd, mut server_wr) = server.into_split();
                    let up = tokio::io::copy(&mut client_rd, &mut server_wr);
                    let down = async {
                        let mut frozen = frozen;
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            // While frozen the target's bytes stay unread: its socket
                            // buffers fill and its writes stall.
                            if frozen.wait_for(|f| !*f).await.is_err() {
                                return;
                            }
                            match server_rd.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => {
                                    if client_wr.write_all(&buf[..n]).await.is_err() {
                                        return;
                                    }
                                }
                            }
                        }
                    };
                    tokio::select! {
                        _ = up => {}
                        () = down => {}
                    }
                });
                live.lock().unwrap().push(task);
            }
        });
        Self {
            addr,
            connections,
            accept,
            frozen,
        }
    }

    /// Stops (`true`) or resumes (`false`) reading what the target sends on every
    /// connection, as a client that stops reading its socket.
    pub fn freeze_downstream(&self, frozen: bool) {
        self.frozen.send_replace(frozen);
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Cuts every live connection (both sockets are dropped without a goodbye); returns
    /// how many there were.
    pub fn cut_all(&self) -> usize {
        let mut conns = self.connections.lock().unwrap();
        let n = conns.iter().filter(|t| !t.is_finished()).count();
        for t in conns.drain(..) {
            t.abort();
        }
        n
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut_all();
    }
}
