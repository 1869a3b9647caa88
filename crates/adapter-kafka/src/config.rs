//! `KafkaConfig`: how to reach the brokers, as whom, and under which topic names.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use rdkafka::ClientConfig;
use secrecy::{ExposeSecret as _, SecretString};

use crate::error::KafkaError;
use crate::topics::TopicNames;

/// Everything the producer and the listener need. Built by the server's settings from the
/// original's variables (named on each field); [`KafkaConfig::new`] fills the defaults.
#[derive(Clone)]
pub struct KafkaConfig {
    /// `SPRING_KAFKA_BOOTSTRAP_SERVERS`: comma-separated `host:port` list.
    pub bootstrap_servers: String,
    /// `client.id` the brokers see in their logs and quotas; default `rtm`.
    pub client_id: String,
    /// `SPRING_KAFKA_SECURITY_PROTOCOL` and what it needs: TLS, SASL OAUTHBEARER, both or
    /// neither.
    pub security: KafkaSecurity,
    /// Full topic names.
    pub topics: TopicNames,
    /// How long a message may wait for its delivery (connecting, retries included) before
    /// `publish` gives up with `Unavailable` (`message.timeout.ms`); default 30 s.
    pub message_timeout: Duration,
    /// Sent as the `Fx-Organization-Id` header when set (5.9 consumers require it).
    pub organization_id: Option<String>,
    /// Group id prefix of the [`PolicyUpdateListener`](crate::PolicyUpdateListener); each
    /// process appends a random UUID, so that every replica gets every event. Default
    /// `rtm-active-policy`.
    pub listener_group_prefix: String,
    /// `KAFKA_CONSUMER_GROUPID_PROCESS_START`: the group every replica's
    /// [`StartByNameConsumer`](crate::StartByNameConsumer) joins, so that the replicas share
    /// the start-by-name requests. Default `processStartGroup`.
    pub process_start_group_id: String,
}

/// How rtm talks to the brokers: Kafka's four security protocols (`security.protocol`),
/// each with what it needs. TLS always verifies the broker's certificate and host name.
#[derive(Clone)]
pub enum KafkaSecurity {
    /// `PLAINTEXT`: no TLS, no authentication (the original's default).
    Plaintext,
    /// `SSL`: TLS, and the client certificate when one is configured.
    Ssl(KafkaTls),
    /// `SASL_PLAINTEXT` + `OAUTHBEARER`, like the original's `kafka-auth` profile.
    SaslPlaintext(OAuthBearer),
    /// `SASL_SSL` + `OAUTHBEARER`: the token over TLS.
    SaslSsl(OAuthBearer, KafkaTls),
}

/// SASL OAUTHBEARER with a token from a client-credentials grant, refreshed in the
/// background.
#[derive(Clone)]
pub struct OAuthBearer {
    /// `KAFKA_OAUTH_TOKEN_ENDPOINT_URI`.
    pub token_endpoint: String,
    /// `KAFKA_OAUTH_CLIENT_ID`.
    pub client_id: String,
    /// `KAFKA_OAUTH_CLIENT_SECRET`.
    pub client_secret: SecretString,
}

/// TLS towards the brokers: which certificate authorities to trust and, optionally, the
/// client's own certificate. The broker's host name is always verified
/// (`ssl.endpoint.identification.algorithm=https`).
#[derive(Clone, Debug, Default)]
pub struct KafkaTls {
    /// Which CAs sign the brokers' certificates.
    pub trust: KafkaTrust,
    /// The client certificate (mutual TLS), when the brokers ask for one.
    pub identity: Option<KafkaIdentity>,
}

/// The certificate authorities trusted for the brokers' certificates.
#[derive(Clone, Debug, Default)]
pub enum KafkaTrust {
    /// The system's CA bundle (librdkafka probes the usual locations).
    #[default]
    System,
    /// A PEM file of CA certificates (`ssl.ca.location`).
    PemFile(PathBuf),
    /// PEM CA certificates given inline (`ssl.ca.pem`).
    Pem(String),
}

