//! [`ClientCertificateCredential`]: an app registration's certificate; each token request
//! carries a fresh assertion JWT signed with its key.

use std::time::SystemTime;

use crate::error::Error;
use crate::identity::cache::{FetchFuture, FetchToken};
use crate::identity::certificate::SigningCertificate;
use crate::identity::scoped::Scoped;
use crate::identity::token_request::{ClientAuth, Entra};
use crate::identity::CredentialOptions;

/// Authorizes as a service principal with a certificate (RSA, 2048 bits or more). The
/// private key stays in memory and never appears in `Debug`.
///
/// ```no_run
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use eventhubs::identity::{ClientCertificateCredential, CredentialOptions};
/// // The certificate and its unencrypted key, in one PEM file.
/// let pem = std::fs::read("app.pem")?;
/// let credential = ClientCertificateCredential::from_pem(
///     "contoso.onmicrosoft.com",
///     "00000000-0000-0000-0000-000000000000",
///     &pem,
///     CredentialOptions::default(),
/// )?;
/// # let _ = credential; Ok(()) }
/// ```
pub struct ClientCertificateCredential {
    cache: Scoped,
}

#[derive(Debug)]
struct Source {
    entra: Entra,
    certificate: SigningCertificate,
}

impl FetchToken for Source {
    fn fetch<'a>(&'a self, scope: &'a str) -> FetchFuture<'a> {
        Box::pin(async move {
            let assertion = self.certificate.assertion(
                &self.entra.client_id,
                &self.entra.url,
                SystemTime::now(),
            )?;
            self.entra
                .request(ClientAuth::Assertion(&assertion), scope)
                .await
        })
    }
}

impl ClientCertificateCredential {
    /// From PEM text with the certificate and its key (`PRIVATE KEY` or `RSA PRIVATE KEY`,
    /// unencrypted), in any order.
    ///
    /// # Errors
    /// `InvalidArgument` when the certificate or key is missing or unusable, or for a
    /// malformed tenant or client id.
    pub fn from_pem(
        tenant_id: &str,
        client_id: &str,
        pem: &[u8],
        options: CredentialOptions,
    ) -> Result<Self, Error> {
        let certificate = SigningCertificate::from_pem(pem)?;
        Self::with_certificate(tenant_id, client_id, certificate, options)
    }

    /// From a PKCS#12 (`.pfx`) file's bytes and its password (RSA key; feature `pkcs12`).
    ///
    /// # Errors
    /// `InvalidArgument` for a wrong password, or a file without a certificate and RSA key.
    #[cfg(feature = "pkcs12")]
    pub fn from_pkcs12(
        tenant_id: &str,
        client_id: &str,
        pfx: &[u8],
        password: &str,
        options: CredentialOptions,
    ) -> Result<Self, Error> {
        let certificate = crate::identity::pkcs12::read(pfx, password)?;
        Self::with_certificate(tenant_id, client_id, certificate, options)
    }

    fn with_certificate(
        tenant_id: &str,
        client_id: &str,
        certificate: SigningCertificate,
        options: CredentialOptions,
    ) -> Result<Self, Error> {
        let entra = Entra::new(
            tenant_id,
            client_id,
            &options,
            "client certificate credential",
        )?;
        let default_scope = entra.default_scope().to_owned();
        Ok(Self {
            cache: Scoped::new(Source { entra, certificate }, default_scope),
        })
    }
}

cached_credential!(ClientCertificateCredential);
