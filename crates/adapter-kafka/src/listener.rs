//! `PolicyUpdateListener`: every replica hears every active-policy change and evicts what it
//! cached for the application.

use std::sync::Arc;
use std::time::Duration;

use domain::model::ApplicationId;
use rdkafka::Message as _;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError as DriverError;
use rdkafka::message::BorrowedMessage;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::KafkaConfig;
use crate::context::{self, RtmContext};
use crate::error::KafkaError;
use crate::payload::{ACTIVE_POLICY_UPDATED, ActivePolicyUpdatedIn};
use crate::telemetry;
use crate::topics::Topic;

/// Pause before a new consumer replaces one that failed fatally.
const FATAL_ERROR_PAUSE: Duration = Duration::from_secs(5);

/// What the listener calls for each active-policy change: the application whose cached
/// resolution must be evicted, and the event's outbox `sequence`, which is the application's
/// policy revision after the change (0 for an event without one: evict without a floor).
/// Called on the listener's task; keep it short.
pub type PolicyUpdateCallback = Arc<dyn Fn(ApplicationId, u64) + Send + Sync>;

/// Consumer of the active-policy topic that every replica runs.
///
/// Its consumer group is `<listener_group_prefix>-<random uuid>`, new in every process, so
/// each replica receives every event (a shared group would split them). A new group starts
/// at the end of the topic (`auto.offset.reset=latest`): a replica that just started has an
/// empty cache. It commits its offsets every second, so that after an outage long enough
/// for the broker to drop it from its group it resumes where it was instead of skipping the
/// changes made meanwhile; the broker forgets those offsets after its
/// `offsets.retention.minutes` (one small group per process start).
///
/// librdkafka reconnects by itself when a broker restarts; errors are logged and the loop
/// goes on (a consumer librdkafka declares fatally failed is replaced). A message that is
/// not an `ACTIVE_POLICY_UPDATED` event with a valid `appId` is logged and skipped.
#[derive(Debug)]
pub struct PolicyUpdateListener {
    _no_instances: (),
}

impl PolicyUpdateListener {
    /// Starts listening on a tokio task, which ends when `cancel` is cancelled (the consumer
    /// then leaves its group). Must be called inside a tokio runtime.
    ///
    /// The task ends early, with an error in the log, only when the consumer cannot be
    /// created at all (a configuration librdkafka refuses — the same configuration makes
    /// [`KafkaEventPublisher::connect`](crate::KafkaEventPublisher::connect) fail first).
    pub fn spawn(
        config: &KafkaConfig,
        on_update: PolicyUpdateCallback,
        cancel: CancellationToken,
    ) -> JoinHandle<()> {
        let config = config.clone();
        tokio::spawn(async move { listen(config, on_update, cancel).await })
    }
}

async fn listen(config: KafkaConfig, on_update: PolicyUpdateCallback, cancel: CancellationToken) {
    let topic = config.topics.get(Topic::ActivePolicyUpdated).to_owned();
    let context = match context::for_config(&config, cancel.child_token()).await {
        Ok(context) => context,
        Err(err) => return not_started(&topic, &err),
    };
    loop {
        let group_id = format!("{}-{}", config.listener_group_prefix, uuid::Uuid::new_v4());
        let context = context.clone().reporting_lag_of(telemetry::POLICY_LISTENER);
        let consumer = match subscribe(&config, &group_id, &topic, context) {
            Ok(consumer) => consumer,
            Err(err) => return not_started(&topic, &err),
        };
        tracing::info!(kafka.topic = %topic, kafka.group_id = %group_id, "listening for active-policy updates");
        let stopped = consume(&consumer, &topic, on_update.as_ref(), &cancel).await;
        // Closing the consumer talks to the group coordinator and may block for a while.
        if let Err(err) = tokio::task::spawn_blocking(move || drop(consumer)).await {
            tracing::warn!(error = %err, "closing the active-policy consumer failed");
        }
        match stopped {
            Stopped::Cancelled => break,
            Stopped::Fatal(err) => {
                tracing::error!(kafka.topic = %topic, error = %err, "the active-policy consumer failed fatally; starting a new one");
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(FATAL_ERROR_PAUSE) => {}
                }
            }
        }
    }
    tracing::info!(kafka.topic = %topic, "active-policy listener stopped");
}

fn not_started(topic: &str, err: &KafkaError) {
    tracing::error!(
        kafka.topic = %topic,
        error = %err,
        "the active-policy listener could not start; cached resolutions of other replicas' changes expire by ttl only"
    );
}

