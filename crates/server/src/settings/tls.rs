//! TLS towards the backends, as the original platform's variables (and a few `RTM_` ones)
//! ask for it: PostgreSQL's `sslmode`/`sslrootcert` in the JDBC URL, Redis's Spring
//! `…_SSL_ENABLED` with `RTM_REDIS_SSL_CA_FILE`, S3's `https://` with `RTM_S3_CA_FILE`,
//! and MongoDB's own URI options (which the driver reads itself: only checked here).
//!
//! A TLS setting that cannot be honoured stops the start, naming its variable: a CA file
//! that cannot be read or holds no certificate, or a TLS option set where TLS is off.

use adapter_postgres::{PgSslMode, PgTls};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

use crate::settings::SettingsError;
use crate::settings::vars::Vars;

/// The TLS parameters of a JDBC PostgreSQL URL, collected while the URL is read.
#[derive(Debug, Default)]
pub(crate) struct PgParams {
    /// pgjdbc's `ssl=true` (verify-full unless `sslmode` says otherwise).
    ssl: Option<String>,
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    /// `sslcert`, `sslkey`, `sslpassword`: client certificates, which rtm does not present.
    client_certificate: Option<String>,
}

impl PgParams {
    /// The JDBC URL parameters this type reads.
    pub(crate) const KEYS: [&str; 6] =
        ["ssl", "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword"];

    /// Records one of [`PgParams::KEYS`].
    pub(crate) fn set(&mut self, key: &str, value: &str) {
        let value = Some(value.to_owned());
        match key {
            "ssl" => self.ssl = value,
            "sslmode" => self.sslmode = value,
            "sslrootcert" => self.sslrootcert = value,
            _ => self.client_certificate = Some(key.to_owned()),
        }
    }
}

/// PostgreSQL's TLS from the URL's parameters, with libpq's meaning of `sslmode`.
///
/// No `sslmode` (and no `ssl=true`) is plaintext. `allow` and `prefer` use TLS when the
/// server offers it, without checking its certificate, and plaintext otherwise: they
/// protect nothing against an active attacker, and are accepted only because JDBC URLs
/// carry them.
pub(crate) fn postgres(variable: &str, params: &PgParams) -> Result<PgTls, SettingsError> {
    if let Some(key) = &params.client_certificate {
        return Err(SettingsError::new(
            variable,
            format!(
                "{key}: client certificates towards PostgreSQL are not supported; authenticate with \
                 SPRING_DATASOURCE_USERNAME and SPRING_DATASOURCE_PASSWORD"
            ),
        ));
    }
    let ssl = match params.ssl.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(SettingsError::new(
                variable,
                format!("ssl=`{other}` is not true or false"),
            ));
        }
    };
    let mode = match params.sslmode.as_deref() {
        None if ssl => PgSslMode::VerifyFull,
        None | Some("disable") => PgSslMode::Disable,
        Some("allow" | "prefer") => PgSslMode::Prefer,
        Some("require") => PgSslMode::Require,
        Some("verify-ca") => PgSslMode::VerifyCa,
        Some("verify-full") => PgSslMode::VerifyFull,
        Some(other) => {
            return Err(SettingsError::new(
                variable,
                format!(
                    "sslmode=`{other}` is not disable, allow, prefer, require, verify-ca or verify-full"
                ),
            ));
        }
    };
    let shown =
        params.sslmode.as_deref().unwrap_or(if ssl { "verify-full (ssl=true)" } else { "disable" });
    let root_certs_pem = match params.sslrootcert.as_deref() {
        None => None,
        Some(_) if matches!(mode, PgSslMode::Disable | PgSslMode::Prefer) => {
            return Err(SettingsError::new(
                variable,
                format!(
                    "sslrootcert is set but sslmode={shown} checks no certificate; use sslmode=verify-full \
                     (or verify-ca, require), or remove sslrootcert"
                ),
            ));
        }
        Some(path) => Some(ca_file(&format!("{variable} (sslrootcert)"), path)?),
    };
    if root_certs_pem.is_none() && matches!(mode, PgSslMode::VerifyCa | PgSslMode::VerifyFull) {
        return Err(SettingsError::new(
            variable,
            format!(
                "sslmode={shown} checks the server's certificate and needs sslrootcert=/path/to/ca.pem \
                 (the CA certificates, PEM)"
            ),
        ));
    }
    Ok(PgTls { mode, root_certs_pem })
}

