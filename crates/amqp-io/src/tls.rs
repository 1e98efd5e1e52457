//! TLS for both roles with rustls (ring provider): web PKI roots by default, custom roots
//! from PEM, and a server acceptor from a PEM certificate chain and key.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::Error;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Client TLS settings.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
    connector: TlsConnector,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Trusts the Mozilla web PKI roots (what Azure certificates chain to).
    pub fn webpki() -> Result<Self, Error> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Self::with_roots(roots)
    }

    /// Trusts only the certificates in a PEM bundle (e.g. a local emulator's self-signed CA).
    pub fn from_pem_roots(pem: &[u8]) -> Result<Self, Error> {
        let mut roots = RootCertStore::empty();
        add_pem(&mut roots, pem)?;
        Self::with_roots(roots)
    }

    /// Trusts the web PKI roots and the certificates in each PEM bundle of `extra` (a
    /// private CA, a TLS-inspecting proxy's, a local emulator's).
    pub fn webpki_and_pem_roots<'a>(
        extra: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Self, Error> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for pem in extra {
            add_pem(&mut roots, pem)?;
        }
        Self::with_roots(roots)
    }

    /// What the project's clients trust: the web PKI roots, each labelled PEM bundle of
    /// `extra` (roots from the caller's options), and the bundle `SSL_CERT_FILE` names, if
    /// set. A bundle that cannot be read or holds no certificate is an [`Error::Tls`]
    /// naming its label (or the file).
    pub fn webpki_extra_and_env<'a>(
        extra: impl IntoIterator<Item = (&'a [u8], &'a str)>,
    ) -> Result<Self, Error> {
        let from_env = match std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
            Some(path) => Some(std::fs::read(&path).map_err(|e| {
                Error::Tls(format!(
                    "SSL_CERT_FILE={}: cannot read the certificate bundle: {e}",
                    path.to_string_lossy()
                ))
            })?),
            None => None,
        };
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for (pem, source) in extra {
            add_labelled_pem(&mut roots, pem, source)?;
        }
        if let Some(pem) = &from_env {
            add_labelled_pem(&mut roots, pem, "SSL_CERT_FILE")?;
        }
        Self::with_roots(roots)
    }

    fn with_roots(roots: RootCertStore) -> Result<Self, Error> {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let config = Arc::new(config);
        Ok(Self {
            connector: TlsConnector::from(config.clone()),
            config,
        })
    }

    /// The rustls client configuration, for other protocols on the same TLS settings
    /// (HTTPS to Azure Storage and the identity endpoints).
    pub fn client_config(&self) -> Arc<ClientConfig> {
        self.config.clone()
    }

    /// Runs the TLS handshake on `stream`, verifying the server as `server_name`.
    pub async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        server_name: &str,
        stream: S,
    ) -> Result<tokio_rustls::client::TlsStream<S>, Error> {
        let name =
            ServerName::try_from(server_name.to_owned()).map_err(|e| Error::Tls(e.to_string()))?;
        Ok(self.connector.connect(name, stream).await?)
    }
}

/// Adds every certificate of a PEM bundle; a bundle with none is an error (a wrong file).
/// [`add_pem`], its error prefixed with where the bundle came from.
fn add_labelled_pem(roots: &mut RootCertStore, pem: &[u8], source: &str) -> Result<(), Error> {
    add_pem(roots, pem).map_err(|e| match e {
        Error::Tls(why) => Error::Tls(format!("{source}: {why}")),
        other => other,
    })
}

fn add_pem(roots: &mut RootCertStore, pem: &[u8]) -> Result<(), Error> {
    let before = roots.len();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| Error::Tls(format!("bad PEM certificate: {e}")))?;
        roots.add(cert).map_err(|e| Error::Tls(e.to_string()))?;
    }
    if roots.len() == before {
        return Err(Error::Tls("no certificate in the PEM data".into()));
    }
    Ok(())
}

/// Server TLS settings.
#[derive(Clone)]
pub struct TlsServerConfig {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServerConfig").finish_non_exhaustive()
    }
}

impl TlsServerConfig {
    /// From a PEM certificate chain and a PEM private key.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Self, Error> {
        let certs = CertificateDer::pem_slice_iter(cert_chain)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Tls(format!("bad PEM certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| Error::Tls(format!("bad PEM key: {e}")))?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| Error::Tls(e.to_string()))?;
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// Runs the TLS handshake on an accepted stream (TCP, or any other byte stream).
    pub async fn accept<S>(&self, stream: S) -> Result<tokio_rustls::server::TlsStream<S>, Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        Ok(self.acceptor.accept(stream).await?)
    }
}
