//! A loopback HTTP CONNECT proxy for tests: Basic auth when configured (a wrong or missing
//! password gets a 407), a tunnel to whatever `host:port` is asked for, and a log of every
//! tunnel opened so a test can tell the proxy was used — or bypassed.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A running proxy; dropping it stops accepting.
#[derive(Debug)]
pub struct ConnectProxy {
    addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    accept: JoinHandle<()>,
}

/// What the proxy saw.
#[derive(Debug, Default, Clone)]
pub struct Log {
    /// The `host:port` of every tunnel opened, in order.
    pub tunnels: Vec<String>,
    /// CONNECT requests refused with 407.
    pub refused: usize,
}

impl ConnectProxy {
    /// Listens on a free loopback port; with `credentials`, only requests carrying them
    /// (Basic auth) are tunnelled.
    ///
    /// # Panics
    /// When no loopback port is free.
    pub async fn start(credentials: Option<(&str, &str)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let expected = credentials.map(|(u, p)| format!("Basic {}", basic(&format!("{u}:{p}"))));
        let log: Arc<Mutex<Log>> = Arc::default();
        let seen = log.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (expected, log) = (expected.clone(), seen.clone());
                tokio::spawn(async move {
                    let _ = serve(client, expected.as_deref(), &log).await;
                });
            }
        });
        Self { addr, log, accept }
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:{port}`, with `user:password@` when given.
    pub fn url(&self, credentials: Option<(&str, &str)>) -> String {
        match credentials {
            Some((u, p)) => format!("http://{u}:{p}@{}", self.addr),
            None => format!("http://{}", self.addr),
        }
    }

    /// What it saw so far.
    pub fn log(&self) -> Log {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn serve(
    mut client: TcpStream,
    expected: Option<&str>,
    log: &Mutex<Log>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 8192 || client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.lines();
    let request: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
    let [method, target, _version] = request[..] else {
        return client.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
    };
    if method != "CONNECT" {
        return client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            .await;
    }
    let authorization = lines.find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("proxy-authorization")
            .then(|| v.trim())
    });
    if expected.is_some() && authorization != expected {
        log.lock().unwrap().refused += 1;
        return client
            .write_all(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n\
                  Proxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
            )
            .await;
    }
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
    };
    log.lock().unwrap().tunnels.push(target.to_owned());
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

fn basic(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
