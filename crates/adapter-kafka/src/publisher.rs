//! `KafkaEventPublisher`: the `EventPublisher` port on an idempotent librdkafka producer.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use domain::model::OutboxRecord;
use domain::ports::{EventPublisher, PortError, PortResult};
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::config::KafkaConfig;
use crate::context::{self, RtmContext};
use crate::error::KafkaError;
use crate::payload;
use crate::telemetry;
use crate::topics::{Topic, TopicNames};

/// Longest wait for the broker's metadata when connecting (only logged, never fatal).
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Slack on top of `message.timeout.ms` before `publish` stops waiting for delivery reports
/// that librdkafka owes (it always reports within the timeout; this is a safety net).
const DELIVERY_REPORT_SLACK: Duration = Duration::from_secs(10);
/// Failed `publish` calls in a row after which the producer is replaced by a new one.
const FAILURES_BEFORE_NEW_PRODUCER: u32 = 3;

/// Publishes outbox records to their topics (see the crate docs for topics, keys, payloads
/// and headers) with an idempotent producer (`enable.idempotence=true`, `acks=all`).
///
/// `publish` enqueues the records in the order given and returns once the broker has
/// acknowledged every one of them. Each record is keyed by its application id, so the
/// records of one application on one topic keep their order; Kafka has no order across
/// topics. A record not acknowledged within the configured message timeout fails the call
/// with [`PortError::Unavailable`]; records acknowledged before may be delivered again when
/// the relay retries (at least once).
pub struct KafkaEventPublisher {
    /// Replaced by a fresh one after a fatal error or repeated failures (see `after_failure`).
    producer: RwLock<FutureProducer<RtmContext>>,
    producer_config: ClientConfig,
    /// Failed `publish` calls since the last successful one or the last new producer.
    consecutive_failures: AtomicU32,
    context: RtmContext,
    topics: TopicNames,
    organization_id: Option<String>,
    message_timeout: Duration,
    bootstrap_servers: String,
    /// Stops the OAuth token refresher (if any) with the publisher.
    _refresher: DropGuard,
}

impl KafkaEventPublisher {
    /// Creates the producer and asks the brokers for their metadata once. Unreachable
    /// brokers are not an error: they are logged, and `publish` answers `Unavailable` until
    /// they are back (librdkafka keeps reconnecting). With SASL OAUTHBEARER, waits up to the
    /// message timeout for a first token.
    ///
    /// # Errors
    ///
    /// [`PortError::Backend`] when the configuration is refused (empty bootstrap servers,
    /// a message timeout of zero or above `i32::MAX` ms, a token endpoint that is not a
    /// URL, a setting librdkafka rejects, such as a CA file it cannot read), or when a
    /// broker's TLS handshake fails or it refuses the credentials while probing.
    pub async fn connect(config: &KafkaConfig) -> Result<Self, PortError> {
        let publisher = Self::new(config).await.map_err(PortError::from)?;
        let producer = publisher.producer();
        let probe_timeout = PROBE_TIMEOUT.min(config.message_timeout);
        let probe = tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(None, probe_timeout)
                .map(|metadata| metadata.brokers().len())
        });
        let probe = tokio::select! {
            probe = probe => probe,
            refusal = publisher.context.refusals().first() => {
                return Err(KafkaError::Refused(refusal).into());
            }
        };
        match probe {
            Ok(Ok(n_brokers)) => tracing::info!(
                kafka.bootstrap_servers = %publisher.bootstrap_servers,
                kafka.brokers = n_brokers,
                "kafka producer ready"
            ),
            Ok(Err(err)) => tracing::warn!(
                kafka.bootstrap_servers = %publisher.bootstrap_servers,
                error = %err,
                "kafka is not reachable yet; events stay in the outbox until it is"
            ),
            Err(err) => tracing::warn!(error = %err, "the kafka metadata probe did not finish"),
        }
        Ok(publisher)
    }

    async fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        let message_timeout_ms = config.message_timeout_ms()?;
        let mut producer_config = config.client_config()?;
        producer_config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", message_timeout_ms.to_string())
            // librdkafka wants the request timeout no longer than the message timeout.
            .set("request.timeout.ms", message_timeout_ms.min(30_000).to_string())
            // Small JSON documents: compression would cost more than it saves.
            .set("compression.type", "none");
        let refresher = CancellationToken::new();
        let context = context::for_config(config, refresher.child_token()).await?;
        let producer = create(&producer_config, &context)?;
        Ok(Self {
            producer: RwLock::new(producer),
            producer_config,
            consecutive_failures: AtomicU32::new(0),
            context,
            topics: config.topics.clone(),
            organization_id: config.organization_id.clone(),
            message_timeout: config.message_timeout,
            bootstrap_servers: config.bootstrap_servers.clone(),
            _refresher: refresher.drop_guard(),
        })
    }

    fn producer(&self) -> FutureProducer<RtmContext> {
        self.producer.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Counts a failed call and replaces the producer when librdkafka declared it fatally
    /// failed, or after [`FAILURES_BEFORE_NEW_PRODUCER`] failed calls in a row: a producer
    /// whose idempotence state the broker no longer knows (its producer id expired or was
    /// lost) can otherwise retry until every message times out, for ever. A fresh producer
    /// gets a fresh producer id; while the brokers are down, it simply fails like the old one.
    fn after_failure(&self, failed: FutureProducer<RtmContext>) {
        let n_failures = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        let fatal = failed.client().fatal_error();
        if fatal.is_none() && n_failures < FAILURES_BEFORE_NEW_PRODUCER {
            return;
        }
        match &fatal {
            Some((code, reason)) => tracing::error!(
                kafka.error_code = ?code,
                reason,
                "the kafka producer failed fatally; replacing it"
            ),
            None => {
                tracing::warn!(n_failures, "kafka publishing keeps failing; replacing the producer")
            }
        }
        let fresh = match create(&self.producer_config, &self.context) {
            Ok(fresh) => fresh,
            Err(err) => {
                tracing::error!(error = %err, "could not create a new kafka producer");
                return;
            }
        };
        self.consecutive_failures.store(0, Ordering::Relaxed);
        let replaced = std::mem::replace(
            &mut *self.producer.write().unwrap_or_else(PoisonError::into_inner),
            fresh,
        );
        // Dropping a producer purges its queue and waits for its threads: not on a tokio worker.
        drop(tokio::task::spawn_blocking(move || drop((replaced, failed))));
    }

    async fn deliver(
        &self,
        producer: &FutureProducer<RtmContext>,
        records: &[OutboxRecord],
    ) -> Result<(), KafkaError> {
        let mut pending = Vec::with_capacity(records.len());
        let mut failure = None;
        for record in records {
            let topic = self.topics.of(&record.event);
            let wire = payload::encode(record, self.organization_id.as_deref())
                .map_err(|source| KafkaError::Encode { sequence: record.sequence, source })?;
            let headers = wire.headers.iter().fold(
                OwnedHeaders::new_with_capacity(wire.headers.len()),
                |headers, (name, value)| {
                    headers.insert(Header { key: name, value: Some(value.as_str()) })
                },
            );
            let message =
                FutureRecord::to(topic).key(&wire.key).payload(&wire.payload).headers(headers);
            match producer.send_result(message) {
                Ok(delivery) => pending.push((record.sequence, topic, delivery)),
                Err((source, _)) => {
                    // Later records must not overtake this one: stop enqueueing.
                    failure = Some(KafkaError::Delivery {
                        sequence: record.sequence,
                        topic: topic.to_owned(),
                        source,
                    });
                    break;
                }
            }
        }
        if let Some(KafkaError::Delivery { topic, .. }) = &failure {
            telemetry::failed(topic, 1);
        }
        let n_pending = pending.len();
        let mut n_failed = 0_usize;
        for (sequence, topic, delivery) in pending {
            let outcome = match delivery.await {
                Ok(Ok(_)) => {
                    telemetry::published(topic, 1);
                    continue;
                }
                Ok(Err((source, _))) => source,
                Err(_canceled) => rdkafka::error::KafkaError::Canceled,
            };
            telemetry::failed(topic, 1);
            n_failed += 1;
            failure.get_or_insert(KafkaError::Delivery {
                sequence,
                topic: topic.to_owned(),
                source: outcome,
            });
        }
        match failure {
            None => Ok(()),
            Some(err) => {
                tracing::debug!(n_pending, n_failed, "some records were not acknowledged");
                Err(err)
            }
        }
    }
}

