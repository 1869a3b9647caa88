//! Kafka's security protocol and TLS material, in Spring Kafka's vocabulary
//! (`SPRING_KAFKA_SECURITY_PROTOCOL`, `SPRING_KAFKA_SSL_*`), mapped onto what librdkafka can
//! honour. What it cannot (a JKS store, a pinned TLS version, a Spring SSL bundle) stops the
//! start with the way out; TLS variables under a protocol without TLS stop it too, since the
//! operator evidently expected TLS.

use std::path::{Path, PathBuf};

use adapter_kafka::{KafkaIdentity, KafkaSecurity, KafkaTls, KafkaTrust, OAuthBearer};
use secrecy::SecretString;

use crate::settings::SettingsError;
use crate::settings::vars::Vars;

/// `security.protocol` as Kafka names it.
const PROTOCOL: &str = "SPRING_KAFKA_SECURITY_PROTOCOL";

const TRUST_STORE_LOCATION: &str = "SPRING_KAFKA_SSL_TRUST_STORE_LOCATION";
const TRUST_STORE_TYPE: &str = "SPRING_KAFKA_SSL_TRUST_STORE_TYPE";
const TRUST_STORE_PASSWORD: &str = "SPRING_KAFKA_SSL_TRUST_STORE_PASSWORD";
const TRUST_STORE_CERTIFICATES: &str = "SPRING_KAFKA_SSL_TRUST_STORE_CERTIFICATES";
const KEY_STORE_LOCATION: &str = "SPRING_KAFKA_SSL_KEY_STORE_LOCATION";
const KEY_STORE_TYPE: &str = "SPRING_KAFKA_SSL_KEY_STORE_TYPE";
const KEY_STORE_PASSWORD: &str = "SPRING_KAFKA_SSL_KEY_STORE_PASSWORD";
const KEY_STORE_CERTIFICATE_CHAIN: &str = "SPRING_KAFKA_SSL_KEY_STORE_CERTIFICATE_CHAIN";
const KEY_STORE_KEY: &str = "SPRING_KAFKA_SSL_KEY_STORE_KEY";
const KEY_PASSWORD: &str = "SPRING_KAFKA_SSL_KEY_PASSWORD";
const TLS_VERSION: &str = "SPRING_KAFKA_SSL_PROTOCOL";
const BUNDLE: &str = "SPRING_KAFKA_SSL_BUNDLE";

/// Every TLS variable, in the order they are reported.
const TLS_VARIABLES: [&str; 12] = [
    TRUST_STORE_LOCATION,
    TRUST_STORE_TYPE,
    TRUST_STORE_PASSWORD,
    TRUST_STORE_CERTIFICATES,
    KEY_STORE_LOCATION,
    KEY_STORE_TYPE,
    KEY_STORE_PASSWORD,
    KEY_STORE_CERTIFICATE_CHAIN,
    KEY_STORE_KEY,
    KEY_PASSWORD,
    TLS_VERSION,
    BUNDLE,
];

/// `SPRING_KAFKA_SECURITY_PROTOCOL` as set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl Protocol {
    /// Whether the protocol names SASL (and so needs the OAuth client).
    pub(crate) fn is_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }

    fn is_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }
}

/// `SPRING_KAFKA_SECURITY_PROTOCOL`, case-insensitive as in Kafka; `None` when unset.
///
/// # Errors
///
/// When it is none of `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT`, `SASL_SSL`.
pub(crate) fn protocol(vars: &Vars) -> Result<Option<Protocol>, SettingsError> {
    let Some(raw) = vars.get(PROTOCOL)? else { return Ok(None) };
    let protocol = match raw.to_ascii_uppercase().as_str() {
        "PLAINTEXT" => Protocol::Plaintext,
        "SSL" => Protocol::Ssl,
        "SASL_PLAINTEXT" => Protocol::SaslPlaintext,
        "SASL_SSL" => Protocol::SaslSsl,
        _ => {
            return Err(SettingsError::new(
                PROTOCOL,
                format!("`{raw}` is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"),
            ));
        }
    };
    Ok(Some(protocol))
}

