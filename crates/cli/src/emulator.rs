//! `eh emulator`: runs the emulator on a port until Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;

use eventhubs_emulator::namespace::Namespace;
use eventhubs_emulator::{connection_string, Config};
use tokio::net::TcpListener;

/// Options of `eh emulator`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// AMQP port; 0 picks a free one.
    #[arg(long, default_value_t = 5672)]
    port: u16,
    /// Configuration file (Microsoft emulator Config.json format, plus `UserConfig.Emulator`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Log level: error, warn, info, debug, trace (or a tracing filter).
    #[arg(long, default_value = "info")]
    log_level: String,
    /// Serve `GET /health` on this port (Microsoft's emulator uses 5300).
    #[arg(long)]
    health_port: Option<u16>,
}

pub(crate) async fn run(args: Args) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .map_err(|e| format!("invalid --log-level {:?}: {e}", args.log_level))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let config = match &args.config {
        None => Config::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Config::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
    };
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", args.host, args.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let namespace = Arc::new(Namespace::new(config));
    if let Some(port) = args.health_port {
        let health = TcpListener::bind((args.host.as_str(), port))
            .await
            .map_err(|e| format!("cannot listen for /health on {}:{port}: {e}", args.host))?;
        let health_addr = health.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(%health_addr, "health endpoint at http://{health_addr}/health");
        tokio::spawn(eventhubs_emulator::health::serve(health, namespace.clone()));
    }
    for hub in &namespace.hubs {
        tracing::info!(hub = %hub.name, partitions = hub.partitions.len(), consumer_groups = ?hub.consumer_groups, "event hub");
    }
    // These two lines are the emulator's interface to scripts: keep their shape.
    println!("listening on {addr}");
    println!("{}", connection_string(addr, &namespace.config, None));
    eventhubs_emulator::server::run_with(listener, namespace, shutdown_signal())
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let kind = tokio::signal::unix::SignalKind::terminate();
        let Ok(mut term) = tokio::signal::unix::signal(kind) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
