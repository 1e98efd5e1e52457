//! Azure Storage connection strings: `AccountName` + `AccountKey` (with
//! `DefaultEndpointsProtocol` and `EndpointSuffix`, or `BlobEndpoint`),
//! `SharedAccessSignature`, and `UseDevelopmentStorage=true` (Azurite's well-known account).

use std::fmt;

use base64::Engine;

/// Azurite's (and the old storage emulator's) well-known development account.
pub const DEVELOPMENT_ACCOUNT: &str = "devstoreaccount1";
/// The development account's published key (not a secret).
pub(crate) const DEVELOPMENT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// What authorizes requests to the account.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Secret {
    /// Shared Key: the account's name and its decoded key.
    SharedKey { account: String, key: Vec<u8> },
    /// A shared access signature, appended to every URL.
    Sas(String),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SharedKey { account, .. } => f
                .debug_struct("SharedKey")
                .field("account", account)
                .field("key", &"<redacted>")
                .finish(),
            Self::Sas(_) => f.write_str("Sas(<redacted>)"),
        }
    }
}

/// A parsed storage connection string. `Debug` never shows the key or signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageConnectionString {
    /// The blob service's URL, without a trailing `/`
    /// (`https://account.blob.core.windows.net`, `http://127.0.0.1:10000/devstoreaccount1`).
    pub blob_endpoint: String,
    pub(crate) secret: Secret,
}

/// Why a storage connection string was refused (never quoting a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionStringError(pub String);

impl fmt::Display for ConnectionStringError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage connection string: {}", self.0)
    }
}

impl std::error::Error for ConnectionStringError {}

/// Keys a storage connection string may hold that the blob store does not need.
const IGNORED: [&str; 4] = [
    "queueendpoint",
    "tableendpoint",
    "fileendpoint",
    "accountkeyname",
];

impl StorageConnectionString {
    /// Parses `s`. Keys are case-insensitive; an unknown key is refused by name (a misspelt
    /// one would otherwise be silently ignored).
    pub fn parse(s: &str) -> Result<Self, ConnectionStringError> {
        let err = |m: String| ConnectionStringError(m);
        let mut protocol = None;
        let mut account = None;
        let mut key = None;
        let mut blob_endpoint = None;
        let mut suffix = None;
        let mut sas = None;
        let mut development = false;
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| err(format!("{:?} is not Key=Value", redact_part(part))))?;
            let value = value.trim().to_owned();
            match name.trim().to_ascii_lowercase().as_str() {
                "defaultendpointsprotocol" => protocol = Some(value),
                "accountname" => account = Some(value),
                "accountkey" => key = Some(value),
                "blobendpoint" => blob_endpoint = Some(value),
                "endpointsuffix" => suffix = Some(value),
                "sharedaccesssignature" => sas = Some(value),
                "usedevelopmentstorage" => development = value.eq_ignore_ascii_case("true"),
                n if IGNORED.contains(&n) => {}
                other => return Err(err(format!("unknown key {other:?}"))),
            }
        }
        if development {
            return Ok(Self {
                blob_endpoint: format!("http://127.0.0.1:10000/{DEVELOPMENT_ACCOUNT}"),
                secret: Secret::SharedKey {
                    account: DEVELOPMENT_ACCOUNT.to_owned(),
                    key: decode_key(DEVELOPMENT_KEY)?,
                },
            });
        }
        let blob_endpoint = match (blob_endpoint, &account) {
            (Some(e), _) => e.trim_end_matches('/').to_owned(),
            (None, Some(a)) => format!(
                "{}://{a}.blob.{}",
                protocol.as_deref().unwrap_or("https"),
                suffix.as_deref().unwrap_or("core.windows.net")
            ),
            (None, None) => return Err(err("missing AccountName (or BlobEndpoint)".into())),
        };
        let secret = match (key, sas, account) {
            (Some(key), _, Some(account)) => Secret::SharedKey {
                account,
                key: decode_key(&key)?,
            },
            (Some(_), _, None) => return Err(err("AccountKey needs AccountName".into())),
            (None, Some(sas), _) => Secret::Sas(sas.trim_start_matches('?').to_owned()),
            (None, None, _) => {
                return Err(err("missing AccountKey (or SharedAccessSignature)".into()))
            }
        };
        Ok(Self {
            blob_endpoint,
            secret,
        })
    }
}

fn decode_key(key: &str) -> Result<Vec<u8>, ConnectionStringError> {
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .map_err(|_| ConnectionStringError("AccountKey is not valid base64".into()))
}

/// A `Key=Value` part with its value hidden (it may be a secret).
fn redact_part(part: &str) -> String {
    match part.split_once('=') {
        Some((k, _)) => format!("{k}=…"),
        None => {
            let start: String = part.chars().take(12).collect();
            if start.len() < part.len() {
                format!("{start}…")
            } else {
                start
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form() {
        let cs = StorageConnectionString::parse(
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn",
        )
        .unwrap();
        assert_eq!(cs.blob_endpoint, "https://acct.blob.core.chinacloudapi.cn");
        let cs = StorageConnectionString::parse("UseDevelopmentStorage=true").unwrap();
        assert_eq!(cs.blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
        let cs = StorageConnectionString::parse(
            "BlobEndpoint=http://127.0.0.1:1234/devstoreaccount1/;SharedAccessSignature=?sv=1&sig=abc",
        )
        .unwrap();
        assert_eq!(cs.blob_endpoint, "http://127.0.0.1:1234/devstoreaccount1");
        assert_eq!(cs.secret, Secret::Sas("sv=1&sig=abc".into()));
        assert!(!format!("{cs:?}").contains("sig=abc"), "{cs:?}");
    }

    #[test]
    fn refusals_name_the_problem_and_not_the_secret() {
        for (s, says) in [
            (
                "AccountName=a;AcountKey=c2VjcmV0",
                "unknown key \"acountkey\"",
            ),
            ("AccountName=a", "missing AccountKey"),
            ("AccountName=a;AccountKey=not base64!", "not valid base64"),
            ("AccountKey=c2VjcmV0", "missing AccountName"),
            ("justsomesecretvalue", "is not Key=Value"),
        ] {
            let e = StorageConnectionString::parse(s).unwrap_err().to_string();
            assert!(e.contains(says), "{s}: {e}");
            assert!(
                !e.contains("c2VjcmV0") && !e.contains("somesecretvalue"),
                "{e}"
            );
        }
    }
}