/// The security of the Kafka clients: `protocol` (default `PLAINTEXT`) with TLS when it
/// says `SSL`, and SASL OAUTHBEARER when `oauth` is configured (the OAuth settings add SASL
/// to the protocol, as the original's `kafka-auth` profile turns `PLAINTEXT` into
/// `SASL_PLAINTEXT`; `SSL` becomes `SASL_SSL`, never losing TLS).
///
/// # Errors
///
/// When a TLS variable is set but the protocol has no TLS, or a TLS setting cannot be
/// honoured (naming the variable).
pub(crate) fn security(
    vars: &Vars,
    protocol: Option<Protocol>,
    oauth: Option<OAuthBearer>,
) -> Result<KafkaSecurity, SettingsError> {
    let set = protocol;
    let protocol = protocol.unwrap_or(Protocol::Plaintext);
    if !protocol.is_tls() {
        for name in TLS_VARIABLES {
            if vars.get(name)?.is_some() {
                return Err(SettingsError::new(
                    name,
                    format!(
                        "is a TLS setting, but {PROTOCOL} is {} (no TLS): set it to SSL or SASL_SSL, \
                         or unset the TLS variables",
                        match set {
                            None => "unset",
                            Some(Protocol::SaslPlaintext) => "SASL_PLAINTEXT",
                            Some(_) => "PLAINTEXT",
                        }
                    ),
                ));
            }
        }
        return Ok(match oauth {
            None => KafkaSecurity::Plaintext,
            Some(oauth) => KafkaSecurity::SaslPlaintext(oauth),
        });
    }
    let tls = tls(vars)?;
    Ok(match oauth {
        None => KafkaSecurity::Ssl(tls),
        Some(oauth) => KafkaSecurity::SaslSsl(oauth, tls),
    })
}

fn tls(vars: &Vars) -> Result<KafkaTls, SettingsError> {
    if vars.get(TLS_VERSION)?.is_some() {
        return Err(SettingsError::new(
            TLS_VERSION,
            "cannot be honoured: librdkafka negotiates the TLS version itself (1.2 or 1.3); unset it",
        ));
    }
    if vars.get(BUNDLE)?.is_some() {
        return Err(SettingsError::new(
            BUNDLE,
            format!(
                "Spring SSL bundles are not read by rtm; give the files with {TRUST_STORE_LOCATION} \
                 and {KEY_STORE_LOCATION}"
            ),
        ));
    }
    Ok(KafkaTls { trust: trust(vars)?, identity: identity(vars)? })
}

/// A store's format, as Spring names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreType {
    Pem,
    Pkcs12,
    Jks,
}

/// The store's type: the type variable when set, else the file's extension.
fn store_type(
    vars: &Vars,
    type_variable: &str,
    location_variable: &str,
    path: &Path,
) -> Result<StoreType, SettingsError> {
    if let Some(raw) = vars.get(type_variable)? {
        return match raw.to_ascii_uppercase().as_str() {
            "PEM" => Ok(StoreType::Pem),
            "PKCS12" => Ok(StoreType::Pkcs12),
            "JKS" => Ok(StoreType::Jks),
            _ => {
                Err(SettingsError::new(type_variable, format!("`{raw}` is not PEM, PKCS12 or JKS")))
            }
        };
    }
    let extension = path.extension().and_then(|ext| ext.to_str()).map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("pem" | "crt" | "cer") => Ok(StoreType::Pem),
        Some("p12" | "pfx") => Ok(StoreType::Pkcs12),
        Some("jks") => Ok(StoreType::Jks),
        _ => Err(SettingsError::new(
            location_variable,
            format!(
                "`{}`: the store's format cannot be told from its name; set {type_variable} to PEM or PKCS12",
                path.display()
            ),
        )),
    }
}

