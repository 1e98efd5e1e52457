//! The connection options every command but `emulator` shares, and the clients built from
//! them.

use eventhubs::{ClientOptions, ConsumerClient, ProducerClient, ProxyOptions, TransportType};

use crate::fail::Failure;

/// Where to connect.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ConnectArgs {
    /// Connection string of the namespace or hub (`Endpoint=sb://...;SharedAccessKeyName=...;
    /// SharedAccessKey=...[;EntityPath=hub]`).
    #[arg(
        short = 'c',
        long,
        env = "EVENTHUB_CONNECTION_STRING",
        hide_env_values = true
    )]
    connection_string: Option<String>,
    /// Event hub name (default: the connection string's EntityPath).
    #[arg(short = 'n', long, env = "EVENTHUB_NAME")]
    hub: Option<String>,
    /// Consumer group.
    #[arg(short = 'g', long, default_value = eventhubs::DEFAULT_CONSUMER_GROUP)]
    pub consumer_group: String,
    /// Connect over AMQP on TCP (port 5671) or over WebSockets (port 443, for networks
    /// that only open that port). With the emulator, point the connection string at its
    /// --ws-port or --wss-port.
    #[arg(long, value_enum, default_value = "tcp")]
    transport: Transport,
    /// Tunnel through this HTTP proxy (`http://[user:password@]host:port`; implies
    /// WebSockets). Default: `HTTPS_PROXY`, except for `NO_PROXY` hosts and loopback.
    #[arg(long, value_name = "URL")]
    proxy: Option<String>,
    /// Also trust the root certificates in this PEM file (a private CA, a TLS-inspecting
    /// proxy, the emulator's --tls-cert); `SSL_CERT_FILE` is honoured too.
    #[arg(long, value_name = "PEM")]
    ca_file: Option<std::path::PathBuf>,
    /// Log level on stderr: error, warn, info, debug, trace (or a tracing filter). Errors
    /// that end the command are printed whatever the level.
    #[arg(long, default_value = "error")]
    log_level: String,
}

/// `--transport` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Transport {
    Tcp,
    Websockets,
}

impl ConnectArgs {
    /// Sends logs to stderr at the chosen level.
    pub(crate) fn init_logging(&self) -> Result<(), Failure> {
        crate::logging::init(&self.log_level).map_err(Failure::usage)?;
        Ok(())
    }

    /// The hub named by -n/--hub or $EVENTHUB_NAME.
    pub(crate) fn hub_name(&self) -> Option<&str> {
        self.hub.as_deref()
    }

    /// Connect to this hub instead of the one given (`eh bench --embedded`).
    pub(crate) fn replace_target(&mut self, connection_string: String) {
        self.connection_string = Some(connection_string);
        self.hub = None;
    }

    /// The connection string, or a usage error saying where to give one.
    fn connection_string(&self) -> Result<&str, Failure> {
        self.connection_string.as_deref().ok_or_else(|| {
            Failure::usage(
                "no connection string: pass -c/--connection-string or set \
                 EVENTHUB_CONNECTION_STRING",
            )
        })
    }

    /// The client options --transport and --ca-file ask for.
    fn options(&self) -> Result<ClientOptions, Failure> {
        let mut options = ClientOptions::default().transport_type(match self.transport {
            Transport::Tcp => TransportType::AmqpTcp,
            Transport::Websockets => TransportType::AmqpWebSockets,
        });
        if let Some(url) = &self.proxy {
            let proxy =
                ProxyOptions::new(url).map_err(|e| Failure::usage(format!("--proxy: {e}")))?;
            options = options.proxy(proxy);
        }
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| Failure::usage(format!("--ca-file {}: {e}", path.display())))?;
            options = options.add_root_certificates(pem);
        }
        Ok(options)
    }

    pub(crate) fn producer(&self) -> Result<ProducerClient, Failure> {
        ProducerClient::from_connection_string(
            self.connection_string()?,
            self.hub.as_deref(),
            self.options()?,
        )
        .map_err(construction)
    }

    pub(crate) fn consumer(&self) -> Result<ConsumerClient, Failure> {
        ConsumerClient::from_connection_string(
            self.connection_string()?,
            self.hub.as_deref(),
            &self.consumer_group,
            self.options()?,
        )
        .map_err(construction)
    }
}

/// A client that cannot be built is a usage error: the connection string or hub is wrong.
fn construction(e: eventhubs::Error) -> Failure {
    Failure::usage(e.to_string())
}
