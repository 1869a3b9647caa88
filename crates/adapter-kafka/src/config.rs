//! `KafkaConfig`: how to reach the brokers, as whom, and under which topic names.

use std::fmt;
use std::time::Duration;

use rdkafka::ClientConfig;
use secrecy::SecretString;

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
    /// Plaintext, or SASL OAUTHBEARER with a client-credentials token.
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

/// How rtm authenticates to the brokers.
#[derive(Clone)]
pub enum KafkaSecurity {
    /// `PLAINTEXT`: no authentication (the original's default).
    Plaintext,
    /// `SASL_PLAINTEXT` + `OAUTHBEARER`, like the original's `kafka-auth` profile: a token
    /// from a client-credentials grant, refreshed in the background.
    SaslOauthbearer {
        /// `KAFKA_OAUTH_TOKEN_ENDPOINT_URI`.
        token_endpoint: String,
        /// `KAFKA_OAUTH_CLIENT_ID`.
        client_id: String,
        /// `KAFKA_OAUTH_CLIENT_SECRET`.
        client_secret: SecretString,
    },
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
        match &self.security {
            KafkaSecurity::Plaintext => {
                config.set("security.protocol", "plaintext");
            }
            KafkaSecurity::SaslOauthbearer { .. } => {
                config
                    .set("security.protocol", "sasl_plaintext")
                    .set("sasl.mechanisms", "OAUTHBEARER");
            }
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
            Self::SaslOauthbearer { token_endpoint, client_id, client_secret: _ } => f
                .debug_struct("SaslOauthbearer")
                .field("token_endpoint", token_endpoint)
                .field("client_id", client_id)
                .field("client_secret", &"[redacted]")
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_client_secret() {
        let mut config = KafkaConfig::new("broker:9092");
        config.security = KafkaSecurity::SaslOauthbearer {
            token_endpoint: "http://idp/realms/kafka-authz/protocol/openid-connect/token"
                .to_owned(),
            client_id: "flowx-service-client".to_owned(),
            client_secret: SecretString::from("hunter2-very-secret"),
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
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
        config.security = KafkaSecurity::SaslOauthbearer {
            token_endpoint: "http://idp/token".to_owned(),
            client_id: "c".to_owned(),
            client_secret: SecretString::from("s"),
        };
        let client = config.client_config().unwrap();
        assert_eq!(client.get("security.protocol"), Some("sasl_plaintext"));
        assert_eq!(client.get("sasl.mechanisms"), Some("OAUTHBEARER"));
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
