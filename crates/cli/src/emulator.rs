//! `eh emulator`: runs the emulator on a port until Ctrl-C or SIGTERM.

use std::io::Write;
use std::path::{Path, PathBuf};

use eventhubs_amqp_io::TlsServerConfig;
use eventhubs_emulator::namespace::Namespace;
use eventhubs_emulator::server;
use eventhubs_emulator::{
    connection_string, websocket_url, Config, DurableStorage, JwtKeys, JwtPolicy, Listeners,
    Storage, SyncPolicy,
};
use tokio::net::TcpListener;

/// How long stopping waits for the durable store's last writes.
const STORE_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

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
    /// Keep events in append-only segment files under this directory, recovered on start
    /// (default: in memory only).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// With --data-dir: `always` syncs each group of writes to disk before acknowledging
    /// (survives power loss); `never` only writes them (survives a crash of the emulator).
    #[arg(long, value_enum, default_value = "always", requires = "data_dir")]
    sync: Sync,
    /// With --data-dir: event bodies kept in memory at most, in bytes, shared by the
    /// partitions (default 268435456, 256 MiB); older ones are read back from the segment
    /// files, so retention can exceed memory.
    #[arg(long, value_name = "BYTES", requires = "data_dir")]
    cache_bytes: Option<u64>,
    /// Also serve AMQP over TLS (AMQPS) with this PEM certificate chain.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// AMQPS port (with --tls-cert); 0 picks a free one.
    #[arg(long, default_value_t = 5671)]
    tls_port: u16,
    /// Also serve AMQP over WebSockets (`ws://HOST:PORT/$servicebus/websocket`) on this
    /// port; 0 picks a free one.
    #[arg(long, value_name = "PORT")]
    ws_port: Option<u16>,
    /// Also serve AMQP over WebSockets with TLS (`wss://`, the --tls-cert certificate) on
    /// this port; 0 picks a free one.
    #[arg(long, value_name = "PORT", requires = "tls_cert")]
    wss_port: Option<u16>,
    /// Validate Microsoft Entra ID tokens (JWTs) as Event Hubs does: RS256 signed by a key
    /// of this PEM file (certificates or public keys), audience `https://eventhubs.azure.net`,
    /// exp and nbf; links end at the token's exp. Default: any JWT is accepted (or what the
    /// --config file's `Jwt` says).
    #[arg(long, value_name = "PEM")]
    jwt_key: Option<PathBuf>,
}

/// `--sync` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Sync {
    Always,
    Never,
}

pub(crate) async fn run(args: Args) -> Result<(), String> {
    crate::logging::init(&args.log_level)?;
    let mut config = match &args.config {
        None => Config::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Config::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
    };
    if let Some(path) = &args.jwt_key {
        let pem = std::fs::read(path)
            .map_err(|e| format!("--jwt-key {}: cannot read it: {e}", path.display()))?;
        let keys =
            JwtKeys::from_pem(&pem).map_err(|e| format!("--jwt-key {}: {e}", path.display()))?;
        config.jwt = JwtPolicy::Validate(std::sync::Arc::new(keys));
    }
    if let Some(dir) = &args.data_dir {
        let mut durable = match config.storage {
            Storage::Durable(d) => d,
            Storage::Memory => DurableStorage::new(dir),
        };
        durable.dir.clone_from(dir);
        durable.sync = match args.sync {
            Sync::Always => SyncPolicy::Always,
            Sync::Never => SyncPolicy::Never,
        };
        if let Some(bytes) = args.cache_bytes {
            durable.cache_bytes = Some(bytes);
        }
        config.storage = Storage::Durable(durable);
    }
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", args.host, args.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
        _ => None,
    };
    let mut listeners = Listeners::new(listener);
    // What the extra listeners print after the connection strings: (label, address).
    let mut extra = Vec::new();
    if let Some(tls) = &tls {
        let l = bind(&args.host, args.tls_port, "TLS").await?;
        extra.push((
            "tls listening on",
            l.local_addr().map_err(|e| e.to_string())?,
            None,
        ));
        listeners = listeners.amqps(l, tls.clone());
    }
    if let Some(port) = args.ws_port {
        let l = bind(&args.host, port, "WebSockets").await?;
        extra.push((
            "websocket listening on",
            l.local_addr().map_err(|e| e.to_string())?,
            Some("ws"),
        ));
        listeners = listeners.websocket(l, None);
    }
    if let (Some(port), Some(tls)) = (args.wss_port, &tls) {
        let l = bind(&args.host, port, "TLS WebSockets").await?;
        extra.push((
            "secure websocket listening on",
            l.local_addr().map_err(|e| e.to_string())?,
            Some("wss"),
        ));
        listeners = listeners.websocket(l, Some(tls.clone()));
    }
    let namespace = Namespace::open(config).map_err(|e| e.to_string())?;
    if let Storage::Durable(d) = &namespace.config.storage {
        let events: u64 = namespace.hubs.iter().map(|h| h.stored_events()).sum();
        tracing::info!(dir = %d.dir.display(), sync = ?d.sync, events, "durable store opened");
    }
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
    // These lines are the emulator's interface to scripts: keep their shape. First the
    // address, then one connection string per hub, each naming its hub (`EntityPath`), so
    // that any of them works as printed. A closed stdout (the script stopped reading) must
    // not stop the emulator.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {addr}");
    for hub in &namespace.hubs {
        let _ = writeln!(
            stdout,
            "{}",
            connection_string(addr, &namespace.config, Some(&hub.name))
        );
    }
    for (label, addr, scheme) in extra {
        match scheme {
            Some(scheme) => {
                let _ = writeln!(stdout, "{label} {}", websocket_url(scheme, addr));
            }
            None => {
                let _ = writeln!(stdout, "{label} {addr}");
            }
        }
    }
    let _ = stdout.flush();
    let served = server::run_on(listeners, namespace.clone(), shutdown_signal()).await;
    // Write what is staged before the process exits (the writer thread would not outlive it).
    namespace.close_store(STORE_CLOSE_WAIT).await;
    served.map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

/// Loads the TLS certificate and key.
fn tls_config(cert: &Path, key: &Path) -> Result<TlsServerConfig, String> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
    TlsServerConfig::from_pem(&read(cert)?, &read(key)?)
        .map_err(|e| format!("--tls-cert/--tls-key: {e}"))
}

/// Binds one of the extra listeners.
async fn bind(host: &str, port: u16, what: &str) -> Result<TcpListener, String> {
    TcpListener::bind((host, port))
        .await
        .map_err(|e| format!("cannot listen for {what} on {host}:{port}: {e}"))
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
