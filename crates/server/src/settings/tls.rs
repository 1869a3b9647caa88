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

#[cfg(test)]
mod tests {
    use adapter_postgres::PgSslMode;
    use secrecy::ExposeSecret as _;
    use test_support::tls::TestCa;

    use super::*;
    use crate::settings::backends;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars::new(
            &pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect(),
        )
    }

    /// Every required backend variable, with `extra` on top (replacing same-named ones).
    fn backends_with(extra: &[(&str, &str)]) -> Result<backends::RealBackends, SettingsError> {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("SPRING_DATASOURCE_URL", "jdbc:postgresql://db:5432/rtm"),
            ("SPRING_DATA_MONGODB_URI", "mongodb://mongo:27017/app-runtime"),
            ("SPRING_KAFKA_BOOTSTRAP_SERVERS", "kafka:9092"),
            ("APPLICATION_FILE_STORAGE_S3_SERVER_URL", "http://minio:9000"),
            ("APPLICATION_FILE_STORAGE_S3_ACCESS_KEY", "minio"),
            ("APPLICATION_FILE_STORAGE_S3_SECRET_KEY", "minio-secret"),
            ("SECURITY_OAUTH2_BASE_SERVER_URL", "https://idp.example.com/auth"),
            ("SECURITY_OAUTH2_REALM", "flowx"),
        ];
        pairs.retain(|(name, _)| !extra.iter().any(|(other, _)| other == name));
        pairs.extend_from_slice(extra);
        let vars = vars(&pairs);
        let backends = backends::read(&vars);
        Ok(vars
            .finish(backends)
            .map_err(crate::settings::SettingsErrors::only)?
            .expect("real backends"))
    }

    fn refused(extra: &[(&str, &str)], variable: &str, words: &str) {
        let err = backends_with(extra).expect_err("refused").to_string();
        assert!(err.starts_with(variable), "{extra:?}: {err}");
        assert!(err.contains(words), "{extra:?}: expected `{words}` in {err}");
    }

    #[test]
    fn postgres_sslmode_follows_libpq_and_reads_the_root_certificates() {
        let ca = TestCa::new();
        let root = ca.ca_file().display().to_string();
        let url = |query: &str| format!("jdbc:postgresql://db:5432/rtm?{query}");
        let tls = |query: &str| {
            backends_with(&[("SPRING_DATASOURCE_URL", &url(query))]).unwrap().postgres.tls
        };

        assert_eq!(tls("").mode, PgSslMode::Disable);
        assert_eq!(tls("sslmode=disable").mode, PgSslMode::Disable);
        assert_eq!(tls("sslmode=allow").mode, PgSslMode::Prefer);
        assert_eq!(tls("sslmode=prefer").mode, PgSslMode::Prefer);
        assert_eq!(
            tls("sslmode=require"),
            PgTls { mode: PgSslMode::Require, root_certs_pem: None }
        );
        let full = tls(&format!("sslmode=verify-full&sslrootcert={root}"));
        assert_eq!(full.mode, PgSslMode::VerifyFull);
        assert_eq!(full.root_certs_pem.as_deref(), Some(ca.ca_pem().as_bytes()));
        assert_eq!(tls(&format!("sslmode=verify-ca&sslrootcert={root}")).mode, PgSslMode::VerifyCa);
        assert_eq!(tls(&format!("sslmode=require&sslrootcert={root}")).mode, PgSslMode::Require);
        // pgjdbc's `ssl=true` without sslmode is verify-full.
        assert_eq!(tls(&format!("ssl=true&sslrootcert={root}")).mode, PgSslMode::VerifyFull);
        // The TLS parameters never reach the libpq URL.
        let config = backends_with(&[("SPRING_DATASOURCE_URL", &url("sslmode=require"))]).unwrap();
        assert_eq!(config.postgres.url.expose_secret(), "postgres://db:5432/rtm");
    }

    #[test]
    fn postgres_tls_settings_that_cannot_be_honoured_stop_the_start() {
        let ca = TestCa::new();
        let root = ca.ca_file().display().to_string();
        let url = |query: String| format!("jdbc:postgresql://db:5432/rtm?{query}");
        let not_pem = ca.dir().join("not-pem.txt");
        std::fs::write(&not_pem, "not a certificate").unwrap();
        let cases = [
            (
                format!("sslmode=disable&sslrootcert={root}"),
                "sslrootcert is set but sslmode=disable",
            ),
            (format!("sslrootcert={root}"), "sslrootcert is set but sslmode=disable"),
            (format!("sslmode=prefer&sslrootcert={root}"), "checks no certificate"),
            ("sslmode=verify-full".to_owned(), "needs sslrootcert"),
            ("sslmode=verify-ca".to_owned(), "needs sslrootcert"),
            ("sslmode=verify-full&sslrootcert=/nonexistent/ca.pem".to_owned(), "cannot be read"),
            (
                format!("sslmode=verify-full&sslrootcert={}", not_pem.display()),
                "holds no PEM certificate",
            ),
            ("sslmode=require&sslcert=/c.pem&sslkey=/k.pem".to_owned(), "client certificates"),
            ("sslmode=always".to_owned(), "is not disable, allow"),
            ("ssl=maybe".to_owned(), "not true or false"),
        ];
        for (query, words) in cases {
            refused(&[("SPRING_DATASOURCE_URL", &url(query))], "SPRING_DATASOURCE_URL", words);
        }
    }

    #[test]
    fn redis_ssl_enabled_asks_for_rediss_with_the_ca_file() {
        let ca = TestCa::new();
        let root = ca.ca_file().display().to_string();
        let host = [("SPRING_REDIS_HOST", "cache")];
        let redis = |extra: &[(&str, &str)]| {
            backends_with(&[host.as_slice(), extra].concat())
                .unwrap()
                .redis
                .expect("redis is configured")
        };
        let plain = redis(&[]);
        assert_eq!(plain.url.expose_secret(), "redis://cache:6379");
        assert_eq!(plain.tls_root_certs_pem, None);
        for name in REDIS_SSL_ENABLED {
            let tls = redis(&[(name, "true")]);
            assert_eq!(tls.url.expose_secret(), "rediss://cache:6379", "{name}");
        }
        let with_ca = redis(&[("SPRING_DATA_REDIS_SSL_ENABLED", "true"), (REDIS_CA_FILE, &root)]);
        assert_eq!(with_ca.tls_root_certs_pem.as_deref(), Some(ca.ca_pem().as_bytes()));

        refused(&[host[0], (REDIS_CA_FILE, &root)], REDIS_CA_FILE, "TLS towards Redis is off");
        refused(
            &[host[0], ("SPRING_DATA_REDIS_SSL_ENABLED", "false"), (REDIS_CA_FILE, &root)],
            REDIS_CA_FILE,
            "TLS towards Redis is off",
        );
        refused(
            &[
                host[0],
                ("SPRING_DATA_REDIS_SSL_ENABLED", "true"),
                (REDIS_CA_FILE, "/nonexistent/ca.pem"),
            ],
            REDIS_CA_FILE,
            "cannot be read",
        );
        refused(
            &[host[0], ("SPRING_REDIS_SSL_ENABLED", "sometimes")],
            "SPRING_REDIS_SSL_ENABLED",
            "not true or false",
        );
    }

    #[test]
    fn the_s3_ca_file_needs_https() {
        let ca = TestCa::new();
        let root = ca.ca_file().display().to_string();
        let https = [("APPLICATION_FILE_STORAGE_S3_SERVER_URL", "https://s3.internal:9000")];
        let s3 = backends_with(&[https[0], (S3_CA_FILE, &root)]).unwrap().s3;
        assert_eq!(s3.tls_root_certs_pem.as_deref(), Some(ca.ca_pem().as_bytes()));
        assert_eq!(backends_with(&https).unwrap().s3.tls_root_certs_pem, None);

        refused(&[(S3_CA_FILE, &root)], S3_CA_FILE, "is not an https:// URL");
        refused(&[https[0], (S3_CA_FILE, "/nonexistent/ca.pem")], S3_CA_FILE, "cannot be read");
    }

    #[test]
    fn mongodb_tls_files_need_tls_and_must_be_readable() {
        let ca = TestCa::new();
        let root = ca.ca_file().display().to_string();
        let uri = |query: String| format!("mongodb://mongo:27017/app-runtime?{query}");
        let name = "SPRING_DATA_MONGODB_URI";
        backends_with(&[(name, &uri(format!("tls=true&tlsCAFile={root}")))]).unwrap();
        backends_with(&[(name, &uri(format!("ssl=true&tlsCAFile={root}")))]).unwrap();
        backends_with(&[(name, &format!("mongodb+srv://cluster.example.com/?tlsCAFile={root}"))])
            .unwrap();

        refused(
            &[(name, &uri(format!("tlsCAFile={root}")))],
            name,
            "tlsCAFile is set but TLS is off",
        );
        refused(&[(name, &uri(format!("tls=false&tlsCAFile={root}")))], name, "TLS is off");
        refused(
            &[(name, &uri("tls=true&tlsCAFile=/nonexistent/ca.pem".to_owned()))],
            name,
            "cannot be read",
        );
        refused(
            &[(name, &uri("tls=true&tlsCertificateKeyFile=/nonexistent/client.pem".to_owned()))],
            name,
            "tlsCertificateKeyFile",
        );
    }
}
