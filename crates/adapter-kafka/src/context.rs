//! The librdkafka client context of every client of this crate: logs through `tracing`,
//! hands out the cached OAUTHBEARER token, and reports a consumer's lag.

use std::error::Error;

use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError as DriverError;
use rdkafka::statistics::Statistics;
use secrecy::ExposeSecret as _;
use tokio_util::sync::CancellationToken;

use crate::config::{KafkaConfig, KafkaSecurity};
use crate::error::KafkaError;
use crate::oauth::{self, TokenCache, TokenSourceSettings};
use crate::telemetry;

/// Callbacks shared by the producer and the listener's consumer.
#[derive(Clone)]
pub(crate) struct RtmContext {
    /// The token cache when SASL OAUTHBEARER is configured.
    tokens: Option<TokenCache>,
    /// Principal reported to librdkafka with the token (the OAuth client id).
    principal: String,
    /// The consumer whose lag this context reports from librdkafka's statistics.
    lag_of: Option<&'static str>,
}

impl RtmContext {
    pub(crate) fn plaintext() -> Self {
        Self { tokens: None, principal: String::new(), lag_of: None }
    }

    pub(crate) fn oauthbearer(tokens: TokenCache, principal: String) -> Self {
        Self { tokens: Some(tokens), principal, lag_of: None }
    }

    /// This context, reporting the lag of `consumer` (a client configured with
    /// [`telemetry::STATISTICS_INTERVAL_MS`]) as `rtm_kafka_consumer_lag`.
    pub(crate) fn reporting_lag_of(mut self, consumer: &'static str) -> Self {
        self.lag_of = Some(consumer);
        self
    }
}

/// The context for clients of `config`. With SASL OAUTHBEARER this starts the token
/// refresher (stopped by `cancel`) and waits up to the message timeout for a first token;
/// without one yet, clients start anyway and librdkafka asks again until it gets one.
pub(crate) async fn for_config(
    config: &KafkaConfig,
    cancel: CancellationToken,
) -> Result<RtmContext, KafkaError> {
    match &config.security {
        KafkaSecurity::Plaintext => Ok(RtmContext::plaintext()),
        KafkaSecurity::SaslOauthbearer { token_endpoint, client_id, client_secret } => {
            let settings = TokenSourceSettings {
                token_endpoint: token_endpoint.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.clone(),
            };
            let tokens = oauth::start(&settings, cancel)?;
            if !tokens.wait_for_first(config.message_timeout).await {
                tracing::warn!(
                    kafka.oauth.token_endpoint = %token_endpoint,
                    "no kafka oauth token yet; kafka clients start and wait for one"
                );
            }
            Ok(RtmContext::oauthbearer(tokens, client_id.clone()))
        }
    }
}

impl ClientContext for RtmContext {
    // Only consulted when `sasl.mechanisms=OAUTHBEARER`; harmless otherwise.
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical => {
                tracing::error!(target: "librdkafka", facility, "{message}");
            }
            // librdkafka's errors are mostly lost connections it recovers from by itself.
            RDKafkaLogLevel::Error | RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", facility, "{message}");
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", facility, "{message}");
            }
            RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
        }
    }

    fn error(&self, error: DriverError, reason: &str) {
        // Broker connection errors come here while librdkafka reconnects by itself; the
        // failures that matter to a caller are reported by `publish`.
        tracing::warn!(target: "librdkafka", error = %error, "{reason}");
    }

    fn stats(&self, statistics: Statistics) {
        if let Some(consumer) = self.lag_of {
            telemetry::consumer_lag(consumer, &statistics);
        }
    }

    fn generate_oauth_token(&self, _config: Option<&str>) -> Result<OAuthToken, Box<dyn Error>> {
        let tokens = self.tokens.as_ref().ok_or("no oauth token source is configured")?;
        // librdkafka retries the callback by itself after a failure.
        let token = tokens
            .current()
            .ok_or("no unexpired kafka oauth token yet; the refresher is retrying")?;
        Ok(OAuthToken {
            token: token.value.expose_secret().to_owned(),
            principal_name: self.principal.clone(),
            lifetime_ms: token.expires_at_unix_ms(),
        })
    }
}

impl ConsumerContext for RtmContext {}
