//! The librdkafka client context of every client of this crate: logs through `tracing`,
//! hands out the cached OAUTHBEARER token, reports a consumer's lag, and remembers a
//! broker's refusal (TLS or SASL) so that connecting fails with it instead of waiting.

use std::error::Error;
use std::sync::Arc;

use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError as DriverError;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use secrecy::ExposeSecret as _;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::config::{KafkaConfig, OAuthBearer};
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
    /// The last TLS or SASL failure librdkafka reported.
    refusals: Refusals,
}

impl RtmContext {
    pub(crate) fn plaintext() -> Self {
        Self { tokens: None, principal: String::new(), refusals: Refusals::default(), lag_of: None }
    }

    pub(crate) fn oauthbearer(tokens: TokenCache, principal: String) -> Self {
        Self { tokens: Some(tokens), principal, refusals: Refusals::default(), lag_of: None }
    }

    /// This context, reporting the lag of `consumer` (a client configured with
    /// [`telemetry::STATISTICS_INTERVAL_MS`]) as `rtm_kafka_consumer_lag`.
    pub(crate) fn reporting_lag_of(mut self, consumer: &'static str) -> Self {
        self.lag_of = Some(consumer);
        self
    }

    /// Broker refusals seen by the clients of this context.
    pub(crate) fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// Whether `error` means that the connection can never succeed as configured: a TLS
    /// handshake that failed (unknown CA, expired certificate, wrong host name) or a broker
    /// that refused our credentials. While no token could be fetched yet, an authentication
    /// error is librdkafka reporting our own missing token, which the refresher may still fix.
    fn is_refusal(&self, error: &DriverError) -> bool {
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::SSL) => true,
            Some(RDKafkaErrorCode::Authentication | RDKafkaErrorCode::SaslAuthenticationFailed) => {
                self.tokens.as_ref().is_none_or(|tokens| tokens.current().is_some())
            }
            _ => false,
        }
    }
}

/// The last refusal reported by librdkafka, shared by the clones of a context.
#[derive(Clone)]
pub(crate) struct Refusals(Arc<watch::Sender<Option<String>>>);

impl Default for Refusals {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(None)))
    }
}

impl Refusals {
    /// Resolves with the first refusal reported (at once when there was one already).
    pub(crate) async fn first(&self) -> String {
        let mut seen = self.0.subscribe();
        match seen.wait_for(Option::is_some).await {
            Ok(refusal) => refusal.clone().unwrap_or_default(),
            // The sender lives in `self`: it cannot be gone while we wait.
            Err(_) => std::future::pending().await,
        }
    }
}

/// The context for clients of `config`. With SASL OAUTHBEARER this starts the token
/// refresher (stopped by `cancel`) and waits up to the message timeout for a first token;
/// without one yet, clients start anyway and librdkafka asks again until it gets one.
pub(crate) async fn for_config(
    config: &KafkaConfig,
    cancel: CancellationToken,
) -> Result<RtmContext, KafkaError> {
    match config.security.oauthbearer() {
        None => Ok(RtmContext::plaintext()),
        Some(OAuthBearer { token_endpoint, client_id, client_secret }) => {
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
        if self.is_refusal(&error) {
            self.refusals.0.send_replace(Some(format!("{error}: {reason}")));
        }
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