/// The client certificate and its private key.
#[derive(Clone)]
pub enum KafkaIdentity {
    /// A PKCS#12 key store (`ssl.keystore.location` and `ssl.keystore.password`).
    Pkcs12 {
        /// The `.p12` file.
        path: PathBuf,
        /// Its password.
        password: Option<SecretString>,
    },
    /// A PEM file holding the certificate chain and the private key, as Kafka's PEM key
    /// stores do (`ssl.certificate.location` and `ssl.key.location` on the same file).
    PemFile {
        /// The file.
        path: PathBuf,
        /// The password of an encrypted private key (`ssl.key.password`).
        key_password: Option<SecretString>,
    },
    /// The certificate chain and the private key given inline as PEM
    /// (`ssl.certificate.pem` and `ssl.key.pem`).
    Pem {
        /// The certificate chain.
        certificate_chain: String,
        /// The private key.
        key: SecretString,
        /// The password of an encrypted private key (`ssl.key.password`).
        key_password: Option<SecretString>,
    },
}

impl KafkaSecurity {
    /// Kafka's name of the protocol (`security.protocol`).
    pub fn protocol(&self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl(_) => "SSL",
            Self::SaslPlaintext(_) => "SASL_PLAINTEXT",
            Self::SaslSsl(..) => "SASL_SSL",
        }
    }

    /// The OAUTHBEARER client, with a `SASL_` protocol.
    pub fn oauthbearer(&self) -> Option<&OAuthBearer> {
        match self {
            Self::SaslPlaintext(oauth) | Self::SaslSsl(oauth, _) => Some(oauth),
            Self::Plaintext | Self::Ssl(_) => None,
        }
    }

    /// The TLS settings, with an `SSL` protocol.
    pub fn tls(&self) -> Option<&KafkaTls> {
        match self {
            Self::Ssl(tls) | Self::SaslSsl(_, tls) => Some(tls),
            Self::Plaintext | Self::SaslPlaintext(_) => None,
        }
    }
}

impl KafkaTls {
    /// Adds the `ssl.*` settings of `self` to `config`.
    fn apply(&self, config: &mut ClientConfig) {
        // Verify that the certificate names the broker we dialled (librdkafka's default since
        // 2.0, set anyway so that no default can ever turn it off).
        config
            .set("ssl.endpoint.identification.algorithm", "https")
            .set("enable.ssl.certificate.verification", "true");
        match &self.trust {
            // The bundled OpenSSL's compiled-in CA directory is not the system's: `probe`
            // makes librdkafka look in the usual places (/etc/ssl/certs, …).
            KafkaTrust::System => config.set("ssl.ca.location", "probe"),
            KafkaTrust::PemFile(path) => config.set("ssl.ca.location", path.to_string_lossy()),
            KafkaTrust::Pem(pem) => config.set("ssl.ca.pem", pem),
        };
        match &self.identity {
            None => {}
            Some(KafkaIdentity::Pkcs12 { path, password }) => {
                config.set("ssl.keystore.location", path.to_string_lossy());
                if let Some(password) = password {
                    config.set("ssl.keystore.password", password.expose_secret());
                }
            }
            Some(KafkaIdentity::PemFile { path, key_password }) => {
                config
                    .set("ssl.certificate.location", path.to_string_lossy())
                    .set("ssl.key.location", path.to_string_lossy());
                if let Some(password) = key_password {
                    config.set("ssl.key.password", password.expose_secret());
                }
            }
            Some(KafkaIdentity::Pem { certificate_chain, key, key_password }) => {
                config
                    .set("ssl.certificate.pem", certificate_chain)
                    .set("ssl.key.pem", key.expose_secret());
                if let Some(password) = key_password {
                    config.set("ssl.key.password", password.expose_secret());
                }
            }
        }
    }
}

impl KafkaConfig {
    /// Default of [`Self::message_timeout`].
    pub const DEFAULT_MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default of [`Self::process_start_group_id`], the original's.
    pub const DEFAULT_PROCESS_START_GROUP_ID: &'static str = "processStartGroup";

