//! Claims-based authorization: validating put-tokens (SAS or JWT) and remembering, per
//! connection, which entity paths are authorized until when.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use eventhubs_protocol::constants as k;
use eventhubs_protocol::sas::SasToken;

use crate::clock;
use crate::config::{Config, JwtPolicy};

/// The entity path of a URI: scheme and host removed, lower-cased, no surrounding `/`.
/// `sb://host:5672/eh1/ConsumerGroups/$Default` → `eh1/consumergroups/$default`.
pub(crate) fn resource_path(uri: &str) -> String {
    let path = match uri.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, p)| p),
        None => uri,
    };
    path.trim_matches('/').to_ascii_lowercase()
}

/// A put-token that was refused: HTTP-like status and description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// 401 for bad or expired credentials, 400 for malformed requests.
    pub status: i32,
    /// Why (never contains the token).
    pub description: String,
}

/// Validates a put-token. On success returns the entity path it authorizes and its expiry
/// (Unix seconds).
pub(crate) fn validate(
    config: &Config,
    token_type: &str,
    token: &str,
    audience: &str,
    expiration_ms: Option<i64>,
) -> Result<(String, u64), Refusal> {
    let unauthorized = |d: String| Refusal {
        status: 401,
        description: d,
    };
    match token_type {
        k::SAS_TOKEN_TYPE => {
            let sas = SasToken::parse(token)
                .map_err(|e| unauthorized(format!("InvalidSignature: {e}")))?;
            let Some((_, key)) = config.keys.iter().find(|(n, _)| *n == sas.key_name()) else {
                return Err(unauthorized(format!(
                    "InvalidSignature: unknown key name {:?}",
                    sas.key_name()
                )));
            };
            if !sas.verify(key) {
                return Err(unauthorized(
                    "InvalidSignature: the token has an invalid signature.".into(),
                ));
            }
            if sas.expiry() <= clock::now_secs() {
                return Err(unauthorized("ExpiredToken: the token is expired.".into()));
            }
            // The token's own resource scopes it (.NET puts one namespace token for every
            // audience), not the put-token name.
            Ok((resource_path(sas.resource()), sas.expiry()))
        }
        k::JWT_TOKEN_TYPE => {
            let requested = expiration_ms.map(|ms| (ms / 1000).max(0) as u64);
            match &config.jwt {
                JwtPolicy::Reject => Err(unauthorized(
                    "this emulator is configured to refuse JWT tokens".into(),
                )),
                JwtPolicy::AcceptAll => Ok((
                    resource_path(audience),
                    requested.unwrap_or_else(|| clock::now_secs() + 3600),
                )),
                JwtPolicy::Validate(keys) => {
                    let exp = keys
                        .validate(token, clock::now_secs())
                        .map_err(unauthorized)?;
                    Ok((
                        resource_path(audience),
                        requested.map_or(exp, |r| r.min(exp)),
                    ))
                }
            }
        }
        other => Err(Refusal {
            status: 400,
            description: format!("unsupported token type {other:?}"),
        }),
    }
}

/// The grants of one connection. A token's expiry is a wall-clock time, but once granted
/// its remaining life is kept on tokio's clock, so links lapse on a paused test clock just
/// as they do in real time (and a jump of the system clock does not end them early).
#[derive(Debug, Default)]
pub(crate) struct Grants {
    entries: Mutex<Vec<(String, Instant)>>,
}

impl Grants {
    /// Records that `path` (and everything below it) is authorized until `expiry` (Unix
    /// seconds).
    pub(crate) fn grant(&self, path: String, expiry: u64) {
        let left = Duration::from_secs(expiry.saturating_sub(clock::now_secs()));
        let until = Instant::now() + left;
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.retain(|(p, _)| *p != path);
        e.push((path, until));
    }

    /// Until when `entity` (an entity path as from [`resource_path`]) is authorized, if it
    /// is now.
    pub(crate) fn authorized_until(&self, entity: &str) -> Option<Instant> {
        let now = Instant::now();
        let e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.iter()
            .filter(|(p, until)| {
                *until > now
                    && (p.is_empty()
                        || entity == p
                        || entity
                            .strip_prefix(p.as_str())
                            .is_some_and(|r| r.starts_with('/')))
            })
            .map(|(_, until)| *until)
            .max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hub-scoped grant covers its partitions and consumer groups, not other hubs.
    #[test]
    fn grant_scopes() {
        let g = Grants::default();
        g.grant(
            resource_path("sb://localhost:5672/eh1"),
            clock::now_secs() + 60,
        );
        assert!(g
            .authorized_until("eh1/consumergroups/$default/partitions/0")
            .is_some());
        assert!(g.authorized_until("eh1").is_some());
        assert!(g.authorized_until("eh10").is_none());
        assert!(g.authorized_until("eh2/partitions/0").is_none());
        g.grant(String::new(), clock::now_secs() + 60);
        assert!(g.authorized_until("eh2/partitions/0").is_some());
    }

    /// Valid, wrong-key and expired SAS tokens.
    #[test]
    fn sas_validation() {
        let c = Config::default();
        let later = clock::now_secs() + 600;
        let good = eventhubs_protocol::sas::sign(
            "sb://localhost/eh1",
            "RootManageSharedAccessKey",
            "SAS_KEY_VALUE",
            later,
        );
        assert_eq!(
            validate(&c, k::SAS_TOKEN_TYPE, &good, "x", None),
            Ok(("eh1".into(), later))
        );
        let bad = eventhubs_protocol::sas::sign(
            "sb://localhost/eh1",
            "RootManageSharedAccessKey",
            "wrong",
            later,
        );
        assert_eq!(
            validate(&c, k::SAS_TOKEN_TYPE, &bad, "x", None)
                .unwrap_err()
                .status,
            401
        );
        let old = eventhubs_protocol::sas::sign(
            "sb://localhost/eh1",
            "RootManageSharedAccessKey",
            "SAS_KEY_VALUE",
            1000,
        );
        assert!(validate(&c, k::SAS_TOKEN_TYPE, &old, "x", None)
            .unwrap_err()
            .description
            .contains("Expired"));
    }
}

/// The authorization of one link: resolves [`LinkAuth::lapsed`] when no grant on the
/// connection covers the link's entity any more.
#[derive(Debug)]
pub(crate) struct LinkAuth {
    grants: std::sync::Arc<Grants>,
    path: String,
    until: Instant,
}

impl LinkAuth {
    /// The authorization of `path` now, if any.
    pub(crate) fn check(grants: &std::sync::Arc<Grants>, path: String) -> Option<Self> {
        let until = grants.authorized_until(&path)?;
        Some(Self {
            grants: grants.clone(),
            path,
            until,
        })
    }

    /// Waits until the link is no longer authorized (a refreshed token extends it).
    pub(crate) async fn lapsed(&mut self) {
        loop {
            tokio::time::sleep_until(self.until).await;
            match self.grants.authorized_until(&self.path) {
                Some(u) => self.until = u,
                None => return,
            }
        }
    }
}