/// The metadata of one topic of ours (not the whole cluster's: it is asked every few
/// seconds), within the metadata probe timeout (5 s), on a blocking thread since
/// librdkafka's call blocks.
#[async_trait]
impl domain::ports::HealthCheck for KafkaEventPublisher {
    async fn ping(&self) -> PortResult<()> {
        let producer = self.producer();
        let timeout = PROBE_TIMEOUT.min(self.message_timeout);
        let topic = self.topics.get(Topic::ActivePolicyUpdated).to_owned();
        tokio::task::spawn_blocking(move || producer.client().fetch_metadata(Some(&topic), timeout))
            .await
            .map_err(|err| PortError::Backend(err.into()))?
            .map(|_| ())
            .map_err(|err| PortError::Unavailable(err.into()))
    }
}

#[async_trait]
impl EventPublisher for KafkaEventPublisher {
    #[tracing::instrument(name = "kafka.publish", skip_all, fields(records = records.len()))]
    async fn publish(&self, records: &[OutboxRecord]) -> PortResult<()> {
        if records.is_empty() {
            return Ok(());
        }
        let producer = self.producer();
        let bound = self.message_timeout + DELIVERY_REPORT_SLACK;
        let outcome = match tokio::time::timeout(bound, self.deliver(&producer, records)).await {
            Ok(outcome) => outcome.map_err(PortError::from),
            Err(_) => Err(PortError::Unavailable(
                format!("kafka owed delivery reports for more than {bound:?}").into(),
            )),
        };
        if outcome.is_err() {
            self.after_failure(producer);
        } else {
            self.consecutive_failures.store(0, Ordering::Relaxed);
        }
        outcome
    }
}

impl fmt::Debug for KafkaEventPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaEventPublisher")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("topics", &self.topics)
            .field("message_timeout", &self.message_timeout)
            .finish_non_exhaustive()
    }
}

fn create(
    config: &ClientConfig,
    context: &RtmContext,
) -> Result<FutureProducer<RtmContext>, KafkaError> {
    config.create_with_context(context.clone()).map_err(KafkaError::Client)
}
