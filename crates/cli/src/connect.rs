//! The connection options every command but `emulator` shares, and the clients built from
//! them.

use std::sync::Arc;

use eventhubs::identity::{
    AzureCliCredential, CredentialOptions, EnvironmentCredential, ManagedIdentityCredential,
    UserAssignedId,
};
use eventhubs::{
    ClientOptions, ConsumerClient, ProducerClient, ProxyOptions, TokenProvider, TransportType,
};

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
    /// The namespace (`my-ns`, completed with the cloud's suffix, or
    /// `my-ns.servicebus.windows.net`), for signing in with --aad instead of a connection
    /// string; give the hub with -n.
    #[arg(long, env = "EVENTHUB_NAMESPACE")]
    namespace: Option<String>,
    /// Sign in with Microsoft Entra ID instead of a shared access key: `env` (the default:
    /// AZURE_TENANT_ID + AZURE_CLIENT_ID with AZURE_CLIENT_SECRET, AZURE_CERTIFICATE_PATH
    /// [+ AZURE_CERTIFICATE_PASSWORD] or AZURE_FEDERATED_TOKEN_FILE, else the managed
    /// identity), `cli` (the Azure CLI's `az login`) or `managed-identity`. The cloud comes
    /// from AZURE_ENVIRONMENT / AZURE_AUTHORITY_HOST.
    #[arg(
        long,
        value_enum,
        value_name = "SOURCE",
        num_args = 0..=1,
        default_missing_value = "env",
        requires = "namespace"
    )]
    aad: Option<Aad>,
    /// Dial this host:port instead of the namespace (a private endpoint, the emulator's
    /// TLS port); TLS still checks the namespace's name.
    #[arg(long, value_name = "HOST:PORT")]
    custom_endpoint: Option<String>,
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

/// Namespace, hub and credential of an Entra ID sign-in.
type EntraTarget<'a> = (&'a str, &'a str, Arc<dyn TokenProvider>);

/// `--aad` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Aad {
    /// The credential the AZURE_* variables describe.
    Env,
    /// The Azure CLI's signed-in account.
    Cli,
    /// The managed identity of the Azure resource this runs on (AZURE_CLIENT_ID picks a
    /// user-assigned one).
    ManagedIdentity,
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

    /// The namespace named by --namespace or $EVENTHUB_NAMESPACE.
    pub(crate) fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
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
                 EVENTHUB_CONNECTION_STRING (or sign in with --aad and --namespace)",
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
        if let Some(pem) = self.ca_pem()? {
            options = options.add_root_certificates(pem);
        }
        if let Some(address) = &self.custom_endpoint {
            options = options.custom_endpoint(address.clone());
        }
        Ok(options)
    }

    /// The Entra ID credential for Azure Storage (`eh checkpoints --storage-url`): the one
    /// --aad names, else the environment's, trusting what the client trusts (--ca-file).
    pub(crate) fn storage_credential(&self) -> Result<Arc<dyn TokenProvider>, Failure> {
        credential(self.aad.unwrap_or(Aad::Env), &self.options()?)
    }

    /// The extra root certificates --ca-file names, if any.
    pub(crate) fn ca_pem(&self) -> Result<Option<Vec<u8>>, Failure> {
        self.ca_file
            .as_ref()
            .map(|path| {
                std::fs::read(path)
                    .map_err(|e| Failure::usage(format!("--ca-file {}: {e}", path.display())))
            })
            .transpose()
    }

    /// With --aad: the namespace, the hub and the Entra ID credential.
    fn entra(&self, options: &ClientOptions) -> Result<Option<EntraTarget<'_>>, Failure> {
        let Some(source) = self.aad else {
            return Ok(None);
        };
        let namespace = self
            .namespace
            .as_deref()
            .ok_or_else(|| Failure::usage("--aad needs --namespace (or EVENTHUB_NAMESPACE)"))?;
        let hub = self
            .hub
            .as_deref()
            .ok_or_else(|| Failure::usage("--aad needs -n/--hub (or EVENTHUB_NAME)"))?;
        let credential = credential(source, options)?;
        Ok(Some((namespace, hub, credential)))
    }

    pub(crate) fn producer(&self) -> Result<ProducerClient, Failure> {
        let options = self.options()?;
        match self.entra(&options)? {
            Some((namespace, hub, credential)) => {
                ProducerClient::new(namespace, hub, credential, options)
            }
            None => ProducerClient::from_connection_string(
                self.connection_string()?,
                self.hub.as_deref(),
                options,
            ),
        }
        .map_err(construction)
    }

    pub(crate) fn consumer(&self) -> Result<ConsumerClient, Failure> {
        let options = self.options()?;
        match self.entra(&options)? {
            Some((namespace, hub, credential)) => {
                ConsumerClient::new(namespace, hub, &self.consumer_group, credential, options)
            }
            None => ConsumerClient::from_connection_string(
                self.connection_string()?,
                self.hub.as_deref(),
                &self.consumer_group,
                options,
            ),
        }
        .map_err(construction)
    }
}

/// A client that cannot be built is a usage error: the connection string or hub is wrong.
fn construction(e: eventhubs::Error) -> Failure {
    Failure::usage(e.to_string())
}

/// The Entra ID credential `source` names, with the client's trust and proxy settings.
fn credential(source: Aad, options: &ClientOptions) -> Result<Arc<dyn TokenProvider>, Failure> {
    let credential_options = CredentialOptions::for_client(options);
    Ok(match source {
        Aad::Env => {
            Arc::new(EnvironmentCredential::from_env(credential_options).map_err(construction)?)
        }
        Aad::Cli => Arc::new(AzureCliCredential::new(credential_options).map_err(construction)?),
        Aad::ManagedIdentity => Arc::new(
            match std::env::var("AZURE_CLIENT_ID")
                .ok()
                .filter(|v| !v.is_empty())
            {
                Some(id) => ManagedIdentityCredential::user_assigned(
                    UserAssignedId::ClientId(id),
                    credential_options,
                ),
                None => ManagedIdentityCredential::new(credential_options),
            }
            .map_err(construction)?,
        ),
    })
}
