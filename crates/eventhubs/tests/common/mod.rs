//! Shared set-up: an in-process emulator and a hub client connected to it.

#![allow(dead_code, unreachable_pub)]

pub mod entra;

use std::time::Duration;

use eventhubs::{Hub, HubOptions, RetryOptions};
use eventhubs_emulator::{Config, Emulator};

/// An emulator with `config` and a client of `eh1` on it with fast retries.
pub async fn start_with(config: Config, options: HubOptions) -> (Emulator, Hub) {
    let em = Emulator::start(config).await.unwrap();
    let options = options.retry(
        RetryOptions::default()
            .max_retries(5)
            .delay(Duration::from_millis(20)),
    );
    let hub = Hub::from_connection_string(&em.connection_string(Some("eh1")), options).unwrap();
    (em, hub)
}

/// A producer of `eh1` on `em`.
pub fn producer(em: &Emulator) -> eventhubs::ProducerClient {
    eventhubs::ProducerClient::from_connection_string(
        &em.connection_string(Some("eh1")),
        None,
        eventhubs::ClientOptions::default(),
    )
    .unwrap()
}

/// A consumer of `eh1` on `em`, in the default consumer group.
pub fn consumer(em: &Emulator) -> eventhubs::ConsumerClient {
    eventhubs::ConsumerClient::from_connection_string(
        &em.connection_string(Some("eh1")),
        None,
        eventhubs::DEFAULT_CONSUMER_GROUP,
        eventhubs::ClientOptions::default(),
    )
    .unwrap()
}

/// The default emulator and a client of `eh1`.
pub async fn start() -> (Emulator, Hub) {
    start_with(Config::default(), HubOptions::default()).await
}

/// Bounds a test step.
pub async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(15), f)
        .await
        .unwrap_or_else(|_| panic!("{what} took more than 15 s"))
}

/// Retries `attempt` until it succeeds, for up to 10 s (for state the emulator changes
/// asynchronously, such as a link released after its handle was dropped).
pub async fn eventually<T, E: std::fmt::Display, F>(mut attempt: impl FnMut() -> F) -> T
where
    F: std::future::Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match attempt().await {
            Ok(v) => return v,
            Err(e) if tokio::time::Instant::now() >= deadline => panic!("still failing: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

/// Everything a tracing subscriber writes, for tests that check what users would see in
/// their logs.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Captured {
    /// Installs a subscriber at `level` (with span open and close events) for this thread
    /// until the guard drops.
    pub fn install(&self, level: tracing::Level) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_span_events(
                tracing_subscriber::fmt::format::FmtSpan::NEW
                    | tracing_subscriber::fmt::format::FmtSpan::CLOSE,
            )
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