/// Why [`consume`] returned.
enum Stopped {
    Cancelled,
    /// librdkafka declared the consumer unusable.
    Fatal(DriverError),
}

async fn consume(
    consumer: &StreamConsumer<RtmContext>,
    topic: &str,
    on_update: &(dyn Fn(ApplicationId, u64) + Send + Sync),
    cancel: &CancellationToken,
) -> Stopped {
    loop {
        let received = tokio::select! {
            () = cancel.cancelled() => return Stopped::Cancelled,
            received = consumer.recv() => received,
        };
        match received {
            Ok(message) => handle(&message, on_update),
            Err(err @ DriverError::MessageConsumptionFatal(_)) => return Stopped::Fatal(err),
            // Errors are events librdkafka reports once each while it reconnects by itself;
            // pausing here would only delay the messages queued behind them.
            Err(err) => tracing::warn!(
                kafka.topic = %topic,
                error = %err,
                "the active-policy listener got an error; it keeps listening"
            ),
        }
    }
}

fn subscribe(
    config: &KafkaConfig,
    group_id: &str,
    topic: &str,
    context: RtmContext,
) -> Result<StreamConsumer<RtmContext>, KafkaError> {
    let mut consumer_config = config.client_config()?;
    consumer_config
        .set("group.id", group_id)
        .set("auto.offset.reset", "latest")
        // Committed offsets let the consumer resume where it was when it rejoins its group
        // after a broker outage, instead of at the end, which would lose the changes made
        // meanwhile (and leave stale cache entries until their TTL).
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        // A topic created after the start is noticed within this period.
        .set("topic.metadata.refresh.interval.ms", "30000")
        .set("statistics.interval.ms", telemetry::STATISTICS_INTERVAL_MS);
    let consumer: StreamConsumer<RtmContext> =
        consumer_config.create_with_context(context).map_err(KafkaError::Client)?;
    consumer.subscribe(&[topic]).map_err(KafkaError::Client)?;
    Ok(consumer)
}

fn handle(message: &BorrowedMessage<'_>, on_update: &(dyn Fn(ApplicationId, u64) + Send + Sync)) {
    match application_of(message.payload()) {
        Ok(Some((application_id, revision))) => {
            tracing::debug!(app.id = %application_id, policy.revision = revision, "active policy updated; evicting");
            on_update(application_id, revision);
        }
        Ok(None) => {
            tracing::debug!(
                kafka.partition = message.partition(),
                kafka.offset = message.offset(),
                "not an active-policy event; skipped"
            );
        }
        Err(reason) => tracing::warn!(
            kafka.topic = message.topic(),
            kafka.partition = message.partition(),
            kafka.offset = message.offset(),
            reason,
            "malformed active-policy message skipped"
        ),
    }
}

/// The application of an active-policy event and its sequence (the policy revision); `None`
/// for another event type.
fn application_of(payload: Option<&[u8]>) -> Result<Option<(ApplicationId, u64)>, String> {
    let payload = payload.ok_or("the message has no payload")?;
    let event: ActivePolicyUpdatedIn = serde_json::from_slice(payload)
        .map_err(|err| format!("not an active-policy event: {err}"))?;
    if event.event_type != ACTIVE_POLICY_UPDATED {
        return Ok(None);
    }
    let application_id = ApplicationId::parse(&event.app_id).map_err(|err| err.to_string())?;
    Ok(Some((application_id, event.sequence)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_active_policy_event_names_its_application_and_revision() {
        let application_id = ApplicationId::random();
        let payload = format!(
            r#"{{"eventType":"ACTIVE_POLICY_UPDATED","sequence":17,"timestamp":"2026-11-24T10:00:00Z","appId":"{application_id}"}}"#
        );
        assert_eq!(application_of(Some(payload.as_bytes())), Ok(Some((application_id, 17))));
    }

    #[test]
    fn other_events_are_ignored_and_malformed_ones_refused() {
        let other =
            r#"{"eventType":"BUILD_DELETED","appId":"3f1c2d9e-0000-4000-8000-000000000001"}"#;
        assert_eq!(application_of(Some(other.as_bytes())), Ok(None));
        assert!(application_of(None).is_err());
        assert!(application_of(Some(b"not json")).is_err());
        assert!(application_of(Some(br#"{"eventType":"ACTIVE_POLICY_UPDATED"}"#)).is_err());
        assert!(
            application_of(Some(br#"{"eventType":"ACTIVE_POLICY_UPDATED","appId":"nope"}"#))
                .is_err()
        );
    }
}
