//! How a client reaches the service: AMQP over TCP or over WebSockets, and the TLS roots it
//! trusts.

use eventhubs_amqp_io::TlsConfig;

use crate::error::Error;

/// The transport a client connects over.
///
/// ```
/// use eventhubs::{ClientOptions, TransportType};
/// // For networks that only open port 443 (and for HTTP proxies).
/// let options = ClientOptions::default().transport_type(TransportType::AmqpWebSockets);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TransportType {
    /// AMQP over TCP: TLS on port 5671 (plain on 5672 for the emulator). The default.
    #[default]
    AmqpTcp,
    /// AMQP over WebSockets: `wss://{namespace}:443/$servicebus/websocket` (plain `ws://`
    /// for the emulator, on its WebSocket port). A connection string's explicit port is
    /// the WebSocket port.
    AmqpWebSockets,
}

impl TransportType {
    /// The port dialed when the endpoint names none.
    pub(crate) fn default_port(self, tls: bool) -> u16 {
        match (self, tls) {
            (Self::AmqpTcp, true) => 5671,
            (Self::AmqpTcp, false) => 5672,
            (Self::AmqpWebSockets, true) => 443,
            (Self::AmqpWebSockets, false) => 80,
        }
    }
}

/// The TLS settings of a client: the web PKI roots, the extra roots from the options, and
/// the bundle `SSL_CERT_FILE` names, if set. Verification is always on.
pub(crate) fn tls_config(extra_roots: &[Vec<u8>]) -> Result<TlsConfig, Error> {
    let labelled = extra_roots.iter().map(|pem| {
        (
            pem.as_slice(),
            "the root certificates in the client options",
        )
    });
    TlsConfig::webpki_extra_and_env(labelled).map_err(|e| match e {
        eventhubs_amqp_io::Error::Tls(why) => Error::invalid(why),
        other => Error::invalid(other.to_string()),
    })
}