    /// A plaintext configuration for `bootstrap_servers` with every default.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            client_id: "rtm".to_owned(),
            security: KafkaSecurity::Plaintext,
            topics: TopicNames::default(),
            message_timeout: Self::DEFAULT_MESSAGE_TIMEOUT,
            organization_id: None,
            listener_group_prefix: "rtm-active-policy".to_owned(),
            process_start_group_id: Self::DEFAULT_PROCESS_START_GROUP_ID.to_owned(),
        }
    }

    /// `message_timeout` in whole milliseconds, as librdkafka wants it.
    pub(crate) fn message_timeout_ms(&self) -> Result<u32, KafkaError> {
        // librdkafka takes at most i32::MAX; zero would mean "no timeout", which we never want.
        match u32::try_from(self.message_timeout.as_millis()) {
            Ok(ms) if (1..=i32::MAX as u32).contains(&ms) => Ok(ms),
            _ => Err(KafkaError::Config(format!(
                "the message timeout must be between 1 ms and {} ms, got {:?}",
                i32::MAX,
                self.message_timeout
            ))),
        }
    }

    /// Settings shared by the producer and the consumer.
    pub(crate) fn client_config(&self) -> Result<ClientConfig, KafkaError> {
        if self.bootstrap_servers.trim().is_empty() {
            return Err(KafkaError::Config("the bootstrap servers are empty".to_owned()));
        }
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", self.bootstrap_servers.trim())
            .set("client.id", &self.client_id);
        config.set("security.protocol", self.security.protocol().to_ascii_lowercase());
        if self.security.oauthbearer().is_some() {
            config.set("sasl.mechanisms", "OAUTHBEARER");
        }
        if let Some(tls) = self.security.tls() {
            tls.apply(&mut config);
        }
        Ok(config)
    }
}

impl fmt::Debug for KafkaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("client_id", &self.client_id)
            .field("security", &self.security)
            .field("topics", &self.topics)
            .field("message_timeout", &self.message_timeout)
            .field("organization_id", &self.organization_id)
            .field("listener_group_prefix", &self.listener_group_prefix)
            .field("process_start_group_id", &self.process_start_group_id)
            .finish()
    }
}

impl fmt::Debug for KafkaSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Plaintext => f.write_str("Plaintext"),
            Self::Ssl(tls) => f.debug_tuple("Ssl").field(tls).finish(),
            Self::SaslPlaintext(oauth) => f.debug_tuple("SaslPlaintext").field(oauth).finish(),
            Self::SaslSsl(oauth, tls) => f.debug_tuple("SaslSsl").field(oauth).field(tls).finish(),
        }
    }
}

impl fmt::Debug for OAuthBearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthBearer")
            .field("token_endpoint", &self.token_endpoint)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

