//! Reading a client certificate and its RSA key from a PKCS#12 (`.pfx`) file, with
//! `p12-keystore` (feature `pkcs12`): AES (PBES2) files, and the legacy 3DES/RC2 ones
//! older tools write.

use p12_keystore::{KeyStore, Pkcs12ImportPolicy};

use crate::error::Error;
use crate::identity::certificate::{KeyDer, SigningCertificate};

/// The first key of `pfx` and the certificate it belongs to.
pub(crate) fn read(pfx: &[u8], password: &str) -> Result<SigningCertificate, Error> {
    let store = KeyStore::from_pkcs12(pfx, password, Pkcs12ImportPolicy::Strict).map_err(|e| {
        // The library's text never includes the password.
        Error::invalid(format!(
            "client certificate: cannot open the PKCS#12 file (wrong password, or not PKCS#12?): {e}"
        ))
    })?;
    let (_, chain) = store.private_key_chain().ok_or_else(|| {
        Error::invalid(
            "client certificate: the PKCS#12 file has no private key with its certificate",
        )
    })?;
    let certificate = chain.certs().first().ok_or_else(|| {
        Error::invalid("client certificate: the PKCS#12 file's key has no certificate")
    })?;
    SigningCertificate::from_der(
        certificate.as_der(),
        KeyDer::Pkcs8(chain.key().as_der().to_vec()),
    )
}
