//! Connection settings for both roles, with the defaults the official SDKs expect.

use std::time::Duration;

use bytes::Bytes;

use crate::types::{Fields, Symbol};

/// Which side of the connection this endpoint plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Sends the first protocol header.
    Client,
    /// Waits for the peer's protocol header.
    Server,
}

/// How a client authenticates at the SASL layer.
#[derive(Clone, PartialEq, Eq)]
pub enum SaslClient {
    /// Skip SASL and send the bare AMQP header.
    None,
    /// `ANONYMOUS`, with an optional trace string as initial response.
    Anonymous,
    /// `PLAIN` with a user name and password.
    Plain {
        /// Authentication identity.
        username: String,
        /// Password (never printed by `Debug`).
        password: String,
    },
    /// `MSSBCBS`: Microsoft's "authenticate later through $cbs" mechanism.
    MssbCbs,
    /// `EXTERNAL`: identity from the transport (TLS client certificate).
    External,
}

impl std::fmt::Debug for SaslClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Anonymous => f.write_str("Anonymous"),
            Self::Plain { username, .. } => f
                .debug_struct("Plain")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Self::MssbCbs => f.write_str("MssbCbs"),
            Self::External => f.write_str("External"),
        }
    }
}

impl SaslClient {
    pub(crate) fn mechanism(&self) -> &'static str {
        match self {
            Self::None => "",
            Self::Anonymous => "ANONYMOUS",
            Self::Plain { .. } => "PLAIN",
            Self::MssbCbs => "MSSBCBS",
            Self::External => "EXTERNAL",
        }
    }

    pub(crate) fn initial_response(&self) -> Option<Bytes> {
        match self {
            Self::Plain { username, password } => {
                let mut v = Vec::with_capacity(username.len() + password.len() + 2);
                v.push(0);
                v.extend_from_slice(username.as_bytes());
                v.push(0);
                v.extend_from_slice(password.as_bytes());
                Some(Bytes::from(v))
            }
            Self::Anonymous => Some(Bytes::new()),
            _ => None,
        }
    }
}

/// Settings for one connection endpoint. Defaults match what the Event Hubs service sends
/// (docs/PROTOCOL.md §1.3): max-frame-size 65536, channel-max 4999, idle-time-out 240 s for
/// servers; clients advertise 60 s like the JS and .NET SDKs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionConfig {
    /// Client or server.
    pub side: Side,
    /// Our container id.
    pub container_id: String,
    /// Host name sent in open (clients).
    pub hostname: Option<String>,
    /// Largest frame we accept. Default 65536.
    pub max_frame_size: u32,
    /// Highest channel number we accept. Default 4999.
    pub channel_max: u16,
    /// Idle timeout we ask of the peer; `None` disables it.
    pub idle_timeout: Option<Duration>,
    /// Open properties.
    pub properties: Option<Fields>,
    /// Client: the SASL mechanism to use.
    pub sasl_client: SaslClient,
    /// Server: mechanisms offered, in order. Empty means SASL is refused (bare AMQP only).
    pub sasl_server_mechanisms: Vec<Symbol>,
    /// Server: accept a bare AMQP header without SASL. Default true.
    pub allow_bare_amqp: bool,
    /// Incoming session window in transfers. Default 5000.
    pub session_window: u32,
    /// Largest message (sum of transfer payloads) accepted by default on incoming links.
    /// Default 1 MiB.
    pub max_message_size: u64,
    /// How long the peer has, from the start, to finish the protocol headers, SASL and
    /// open; then the connection fails (a silent socket must not hold a server's slot
    /// forever). Default 10 s for servers, none for clients (their callers bound the
    /// connect).
    pub handshake_timeout: Option<Duration>,
}

impl ConnectionConfig {
    /// Defaults for a client.
    pub fn client(container_id: impl Into<String>) -> Self {
        Self {
            side: Side::Client,
            container_id: container_id.into(),
            hostname: None,
            max_frame_size: 65536,
            channel_max: 4999,
            idle_timeout: Some(Duration::from_secs(60)),
            properties: None,
            sasl_client: SaslClient::Anonymous,
            sasl_server_mechanisms: Vec::new(),
            allow_bare_amqp: true,
            session_window: 5000,
            max_message_size: 1024 * 1024,
            handshake_timeout: None,
        }
    }

    /// Defaults for a server: offers MSSBCBS, ANONYMOUS, PLAIN, EXTERNAL.
    pub fn server(container_id: impl Into<String>) -> Self {
        Self {
            side: Side::Server,
            idle_timeout: Some(Duration::from_secs(240)),
            handshake_timeout: Some(Duration::from_secs(10)),
            sasl_server_mechanisms: ["MSSBCBS", "ANONYMOUS", "PLAIN", "EXTERNAL"]
                .map(Symbol::from)
                .to_vec(),
            ..Self::client(container_id)
        }
    }

    /// Sets the host name.
    pub fn hostname(mut self, hostname: impl Into<String>) -> Self {
        self.hostname = Some(hostname.into());
        self
    }

    /// Sets the max frame size we accept (at least 512).
    pub fn max_frame_size(mut self, size: u32) -> Self {
        self.max_frame_size = size.max(crate::frame::MIN_MAX_FRAME_SIZE);
        self
    }

    /// Sets the idle timeout we ask of the peer.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets the handshake timeout (`None`: wait for ever).
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets the client SASL mechanism.
    pub fn sasl(mut self, sasl: SaslClient) -> Self {
        self.sasl_client = sasl;
        self
    }

    /// Sets the server's offered SASL mechanisms.
    pub fn sasl_mechanisms(mut self, mechanisms: Vec<Symbol>) -> Self {
        self.sasl_server_mechanisms = mechanisms;
        self
    }

    /// Sets the default max message size for incoming links.
    pub fn max_message_size(mut self, size: u64) -> Self {
        self.max_message_size = size;
        self
    }

    /// Sets the open properties.
    pub fn properties(mut self, properties: Fields) -> Self {
        self.properties = Some(properties);
        self
    }
}