/// A store file: a path or a `file:` URL (Spring resources), which must be a readable file.
fn location(vars: &Vars, name: &str) -> Result<Option<PathBuf>, SettingsError> {
    let Some(raw) = vars.get(name)? else { return Ok(None) };
    if raw.starts_with("classpath:") {
        return Err(SettingsError::new(
            name,
            "rtm has no classpath: give the path of the file (mounted from a Secret)",
        ));
    }
    let path =
        PathBuf::from(raw.strip_prefix("file://").or(raw.strip_prefix("file:")).unwrap_or(&raw));
    match std::fs::File::open(&path) {
        Ok(_) if path.is_file() => Ok(Some(path)),
        Ok(_) => Err(SettingsError::new(name, format!("`{}` is not a file", path.display()))),
        Err(err) => {
            Err(SettingsError::new(name, format!("`{}` cannot be read: {err}", path.display())))
        }
    }
}

fn trust(vars: &Vars) -> Result<KafkaTrust, SettingsError> {
    let inline = vars.get(TRUST_STORE_CERTIFICATES)?;
    let Some(path) = location(vars, TRUST_STORE_LOCATION)? else {
        for name in [TRUST_STORE_TYPE, TRUST_STORE_PASSWORD] {
            if vars.get(name)?.is_some() {
                return Err(SettingsError::new(
                    name,
                    format!("is set without {TRUST_STORE_LOCATION}"),
                ));
            }
        }
        return Ok(inline.map_or(KafkaTrust::System, KafkaTrust::Pem));
    };
    if inline.is_some() {
        return Err(SettingsError::new(
            TRUST_STORE_CERTIFICATES,
            format!("is set together with {TRUST_STORE_LOCATION}; keep one"),
        ));
    }
    match store_type(vars, TRUST_STORE_TYPE, TRUST_STORE_LOCATION, &path)? {
        StoreType::Pem => {
            if vars.get(TRUST_STORE_PASSWORD)?.is_some() {
                return Err(SettingsError::new(
                    TRUST_STORE_PASSWORD,
                    "a PEM trust store has no password; unset it",
                ));
            }
            Ok(KafkaTrust::PemFile(path))
        }
        other => Err(SettingsError::new(
            TRUST_STORE_LOCATION,
            format!(
                "`{}` is a {} trust store, which librdkafka cannot read: convert the CA certificates \
                 to PEM ({}) and set {TRUST_STORE_TYPE}=PEM",
                path.display(),
                if other == StoreType::Jks { "JKS" } else { "PKCS12" },
                if other == StoreType::Jks {
                    "keytool -exportcert -rfc -keystore truststore.jks -alias <ca> -file ca.pem"
                } else {
                    "openssl pkcs12 -in truststore.p12 -nokeys -out ca.pem"
                }
            ),
        )),
    }
}

fn secret(vars: &Vars, name: &str) -> Result<Option<SecretString>, SettingsError> {
    Ok(vars.get(name)?.map(SecretString::from))
}

