//! Event Hubs connection strings (docs/PROTOCOL.md §2.1): `Endpoint=sb://host[:port]/;
//! SharedAccessKeyName=..;SharedAccessKey=..;EntityPath=..;UseDevelopmentEmulator=true`.

/// Why a connection string was refused. Messages name the offending key; they never
/// contain the key or signature values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionStringError {
    /// A `;`-separated part (counted from 1) is not `key=value`. The part itself is not
    /// shown: it may be a secret.
    #[error("connection string part {0} is not of the form key=value")]
    NotKeyValue(usize),
    /// `Endpoint` is absent.
    #[error("connection string has no Endpoint")]
    MissingEndpoint,
    /// `Endpoint` is not `sb://host[:port][/]`.
    #[error("connection string Endpoint {0:?} is not of the form sb://<host>[:port]/")]
    BadEndpoint(String),
    /// Neither a key pair nor a shared access signature.
    #[error(
        "connection string needs SharedAccessKeyName and SharedAccessKey, or SharedAccessSignature"
    )]
    MissingCredential,
    /// `SharedAccessKeyName` without `SharedAccessKey` or the reverse.
    #[error("connection string has {0} but not {1}")]
    IncompleteKey(&'static str, &'static str),
    /// Both a key and a signature.
    #[error("connection string has both SharedAccessKey and SharedAccessSignature; use one")]
    KeyAndSignature,
    /// `EntityPath=` with an empty value.
    #[error("connection string EntityPath is empty")]
    EmptyEntityPath,
    /// `UseDevelopmentEmulator` is not a boolean.
    #[error("connection string UseDevelopmentEmulator must be true or false, not {0:?}")]
    BadEmulatorFlag(String),
}

/// The credential a connection string carries.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// A SAS policy name and key.
    Key {
        /// Policy name.
        name: String,
        /// Key (never printed by `Debug`).
        key: String,
    },
    /// A ready-made `SharedAccessSignature ...` token.
    Signature(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Key { name, .. } => f
                .debug_struct("Key")
                .field("name", name)
                .field("key", &"<redacted>")
                .finish(),
            Self::Signature(_) => f.write_str("Signature(<redacted>)"),
        }
    }
}

/// A parsed connection string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionString {
    /// Host name of the namespace (no port).
    pub host: String,
    /// Port given in the endpoint, if any.
    pub port: Option<u16>,
    /// The credential.
    pub credential: Credential,
    /// Event hub name (`EntityPath`).
    pub entity_path: Option<String>,
    /// `UseDevelopmentEmulator=true`: plain AMQP, default port 5672.
    pub use_emulator: bool,
}

impl ConnectionString {
    /// Parses a connection string. Keys are case-insensitive; surrounding spaces and a
    /// trailing `;` are allowed.
    pub fn parse(s: &str) -> Result<Self, ConnectionStringError> {
        let (mut endpoint, mut key_name, mut key, mut sig, mut entity, mut emulator) =
            (None, None, None, None, None, None);
        for (index, part) in s.split(';').map(str::trim).enumerate() {
            if part.is_empty() {
                continue;
            }
            let Some((k, v)) = part.split_once('=') else {
                return Err(ConnectionStringError::NotKeyValue(index + 1));
            };
            let v = v.trim().to_owned();
            match k.trim().to_ascii_lowercase().as_str() {
                "endpoint" => endpoint = Some(v),
                "sharedaccesskeyname" => key_name = Some(v),
                "sharedaccesskey" => key = Some(v),
                "sharedaccesssignature" => sig = Some(v),
                "entitypath" => entity = Some(v),
                "usedevelopmentemulator" => emulator = Some(v),
                _ => {} // unknown keys are ignored, like the official SDKs do
            }
        }
        let endpoint = endpoint.ok_or(ConnectionStringError::MissingEndpoint)?;
        let (host, port) = parse_endpoint(&endpoint)?;
        let credential = match (key_name, key, sig) {
            (_, Some(_), Some(_)) => return Err(ConnectionStringError::KeyAndSignature),
            (Some(name), Some(key), None) => Credential::Key { name, key },
            (None, None, Some(sig)) | (Some(_), None, Some(sig)) => Credential::Signature(sig),
            (Some(_), None, None) => {
                return Err(ConnectionStringError::IncompleteKey(
                    "SharedAccessKeyName",
                    "SharedAccessKey",
                ))
            }
            (None, Some(_), None) => {
                return Err(ConnectionStringError::IncompleteKey(
                    "SharedAccessKey",
                    "SharedAccessKeyName",
                ))
            }
            (None, None, None) => return Err(ConnectionStringError::MissingCredential),
        };
        if entity.as_deref() == Some("") {
            return Err(ConnectionStringError::EmptyEntityPath);
        }
        let use_emulator = match emulator.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ConnectionStringError::BadEmulatorFlag(
                    emulator.unwrap_or_default(),
                ))
            }
        };
        Ok(Self {
            host,
            port,
            credential,
            entity_path: entity,
            use_emulator,
        })
    }

    /// The port to connect to: the endpoint's, else 5672 for the emulator, 5671 otherwise.
    pub fn effective_port(&self) -> u16 {
        self.port
            .unwrap_or(if self.use_emulator { 5672 } else { 5671 })
    }

    /// `host` or `host:port` as the SDKs put it in CBS audiences.
    pub fn authority(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }
}

