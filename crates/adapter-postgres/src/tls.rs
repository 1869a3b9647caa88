//! TLS towards PostgreSQL with libpq's `sslmode` semantics, on rustls.
//!
//! | mode | encrypted | certificate checked |
//! |---|---|---|
//! | `Disable` | never | – |
//! | `Prefer` | when the server offers TLS, else plaintext | no |
//! | `Require` | always | no; with root certificates: the chain, as `VerifyCa` (libpq does the same) |
//! | `VerifyCa` | always | the chain up to the root certificates, not the host name |
//! | `VerifyFull` | always | the chain and the host name |

use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::PgSetupError;

/// libpq's `sslmode`, less `allow` (read it as [`PgSslMode::Prefer`]: TLS whenever the
/// server offers it, which is never less safe than libpq's `allow`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PgSslMode {
    /// Plaintext.
    #[default]
    Disable,
    /// TLS when the server offers it, plaintext otherwise; the certificate is not checked.
    /// Encryption is not guaranteed: use `Require` or stronger for that.
    Prefer,
    /// Always TLS; the certificate is checked against the root certificates when some are
    /// configured (as `VerifyCa`), not at all otherwise.
    Require,
    /// Always TLS; the certificate must chain up to the root certificates (required).
    VerifyCa,
    /// Always TLS; the certificate must chain up to the root certificates (required) and
    /// name the host connected to.
    VerifyFull,
}

impl PgSslMode {
    /// The name libpq gives the mode.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for PgSslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// TLS settings of [`PgConfig`](crate::PgConfig). The default is plaintext.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PgTls {
    /// How much TLS is demanded.
    pub mode: PgSslMode,
    /// The root certificates (PEM) the server's certificate must chain up to (libpq's
    /// `sslrootcert`); required by `VerifyCa` and `VerifyFull`, refused with `Disable` and
    /// `Prefer`.
    pub root_certs_pem: Option<Vec<u8>>,
}

impl fmt::Debug for PgTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgTls")
            .field("mode", &self.mode)
            .field(
                "root_certs_pem",
                &self.root_certs_pem.as_ref().map(|pem| format!("{} bytes", pem.len())),
            )
            .finish()
    }
}

/// How connections are opened: plaintext, or with this rustls configuration.
#[derive(Clone)]
pub(crate) enum Transport {
    Plain,
    Tls { mode: tokio_postgres::config::SslMode, config: Arc<ClientConfig>, label: PgSslMode },
}

impl Transport {
    /// Checks `tls` and builds its rustls configuration.
    pub(crate) fn new(tls: &PgTls) -> Result<Self, PgSetupError> {
        use tokio_postgres::config::SslMode;
        let invalid = |reason: String| PgSetupError::InvalidConfig(reason);
        let roots = tls.root_certs_pem.as_deref().map(root_store).transpose()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier: Arc<dyn ServerCertVerifier> = match (tls.mode, roots) {
            (PgSslMode::Disable, None) => return Ok(Self::Plain),
            (mode @ (PgSslMode::Disable | PgSslMode::Prefer), Some(_)) => {
                return Err(invalid(format!(
                    "root certificates (sslrootcert) are given with sslmode={mode}, which does not check certificates; \
                     use sslmode=verify-full (or verify-ca, require)"
                )));
            }
            (mode @ (PgSslMode::VerifyCa | PgSslMode::VerifyFull), None) => {
                return Err(invalid(format!(
                    "sslmode={mode} needs the root certificates to check the server's certificate against (sslrootcert)"
                )));
            }
            (PgSslMode::Prefer | PgSslMode::Require, None) => {
                Arc::new(NoVerification(provider.signature_verification_algorithms))
            }
            (PgSslMode::Require | PgSslMode::VerifyCa, Some(roots)) => {
                Arc::new(ChainOnly(web_pki(roots, &provider)?))
            }
            (PgSslMode::VerifyFull, Some(roots)) => web_pki(roots, &provider)?,
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|err| invalid(format!("TLS towards PostgreSQL cannot be set up: {err}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        let mode = if tls.mode == PgSslMode::Prefer { SslMode::Prefer } else { SslMode::Require };
        Ok(Self::Tls { mode, config: Arc::new(config), label: tls.mode })
    }
}

fn root_store(pem: &[u8]) -> Result<RootCertStore, PgSetupError> {
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|err| {
            PgSetupError::InvalidConfig(format!(
                "the PostgreSQL root certificates (sslrootcert) are not valid PEM: {err}"
            ))
        })?;
        store.add(cert).map_err(|err| {
            PgSetupError::InvalidConfig(format!(
                "a PostgreSQL root certificate (sslrootcert) is not usable: {err}"
            ))
        })?;
    }
    if store.is_empty() {
        return Err(PgSetupError::InvalidConfig(
            "the PostgreSQL root certificates (sslrootcert) hold no PEM certificate".to_owned(),
        ));
    }
    Ok(store)
}

fn web_pki(
    roots: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, PgSetupError> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .build()
        .map_err(|err| {
            PgSetupError::InvalidConfig(format!(
                "the PostgreSQL root certificates are not usable: {err}"
            ))
        })
}

/// libpq's `sslmode=require` (and `prefer`) without root certificates: encrypted, the
/// certificate not checked (the handshake's signatures still are). Hand-written because
/// rustls offers no such verifier on purpose; libpq's semantics need it.
#[derive(Debug)]
struct NoVerification(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// libpq's `sslmode=verify-ca`: the chain (and validity dates) checked by webpki, a name
/// mismatch forgiven. webpki checks the name last, after the chain, so a
/// `NotValidForName` error means everything else passed.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifying_modes_need_root_certificates_and_non_verifying_ones_refuse_them() {
        let no_roots = |mode| Transport::new(&PgTls { mode, root_certs_pem: None });
        assert!(matches!(no_roots(PgSslMode::Disable), Ok(Transport::Plain)));
        assert!(matches!(no_roots(PgSslMode::Prefer), Ok(Transport::Tls { .. })));
        assert!(matches!(no_roots(PgSslMode::Require), Ok(Transport::Tls { .. })));
        for mode in [PgSslMode::VerifyCa, PgSslMode::VerifyFull] {
            let err = no_roots(mode).err().map(|err| err.to_string()).unwrap_or_default();
            assert!(err.contains("sslrootcert") && err.contains(mode.as_str()), "{err}");
        }
        let not_pem = Transport::new(&PgTls {
            mode: PgSslMode::VerifyFull,
            root_certs_pem: Some(b"not a certificate".to_vec()),
        });
        let err = not_pem.err().map(|err| err.to_string()).unwrap_or_default();
        assert!(err.contains("hold no PEM certificate"), "{err}");
    }
}
