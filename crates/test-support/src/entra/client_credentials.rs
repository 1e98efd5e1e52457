//! Client-credentials checks as Entra makes them: the form fields, the secret, and the
//! certificate assertion's signature, thumbprint, audience and validity window.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use serde_json::Value as Json;

use super::{State, RESOURCES};

/// Why a token request was refused: an AADSTS error.
pub(super) struct Refusal {
    pub(super) status: u16,
    pub(super) error: &'static str,
    pub(super) code: u32,
    pub(super) description: String,
}

/// Checks a client-credentials request as Entra does; returns the grant kind and the
/// refusal, if any.
pub(super) fn check_token_request(
    state: &State,
    method: &hyper::Method,
    path: &str,
    body: &[u8],
    now: u64,
) -> (&'static str, Result<(), Refusal>) {
    let c = &state.config;
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| form.get(name).map(String::as_str);
    let grant = if form.contains_key("client_secret") {
        "secret"
    } else if field("client_assertion") == Some(c.federated_token.as_str()) {
        "federated"
    } else {
        "certificate"
    };
    let refuse = |status, error, code, description: &str| {
        Err(Refusal {
            status,
            error,
            code,
            description: description.to_owned(),
        })
    };
    if *method != hyper::Method::POST {
        return (
            grant,
            refuse(
                405,
                "invalid_request",
                900561,
                "the endpoint only accepts POST requests",
            ),
        );
    }
    if path != format!("/{}/oauth2/v2.0/token", c.tenant) {
        return (
            grant,
            refuse(400, "invalid_request", 90002, "Tenant not found."),
        );
    }
    if field("grant_type") != Some("client_credentials") {
        return (
            grant,
            refuse(
                400,
                "unsupported_grant_type",
                70003,
                "grant_type must be client_credentials",
            ),
        );
    }
    if field("client_id") != Some(c.client_id.as_str()) {
        return (
            grant,
            refuse(
                400,
                "unauthorized_client",
                700016,
                "Application not found in the directory.",
            ),
        );
    }
    let scope = field("scope").unwrap_or_default();
    if !RESOURCES.iter().any(|r| scope == format!("{r}/.default")) {
        return (
            grant,
            refuse(
                400,
                "invalid_scope",
                70011,
                "The provided value for the input parameter 'scope' is not valid.",
            ),
        );
    }
    let outcome = match grant {
        "secret" if field("client_secret") == Some(c.client_secret.as_str()) => Ok(()),
        "secret" => refuse(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided.",
        ),
        "federated" => Ok(()),
        _ => {
            if field("client_assertion_type")
                != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            {
                refuse(
                    400,
                    "invalid_request",
                    900144,
                    "client_assertion_type is missing or wrong",
                )
            } else {
                match check_assertion(state, field("client_assertion").unwrap_or_default(), now) {
                    Ok(()) => Ok(()),
                    Err(why) => refuse(401, "invalid_client", 700027, &why),
                }
            }
        }
    };
    (grant, outcome)
}

/// Verifies a certificate assertion: RS256 by the fixture client key, `x5t` its
/// certificate's thumbprint, `aud` the token URL, `iss` = `sub` = the client id, a `jti`,
/// and a current validity window.
fn check_assertion(state: &State, assertion: &str, now: u64) -> Result<(), String> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [header, claims, signature] = parts[..] else {
        return Err("the assertion is not a JWT".into());
    };
    let decode = |p: &str| -> Result<Json, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(p)
            .map_err(|e| format!("not base64url: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))
    };
    let (header, claims) = (decode(header)?, decode(claims)?);
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|e| format!("signature not base64url: {e}"))?;
    if header["alg"] != "RS256" || header["typ"] != "JWT" {
        return Err(format!("unexpected header {header}"));
    }
    if header["x5t"] != state.client_thumbprint.as_str() {
        return Err("x5t is not the registered certificate's thumbprint".into());
    }
    let signed = &assertion[..assertion.rfind('.').unwrap_or(0)];
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &state.client_public)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| {
            "the assertion's signature does not verify with the registered certificate".to_owned()
        })?;
    let id = state.config.client_id.as_str();
    if claims["aud"] != state.token_url.as_str() {
        return Err(format!("aud {} is not {}", claims["aud"], state.token_url));
    }
    if claims["iss"] != id || claims["sub"] != id {
        return Err("iss and sub must be the client id".into());
    }
    if !claims["jti"].is_string() {
        return Err("no jti".into());
    }
    let (nbf, exp) = (
        claims["nbf"].as_u64().unwrap_or(u64::MAX),
        claims["exp"].as_u64().unwrap_or(0),
    );
    if nbf > now + 60 || exp <= now || exp > now + 3600 {
        return Err(format!("bad validity window nbf={nbf} exp={exp} now={now}"));
    }
    Ok(())
}
