//! A throwaway certificate authority for tests' TLS servers on loopback: a CA made at run
//! time and a server certificate it signs for `localhost` and `127.0.0.1`.

/// A server certificate and key, with the CA a client must trust for them.
#[derive(Debug)]
pub struct LoopbackCertificate {
    /// The CA certificate (PEM).
    pub ca_pem: String,
    /// The server certificate, PEM.
    pub cert_pem: String,
    /// The server certificate, DER.
    pub cert_der: Vec<u8>,
    /// The server's PKCS#8 key (PEM).
    pub key_pem: String,
    /// The server's PKCS#8 key, DER.
    pub key_der: Vec<u8>,
}

/// A fresh CA named `ca_name`, and a server certificate it signs for `localhost` and
/// `127.0.0.1`.
///
/// # Panics
/// If key generation or signing fails (test setup).
pub fn loopback_certificate(ca_name: &str) -> LoopbackCertificate {
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, ca_name);
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().expect("server key");
    let cert = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("server params")
        .signed_by(&key, &issuer)
        .expect("server cert");
    LoopbackCertificate {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
        key_pem: key.serialize_pem(),
        key_der: key.serialize_der(),
    }
}