/// Redis's TLS: whether it is on (Spring's `…_SSL_ENABLED`, or `SPRING_REDIS_SSL` of
/// Spring Boot 2) and the root certificates of `RTM_REDIS_SSL_CA_FILE` (the system's trust
/// store when unset).
#[derive(Debug, Default)]
pub(crate) struct RedisTls {
    pub(crate) enabled: bool,
    pub(crate) root_certs_pem: Option<Vec<u8>>,
}

/// The variables that switch TLS towards Redis on, in the order they are looked up.
pub(crate) const REDIS_SSL_ENABLED: [&str; 3] =
    ["SPRING_DATA_REDIS_SSL_ENABLED", "SPRING_REDIS_SSL_ENABLED", "SPRING_REDIS_SSL"];
/// The CA file of Redis's server certificate.
pub(crate) const REDIS_CA_FILE: &str = "RTM_REDIS_SSL_CA_FILE";

pub(crate) fn redis(vars: &Vars) -> Result<RedisTls, SettingsError> {
    let enabled = match vars.get_any(&REDIS_SSL_ENABLED)? {
        None => false,
        Some((name, raw)) => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err(SettingsError::new(&name, format!("`{raw}` is not true or false"))),
        },
    };
    let root_certs_pem = match vars.get(REDIS_CA_FILE)? {
        None => None,
        Some(_) if !enabled => {
            return Err(SettingsError::new(
                REDIS_CA_FILE,
                "is set but TLS towards Redis is off; set SPRING_DATA_REDIS_SSL_ENABLED=true, or unset it",
            ));
        }
        Some(path) => Some(ca_file(REDIS_CA_FILE, &path)?),
    };
    Ok(RedisTls { enabled, root_certs_pem })
}

/// The CA file of S3's server certificate.
pub(crate) const S3_CA_FILE: &str = "RTM_S3_CA_FILE";

/// The root certificates of `RTM_S3_CA_FILE`, which only an `https://` S3 URL may have.
pub(crate) fn s3(
    vars: &Vars,
    url_variable: &str,
    url: &str,
) -> Result<Option<Vec<u8>>, SettingsError> {
    let Some(path) = vars.get(S3_CA_FILE)? else { return Ok(None) };
    if !url.starts_with("https://") {
        return Err(SettingsError::new(
            S3_CA_FILE,
            format!("is set but {url_variable} is not an https:// URL; use https://, or unset it"),
        ));
    }
    Ok(Some(ca_file(S3_CA_FILE, &path)?))
}

/// Checks MongoDB's TLS options in the URI, which the driver reads itself: a CA or client
/// certificate file with TLS off (`mongodb+srv://` turns it on by default) is refused, and
/// the files must be readable.
pub(crate) fn mongo(variable: &str, uri: &str) -> Result<(), SettingsError> {
    let query = uri.split_once('?').map(|(_, query)| query).unwrap_or_default();
    let mut tls = uri.starts_with("mongodb+srv://");
    let mut files = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key.to_ascii_lowercase().as_str() {
            "tls" | "ssl" => tls = value.eq_ignore_ascii_case("true"),
            "tlscafile" => files.push(("tlsCAFile", value, true)),
            "tlscertificatekeyfile" => files.push(("tlsCertificateKeyFile", value, false)),
            _ => {}
        }
    }
    for (option, value, is_ca) in files {
        if !tls {
            return Err(SettingsError::new(
                variable,
                format!(
                    "{option} is set but TLS is off; add tls=true to the URI, or remove {option}"
                ),
            ));
        }
        let path = percent_decode(value);
        let described = format!("{variable} ({option})");
        if is_ca {
            ca_file(&described, &path)?;
        } else {
            std::fs::metadata(&path).map_err(|err| {
                SettingsError::new(&described, format!("`{path}` cannot be read: {err}"))
            })?;
        }
    }
    Ok(())
}

/// The contents of a PEM file of CA certificates, checked to hold at least one.
fn ca_file(variable: &str, path: &str) -> Result<Vec<u8>, SettingsError> {
    let pem = std::fs::read(path)
        .map_err(|err| SettingsError::new(variable, format!("`{path}` cannot be read: {err}")))?;
    let mut certificates = 0;
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        certificate.map_err(|err| {
            SettingsError::new(variable, format!("`{path}` is not valid PEM: {err}"))
        })?;
        certificates += 1;
    }
    if certificates == 0 {
        return Err(SettingsError::new(
            variable,
            format!("`{path}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
        ));
    }
    Ok(pem)
}

/// `%2F` and the like in a URI option's value (a path in a MongoDB URI is often encoded).
fn percent_decode(value: &str) -> String {
    percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned()
}
