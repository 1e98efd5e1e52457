//! [`AzureCliCredential`]: the signed-in Azure CLI user's token (`az account
//! get-access-token`), for development machines.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value as Json;

use crate::error::{Error, ErrorKind};
use crate::identity::cache::{AccessToken, FetchFuture, FetchToken};
use crate::identity::scoped::Scoped;
use crate::identity::token_request::{check_tenant, ENTRA_ERROR};
use crate::identity::CredentialOptions;

/// Authorizes as whoever is signed in to the Azure CLI (`az login`). Needs `az` 2.54 or
/// later (for `expires_on`). Each refresh runs `az account get-access-token`, bounded by the
/// options' request timeout.
pub struct AzureCliCredential {
    cache: Scoped,
}

#[derive(Debug)]
struct Source {
    program: PathBuf,
    tenant: Option<String>,
    timeout: Duration,
}

impl FetchToken for Source {
    fn fetch<'a>(&'a self, scope: &'a str) -> FetchFuture<'a> {
        Box::pin(async move {
            let mut command = tokio::process::Command::new(&self.program);
            command
                .args(["account", "get-access-token", "--output", "json", "--scope"])
                .arg(scope)
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true);
            if let Some(t) = &self.tenant {
                command.args(["--tenant", t]);
            }
            let failed = |why: String| {
                Error::new(
                    ErrorKind::Unauthorized,
                    format!("{ENTRA_ERROR} (Azure CLI): {why}"),
                )
            };
            let output = tokio::time::timeout(self.timeout, command.output())
                .await
                .map_err(|_| {
                    Error::new(
                        ErrorKind::Timeout,
                        format!("{ENTRA_ERROR} (Azure CLI): `az account get-access-token` took more than {:?}", self.timeout),
                    )
                })?
                .map_err(|e| {
                    failed(format!(
                        "cannot run {}: {e} (is the Azure CLI installed and on PATH?)",
                        self.program.display()
                    ))
                })?;
            if !output.status.success() {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let first = stderr
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no message");
                return Err(failed(format!(
                    "`az account get-access-token` failed ({}): {} (run `az login`?)",
                    output.status,
                    first.trim()
                )));
            }
            parse_output(&output.stdout).map_err(failed)
        })
    }
}

/// `az account get-access-token --output json`: `accessToken` and `expires_on` (epoch
/// seconds, az 2.54 and later).
fn parse_output(stdout: &[u8]) -> Result<AccessToken, String> {
    let json: Json =
        serde_json::from_slice(stdout).map_err(|_| "the output of az is not JSON".to_owned())?;
    let value = json
        .get("accessToken")
        .and_then(Json::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| "the output of az has no accessToken".to_owned())?;
    let expires_on = match json.get("expires_on") {
        Some(Json::Number(n)) => n.as_u64(),
        Some(Json::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        "the output of az has no expires_on (upgrade the Azure CLI to 2.54 or later)".to_owned()
    })?;
    Ok(AccessToken {
        value: value.to_owned(),
        expires_at: UNIX_EPOCH + Duration::from_secs(expires_on),
    })
}

impl AzureCliCredential {
    /// The Azure CLI's signed-in account, for the options' cloud scope.
    ///
    /// # Errors
    /// `InvalidArgument` for bad options (an unknown `AZURE_ENVIRONMENT`).
    pub fn new(options: CredentialOptions) -> Result<Self, Error> {
        let az = if cfg!(windows) { "az.cmd" } else { "az" };
        Self::with_program(az, None, options)
    }

    /// Runs `program` instead of `az` from `PATH` (a wrapper, a pinned install), asking
    /// for a token of `tenant_id` if given (else the account's default tenant).
    ///
    /// # Errors
    /// `InvalidArgument` for a malformed tenant id, or bad options.
    pub fn with_program(
        program: impl Into<PathBuf>,
        tenant_id: Option<&str>,
        options: CredentialOptions,
    ) -> Result<Self, Error> {
        if let Some(t) = tenant_id {
            check_tenant(t, "Azure CLI")?;
        }
        let cloud = options.resolved_cloud()?;
        Ok(Self {
            cache: Scoped::new(
                Source {
                    program: program.into(),
                    tenant: tenant_id.map(str::to_owned),
                    timeout: options.request_timeout,
                },
                cloud.scope(),
            ),
        })
    }
}

cached_credential!(AzureCliCredential);

#[cfg(test)]
mod tests {
    use super::*;

    /// The two output fields, as az prints them; old az (no `expires_on`) is named.
    #[test]
    fn az_output() {
        let t = parse_output(br#"{"accessToken":"eyJ.x.y","expiresOn":"2026-12-02 22:00:00.000000","expires_on":1796250000,"tenant":"t","tokenType":"Bearer"}"#).unwrap();
        assert_eq!(
            t.expires_at,
            UNIX_EPOCH + Duration::from_secs(1_796_250_000)
        );
        let e =
            parse_output(br#"{"accessToken":"eyJ.x.y","expiresOn":"2026-12-02 22:00:00.000000"}"#)
                .unwrap_err();
        assert!(e.contains("2.54"), "{e}");
        assert!(parse_output(b"ERROR").is_err());
    }
}
