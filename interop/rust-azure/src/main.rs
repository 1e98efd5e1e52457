//! `rust-azure-peer <connection string> <amqps endpoint> batched|single|receive <events>`:
//! one benchmark row with the official `azure_messaging_eventhubs` crate; prints
//! `RESULT <events> <seconds> <cpu seconds>`, where `<events>` counts the events actually
//! acknowledged (sends) or received, which the caller checks against what the emulator
//! stored. The emulator's certificate must be trusted through `SSL_CERT_FILE`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use azure_messaging_eventhubs::{
    ConsumerClient, EventDataBatchOptions, OpenReceiverOptions, ProducerClient, SendEventOptions,
    StartLocation, StartPosition,
};
use futures::StreamExt;

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).with_writer(std::io::stderr).init();
    let args: Vec<String> = std::env::args().collect();
    let (cs, endpoint, mode, n) = (&args[1], &args[2], &args[3], args[4].parse::<usize>()?);
    let body = vec![b'x'; 100];
    let cpu0 = cpu_seconds();
    let done = Arc::new(AtomicUsize::new(0));
    let elapsed = match mode.as_str() {
        "batched" | "single" => {
            let producer = Arc::new(
                ProducerClient::builder()
                    .with_custom_endpoint(endpoint.clone())
                    .open_with_connection_string(cs, Some("eh1"))
                    .await?,
            );
            let start = Instant::now();
            let mut tasks = Vec::new();
            let single_workers: usize = std::env::var("PEER_WORKERS").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
            let (workers, per_worker) = if mode == "batched" { (8, n / 100 / 8) } else { (single_workers, n / single_workers) };
            for t in 0..workers {
                let (producer, body, mode, done) = (producer.clone(), body.clone(), mode.clone(), done.clone());
                tasks.push(tokio::spawn(async move {
                    for _ in 0..per_worker {
                        if mode == "batched" {
                            let options = EventDataBatchOptions {
                                partition_id: Some((t % 2).to_string()),
                                ..Default::default()
                            };
                            let batch = producer.create_batch(Some(options)).await.unwrap();
                            for _ in 0..100 {
                                assert!(batch.try_add_event_data(body.clone(), None).unwrap());
                            }
                            producer.send_batch(batch, None).await.unwrap();
                            done.fetch_add(100, Ordering::Relaxed);
                        } else {
                            let options = SendEventOptions { partition_id: Some("2".into()) };
                            producer.send_event(body.clone(), Some(options)).await.unwrap();
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }));
            }
            for t in tasks {
                t.await?;
            }
            start.elapsed()
        }
        _ => {
            let consumer = ConsumerClient::builder()
                .with_custom_endpoint(endpoint.clone())
                .open_with_connection_string(cs, Some("eh1"))
                .await?;
            let start = Instant::now();
            let options = OpenReceiverOptions {
                prefetch: Some(3000),
                start_position: Some(StartPosition {
                    location: StartLocation::Earliest,
                    ..Default::default()
                }),
                ..Default::default()
            };
            let receiver = consumer.open_receiver_on_partition("1".into(), Some(options)).await?;
            let mut stream = Box::pin(receiver.stream_events());
            let mut got = 0;
            while got < n {
                stream.next().await.ok_or("stream ended")??;
                got += 1;
            }
            done.store(got, Ordering::Relaxed);
            start.elapsed()
        }
    };
    println!("RESULT {} {:.6} {:.6}", done.load(Ordering::Relaxed), elapsed.as_secs_f64(), cpu_seconds() - cpu0);
    Ok(())
}
