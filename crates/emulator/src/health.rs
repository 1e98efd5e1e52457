//! The `/health` HTTP endpoint, shaped like Microsoft's emulator (`GET /health` → 200
//! `{"status":"healthy",...}`), plus per-partition event counters.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::namespace::Namespace;

/// The health document.
pub fn health_json(ns: &Namespace) -> String {
    let partitions: Vec<serde_json::Value> = ns
        .hubs
        .iter()
        .flat_map(|h| {
            h.partitions.iter().map(move |p| {
                serde_json::json!({
                    "hub": h.name,
                    "partition": p.id,
                    "events_in": p.events_in.load(Ordering::Relaxed),
                    "events_out": p.events_out.load(Ordering::Relaxed),
                })
            })
        })
        .collect();
    serde_json::json!({
        "status": "healthy",
        "message": "Service is healthy.",
        "links_expired": ns.links_expired(),
        "partitions": partitions,
    })
    .to_string()
}

/// Serves `GET /health` until the listener fails.
pub async fn serve(listener: TcpListener, ns: Arc<Namespace>) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let ns = ns.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let read =
                tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf));
            let Ok(Ok(n)) = read.await else { return };
            let request = String::from_utf8_lossy(&buf[..n]);
            let (status, body) = if request.starts_with("GET /health ") {
                ("200 OK", health_json(&ns))
            } else {
                ("404 Not Found", "{\"status\":\"not found\"}".to_owned())
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}