fn parse_endpoint(endpoint: &str) -> Result<(String, Option<u16>), ConnectionStringError> {
    let bad = || ConnectionStringError::BadEndpoint(endpoint.to_owned());
    let rest = endpoint
        .split_once("://")
        .map_or(endpoint, |(scheme, rest)| {
            let _ = scheme;
            rest
        });
    let authority = rest.split('/').next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p.parse::<u16>().map_err(|_| bad())?)),
        None => (authority, None),
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The emulator's documented string parses, with the port and emulator flag kept.
    #[test]
    fn parses_emulator_string() {
        let cs = ConnectionString::parse(
            "Endpoint=sb://localhost:15672;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true;EntityPath=eh1;",
        )
        .unwrap();
        assert_eq!(cs.host, "localhost");
        assert_eq!(cs.port, Some(15672));
        assert_eq!(cs.entity_path.as_deref(), Some("eh1"));
        assert!(cs.use_emulator);
        assert_eq!(cs.authority(), "localhost:15672");
        assert!(!format!("{cs:?}").contains("SAS_KEY_VALUE"));
    }

    /// Keys are case-insensitive; no port means 5671, or 5672 for the emulator.
    #[test]
    fn defaults_and_case() {
        let cs = ConnectionString::parse(
            "endpoint=sb://ns.servicebus.windows.net/;sharedaccesskeyname=a;sharedaccesskey=b",
        )
        .unwrap();
        assert_eq!(cs.effective_port(), 5671);
        assert_eq!(cs.host, "ns.servicebus.windows.net");
    }

    /// Each malformed input gets its own typed error, and none echoes a secret.
    #[test]
    fn errors() {
        use ConnectionStringError as E;
        let cases = [
            ("SharedAccessKeyName=a;SharedAccessKey=b", E::MissingEndpoint),
            ("Endpoint=sb://;SharedAccessKeyName=a;SharedAccessKey=b", E::BadEndpoint("sb://".into())),
            ("Endpoint=sb://h:x;SharedAccessKeyName=a;SharedAccessKey=b", E::BadEndpoint("sb://h:x".into())),
            ("Endpoint=sb://h", E::MissingCredential),
            ("Endpoint=sb://h;SharedAccessKeyName=a", E::IncompleteKey("SharedAccessKeyName", "SharedAccessKey")),
            ("Endpoint=sb://h;SharedAccessKey=secret", E::IncompleteKey("SharedAccessKey", "SharedAccessKeyName")),
            ("Endpoint=sb://h;SharedAccessKeyName=a;SharedAccessKey=b;SharedAccessSignature=s", E::KeyAndSignature),
            ("Endpoint=sb://h;SharedAccessKeyName=a;SharedAccessKey=b;EntityPath=", E::EmptyEntityPath),
            ("Endpoint=sb://h;SharedAccessKeyName=a;SharedAccessKey=b;UseDevelopmentEmulator=yes", E::BadEmulatorFlag("yes".into())),
        ];
        for (s, e) in cases {
            assert_eq!(ConnectionString::parse(s), Err(e), "{s}");
        }
        let err =
            ConnectionString::parse("Endpoint=sb://h;supersecretvaluewithoutequalsign_and_more")
                .unwrap_err();
        assert!(!err.to_string().contains("and_more"));
    }
}