impl fmt::Debug for KafkaIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |secret: &Option<SecretString>| secret.as_ref().map(|_| "[redacted]");
        match self {
            Self::Pkcs12 { path, password } => f
                .debug_struct("Pkcs12")
                .field("path", path)
                .field("password", &redacted(password))
                .finish(),
            Self::PemFile { path, key_password } => f
                .debug_struct("PemFile")
                .field("path", path)
                .field("key_password", &redacted(key_password))
                .finish(),
            Self::Pem { certificate_chain: _, key: _, key_password } => f
                .debug_struct("Pem")
                .field("key", &"[redacted]")
                .field("key_password", &redacted(key_password))
                .finish_non_exhaustive(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_client_secret() {
        let mut config = KafkaConfig::new("broker:9092");
        config.security = KafkaSecurity::SaslSsl(
            OAuthBearer {
                token_endpoint: "http://idp/realms/kafka-authz/protocol/openid-connect/token"
                    .to_owned(),
                client_id: "flowx-service-client".to_owned(),
                client_secret: SecretString::from("hunter2-very-secret"),
            },
            KafkaTls {
                trust: KafkaTrust::System,
                identity: Some(KafkaIdentity::Pem {
                    certificate_chain: "-----BEGIN CERTIFICATE-----".to_owned(),
                    key: SecretString::from("private-key-material"),
                    key_password: Some(SecretString::from("key-pass-word")),
                }),
            },
        );
        let shown = format!("{config:?}");
        for secret in ["hunter2", "private-key-material", "key-pass-word"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("[redacted]"), "{shown}");
        assert!(shown.contains("flowx-service-client"), "{shown}");
    }

    #[test]
    fn defaults_are_plaintext_and_thirty_seconds() {
        let config = KafkaConfig::new("broker:9092");
        assert!(matches!(config.security, KafkaSecurity::Plaintext));
        assert_eq!(config.message_timeout_ms().unwrap(), 30_000);
        assert_eq!(config.topics, TopicNames::default());
        let client = config.client_config().unwrap();
        assert_eq!(client.get("bootstrap.servers"), Some("broker:9092"));
        assert_eq!(client.get("security.protocol"), Some("plaintext"));
    }

    #[test]
    fn sasl_uses_oauthbearer_over_plaintext_like_the_kafka_auth_profile() {
        let mut config = KafkaConfig::new("broker:9092");
        config.security = KafkaSecurity::SaslPlaintext(oauth());
        let client = config.client_config().unwrap();
        assert_eq!(client.get("security.protocol"), Some("sasl_plaintext"));
        assert_eq!(client.get("sasl.mechanisms"), Some("OAUTHBEARER"));
        assert_eq!(client.get("ssl.ca.location"), None);
    }

    fn oauth() -> OAuthBearer {
        OAuthBearer {
            token_endpoint: "http://idp/token".to_owned(),
            client_id: "c".to_owned(),
            client_secret: SecretString::from("s"),
        }
    }

    #[test]
    fn tls_verifies_the_host_name_and_trusts_what_it_is_told() {
        let mut config = KafkaConfig::new("broker:9093");
        config.security = KafkaSecurity::Ssl(KafkaTls::default());
        let client = config.client_config().unwrap();
        assert_eq!(client.get("security.protocol"), Some("ssl"));
        assert_eq!(client.get("ssl.endpoint.identification.algorithm"), Some("https"));
        assert_eq!(client.get("enable.ssl.certificate.verification"), Some("true"));
        assert_eq!(client.get("ssl.ca.location"), Some("probe"));
        assert_eq!(client.get("sasl.mechanisms"), None);

        config.security = KafkaSecurity::SaslSsl(
            oauth(),
            KafkaTls {
                trust: KafkaTrust::PemFile("/etc/kafka/ca.pem".into()),
                identity: Some(KafkaIdentity::Pkcs12 {
                    path: "/etc/kafka/client.p12".into(),
                    password: Some(SecretString::from("changeit")),
                }),
            },
        );
        let client = config.client_config().unwrap();
        assert_eq!(client.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(client.get("sasl.mechanisms"), Some("OAUTHBEARER"));
        assert_eq!(client.get("ssl.ca.location"), Some("/etc/kafka/ca.pem"));
        assert_eq!(client.get("ssl.keystore.location"), Some("/etc/kafka/client.p12"));
        assert_eq!(client.get("ssl.keystore.password"), Some("changeit"));

        config.security = KafkaSecurity::Ssl(KafkaTls {
            trust: KafkaTrust::Pem("-----BEGIN CERTIFICATE-----".to_owned()),
            identity: Some(KafkaIdentity::PemFile {
                path: "/etc/kafka/client.pem".into(),
                key_password: None,
            }),
        });
        let client = config.client_config().unwrap();
        assert_eq!(client.get("ssl.ca.pem"), Some("-----BEGIN CERTIFICATE-----"));
        assert_eq!(client.get("ssl.ca.location"), None);
        assert_eq!(client.get("ssl.certificate.location"), Some("/etc/kafka/client.pem"));
        assert_eq!(client.get("ssl.key.location"), Some("/etc/kafka/client.pem"));
        assert_eq!(client.get("ssl.key.password"), None);
    }

    #[test]
    fn a_zero_or_huge_message_timeout_and_empty_servers_are_refused() {
        let mut config = KafkaConfig::new("broker:9092");
        config.message_timeout = Duration::ZERO;
        assert!(config.message_timeout_ms().is_err());
        config.message_timeout = Duration::from_secs(u64::from(u32::MAX));
        assert!(config.message_timeout_ms().is_err());
        assert!(KafkaConfig::new(" ").client_config().is_err());
    }
}