fn identity(vars: &Vars) -> Result<Option<KafkaIdentity>, SettingsError> {
    let chain = vars.get(KEY_STORE_CERTIFICATE_CHAIN)?;
    let key = secret(vars, KEY_STORE_KEY)?;
    let Some(path) = location(vars, KEY_STORE_LOCATION)? else {
        for name in [KEY_STORE_TYPE, KEY_STORE_PASSWORD] {
            if vars.get(name)?.is_some() {
                return Err(SettingsError::new(
                    name,
                    format!("is set without {KEY_STORE_LOCATION}"),
                ));
            }
        }
        return match (chain, key) {
            (None, None) => {
                if vars.get(KEY_PASSWORD)?.is_some() {
                    return Err(SettingsError::new(KEY_PASSWORD, "is set without a key store"));
                }
                Ok(None)
            }
            (Some(certificate_chain), Some(key)) => Ok(Some(KafkaIdentity::Pem {
                certificate_chain,
                key,
                key_password: secret(vars, KEY_PASSWORD)?,
            })),
            (Some(_), None) => Err(SettingsError::new(
                KEY_STORE_CERTIFICATE_CHAIN,
                format!("is set without {KEY_STORE_KEY}, the certificate's private key"),
            )),
            (None, Some(_)) => Err(SettingsError::new(
                KEY_STORE_KEY,
                format!("is set without {KEY_STORE_CERTIFICATE_CHAIN}, the key's certificate"),
            )),
        };
    };
    for name in [KEY_STORE_CERTIFICATE_CHAIN, KEY_STORE_KEY] {
        if vars.get(name)?.is_some() {
            return Err(SettingsError::new(
                name,
                format!("is set together with {KEY_STORE_LOCATION}; keep one"),
            ));
        }
    }
    match store_type(vars, KEY_STORE_TYPE, KEY_STORE_LOCATION, &path)? {
        StoreType::Pkcs12 => {
            if vars.get(KEY_PASSWORD)?.is_some() {
                return Err(SettingsError::new(
                    KEY_PASSWORD,
                    format!(
                        "is not used with a PKCS12 key store, whose key shares {KEY_STORE_PASSWORD}; unset it"
                    ),
                ));
            }
            Ok(Some(KafkaIdentity::Pkcs12 { path, password: secret(vars, KEY_STORE_PASSWORD)? }))
        }
        StoreType::Pem => {
            if vars.get(KEY_STORE_PASSWORD)?.is_some() {
                return Err(SettingsError::new(
                    KEY_STORE_PASSWORD,
                    format!(
                        "a PEM key store has no password; an encrypted key's password is {KEY_PASSWORD}"
                    ),
                ));
            }
            Ok(Some(KafkaIdentity::PemFile { path, key_password: secret(vars, KEY_PASSWORD)? }))
        }
        StoreType::Jks => Err(SettingsError::new(
            KEY_STORE_LOCATION,
            format!(
                "`{}` is a JKS key store, which librdkafka cannot read: convert it to PKCS12 \
                 (keytool -importkeystore -srckeystore keystore.jks -destkeystore keystore.p12 \
                 -deststoretype PKCS12) and set {KEY_STORE_TYPE}=PKCS12, or to PEM",
                path.display()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars::new(
            &pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect(),
        )
    }

    fn oauth() -> OAuthBearer {
        OAuthBearer {
            token_endpoint: "https://idp/token".to_owned(),
            client_id: "kafka".to_owned(),
            client_secret: SecretString::from("s"),
        }
    }

    /// A file named `name` in a fresh directory (kept alive by the returned guard).
    fn file(name: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::File::create(&path).unwrap().write_all(b"-----BEGIN CERTIFICATE-----\n").unwrap();
        let path = path.to_string_lossy().into_owned();
        (dir, path)
    }

    /// Variables set, the variable the error names, and a word of its message.
    type Refusal<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);

    fn security_of(
        pairs: &[(&str, &str)],
        oauth: Option<OAuthBearer>,
    ) -> Result<KafkaSecurity, SettingsError> {
        let vars = vars(pairs);
        security(&vars, protocol(&vars)?, oauth)
    }

    #[test]
    fn each_protocol_is_used_and_the_oauth_settings_add_sasl() {
        let cases = [
            (None, false, "PLAINTEXT"),
            (Some("PLAINTEXT"), false, "PLAINTEXT"),
            (Some("ssl"), false, "SSL"),
            (None, true, "SASL_PLAINTEXT"),
            (Some("PLAINTEXT"), true, "SASL_PLAINTEXT"),
            (Some("SASL_PLAINTEXT"), true, "SASL_PLAINTEXT"),
            (Some("SSL"), true, "SASL_SSL"),
            (Some("SASL_SSL"), true, "SASL_SSL"),
        ];
        for (set, with_oauth, expected) in cases {
            let pairs: Vec<_> = set.map(|value| (PROTOCOL, value)).into_iter().collect();
            let security = security_of(&pairs, with_oauth.then(oauth)).unwrap();
            assert_eq!(security.protocol(), expected, "{set:?}, oauth {with_oauth}");
        }
        let ssl = security_of(&[(PROTOCOL, "SSL")], None).unwrap();
        assert!(matches!(ssl.tls().unwrap().trust, KafkaTrust::System));
        assert!(ssl.tls().unwrap().identity.is_none());
    }

    #[test]
    fn an_unknown_protocol_stops_the_start_naming_the_variable() {
        for value in ["TLS", "SASL_SCRAM", "ssl "] {
            let err = security_of(&[(PROTOCOL, value)], None);
            match (value, err) {
                // A trailing blank is trimmed like every value.
                ("ssl ", Ok(security)) => assert_eq!(security.protocol(), "SSL"),
                (_, Err(err)) => {
                    let err = err.to_string();
                    assert!(err.starts_with(PROTOCOL), "{value}: {err}");
                    assert!(err.contains("SASL_SSL"), "{value}: {err}");
                }
                (_, Ok(security)) => panic!("{value} accepted as {security:?}"),
            }
        }
    }

    #[test]
    fn a_tls_variable_without_tls_stops_the_start() {
        let (_dir, ca) = file("ca.pem");
        for protocol in [None, Some("PLAINTEXT"), Some("SASL_PLAINTEXT")] {
            for (name, value) in [
                (TRUST_STORE_LOCATION, ca.as_str()),
                (KEY_STORE_PASSWORD, "changeit"),
                (TLS_VERSION, "TLSv1.3"),
            ] {
                let mut pairs = vec![(name, value)];
                pairs.extend(protocol.map(|protocol| (PROTOCOL, protocol)));
                let err = security_of(&pairs, Some(oauth())).unwrap_err().to_string();
                assert!(err.starts_with(name), "{protocol:?} {name}: {err}");
                assert!(err.contains("SSL or SASL_SSL"), "{err}");
            }
        }
    }

    #[test]
    fn a_pem_trust_store_is_the_ca_location() {
        let (_dir, ca) = file("brokers-ca.crt");
        for (pairs, expected_type) in [
            (vec![(TRUST_STORE_LOCATION, ca.clone())], "by extension"),
            (
                vec![
                    (TRUST_STORE_LOCATION, format!("file:{ca}")),
                    (TRUST_STORE_TYPE, "PEM".to_owned()),
                ],
                "by type",
            ),
        ] {
            let mut pairs: Vec<(&str, &str)> =
                pairs.iter().map(|(name, value)| (*name, value.as_str())).collect();
            pairs.push((PROTOCOL, "SASL_SSL"));
            let security = security_of(&pairs, Some(oauth())).unwrap();
            match &security.tls().unwrap().trust {
                KafkaTrust::PemFile(path) => assert_eq!(path, Path::new(&ca), "{expected_type}"),
                other => panic!("{expected_type}: {other:?}"),
            }
        }
        let inline = security_of(
            &[(PROTOCOL, "SSL"), (TRUST_STORE_CERTIFICATES, "-----BEGIN CERTIFICATE-----")],
            None,
        )
        .unwrap();
        assert!(matches!(inline.tls().unwrap().trust, KafkaTrust::Pem(_)));
    }

    #[test]
    fn stores_librdkafka_cannot_read_are_refused_with_the_way_out() {
        let (_jks_dir, jks) = file("truststore.jks");
        let (_p12_dir, p12) = file("truststore.p12");
        let (_odd_dir, odd) = file("truststore.bin");
        let cases: [Refusal<'_>; 6] = [
            (&[(TRUST_STORE_LOCATION, &jks)], TRUST_STORE_LOCATION, "convert"),
            (&[(TRUST_STORE_LOCATION, &p12)], TRUST_STORE_LOCATION, "PEM"),
            (&[(TRUST_STORE_LOCATION, &odd)], TRUST_STORE_LOCATION, TRUST_STORE_TYPE),
            (&[(KEY_STORE_LOCATION, &jks)], KEY_STORE_LOCATION, "PKCS12"),
            (&[(KEY_STORE_LOCATION, &p12), (KEY_STORE_TYPE, "JKS")], KEY_STORE_LOCATION, "convert"),
            (
                &[(TRUST_STORE_LOCATION, "/nonexistent/ca.pem")],
                TRUST_STORE_LOCATION,
                "cannot be read",
            ),
        ];
        for (pairs, variable, hint) in cases {
            let mut pairs = pairs.to_vec();
            pairs.push((PROTOCOL, "SSL"));
            let err = security_of(&pairs, None).unwrap_err().to_string();
            assert!(err.starts_with(variable), "{pairs:?}: {err}");
            assert!(err.contains(hint), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn settings_that_cannot_be_honoured_or_contradict_each_other_are_refused() {
        let (_dir, ca) = file("ca.pem");
        let cases: [(&[(&str, &str)], &str); 8] = [
            (&[(TLS_VERSION, "TLSv1.2")], TLS_VERSION),
            (&[(BUNDLE, "kafka")], BUNDLE),
            (&[(TRUST_STORE_LOCATION, &ca), (TRUST_STORE_PASSWORD, "x")], TRUST_STORE_PASSWORD),
            (
                &[(TRUST_STORE_LOCATION, &ca), (TRUST_STORE_CERTIFICATES, "pem")],
                TRUST_STORE_CERTIFICATES,
            ),
            (&[(TRUST_STORE_TYPE, "PEM")], TRUST_STORE_TYPE),
            (&[(KEY_STORE_LOCATION, &ca), (KEY_STORE_PASSWORD, "x")], KEY_STORE_PASSWORD),
            (&[(KEY_STORE_CERTIFICATE_CHAIN, "pem")], KEY_STORE_CERTIFICATE_CHAIN),
            (&[(TRUST_STORE_LOCATION, "classpath:ca.pem")], TRUST_STORE_LOCATION),
        ];
        for (pairs, variable) in cases {
            let mut pairs = pairs.to_vec();
            pairs.push((PROTOCOL, "SSL"));
            let err = security_of(&pairs, None).unwrap_err().to_string();
            assert!(err.starts_with(variable), "{pairs:?}: {err}");
        }
    }

    #[test]
    fn a_client_certificate_is_a_pkcs12_store_or_pem() {
        let (_p12_dir, p12) = file("client.p12");
        let security = security_of(
            &[(PROTOCOL, "SSL"), (KEY_STORE_LOCATION, &p12), (KEY_STORE_PASSWORD, "changeit")],
            None,
        )
        .unwrap();
        assert!(matches!(
            security.tls().unwrap().identity,
            Some(KafkaIdentity::Pkcs12 { password: Some(_), .. })
        ));
        let (_pem_dir, pem) = file("client.pem");
        let security = security_of(
            &[(PROTOCOL, "SSL"), (KEY_STORE_LOCATION, &pem), (KEY_PASSWORD, "k")],
            None,
        )
        .unwrap();
        assert!(matches!(
            security.tls().unwrap().identity,
            Some(KafkaIdentity::PemFile { key_password: Some(_), .. })
        ));
        let security = security_of(
            &[
                (PROTOCOL, "SSL"),
                (KEY_STORE_CERTIFICATE_CHAIN, "-----BEGIN CERTIFICATE-----"),
                (KEY_STORE_KEY, "-----BEGIN PRIVATE KEY-----"),
            ],
            None,
        )
        .unwrap();
        assert!(matches!(security.tls().unwrap().identity, Some(KafkaIdentity::Pem { .. })));
    }
}
