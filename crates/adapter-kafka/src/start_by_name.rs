//! `StartByNameConsumer`: the runtime role's consumer of start-by-name requests. It decodes
//! each message, asks `StartByNameService` to start the process (attempting again while the
//! service says a failure is worth it), answers on the reply topic with the request's
//! headers, and commits the request's offset once the reply is acknowledged.

mod codec;
mod replier;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use domain::DomainResult;
use domain::runtime::{ProcessStarted, StartByName, StartByNameService};
use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::error::KafkaError as DriverError;
use rdkafka::message::{Headers as _, Message as _, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::config::KafkaConfig;
use crate::context::{self, RtmContext};
use crate::error::KafkaError;
use crate::start_by_name::codec::Header;
use crate::start_by_name::replier::{Delivery, Position, Replier, Reply};
use crate::telemetry;
use crate::topics::Topic;

/// Pause before a new consumer replaces one that failed fatally.
const FATAL_ERROR_PAUSE: Duration = Duration::from_secs(5);
/// How long the group waits for a silent replica before giving its partitions to the
/// others: a killed replica's requests are answered by another one after at most this.
const SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// The consumer of `KAFKA_TOPIC_PROCESS_STARTBYNAME_IN` that every runtime replica runs.
///
/// All replicas join the group `KAFKA_CONSUMER_GROUPID_PROCESS_START`, so each request is
/// read by one of them; a replica handles its messages one at a time, in partition order.
/// For each message it decodes the headers and body (a malformed message is answered with
/// an error at once), calls [`StartByNameService::start`] and, while
/// [`StartRetry::after`](domain::runtime::StartRetry::after) says so, pauses and calls it
/// again; then it writes the reply and, once the broker acknowledged it, stores the
/// request's offset for the next commit (every second, and when a partition is revoked or
/// the consumer closes). A group that has no offset yet starts at the earliest request, so
/// requests sent before the first replica joined are answered too.
///
/// Delivery: every request is answered, once, also when a replica dies mid-stream (a
/// request is one message of the request topic: its topic, partition and offset): the next
/// reader of the partition skips the requests whose replies the dead one wrote but did not
/// commit (see `replier.rs`). Two things are not covered: a replica that stalls, without
/// dying, for longer than the group's session timeout while it writes a reply, and then
/// resumes, can add a second reply (only Kafka transactions could fence it, and the local
/// broker cannot commit them); and the process engine is asked again for a request whose
/// replica died after the engine's answer and before its reply was written.
#[derive(Debug)]
pub struct StartByNameConsumer {
    _no_instances: (),
}

impl StartByNameConsumer {
    /// Starts consuming on a tokio task, which ends when `cancel` is cancelled: the
    /// message in hand is finished (answered and committed), unless its start is pausing
    /// before another attempt, in which case it is left uncommitted for the next owner of
    /// its partition; then the consumer leaves its group. Must be called inside a tokio
    /// runtime.
    ///
    /// The task ends early, with an error in the log, only when the consumer cannot be
    /// created at all (a configuration librdkafka refuses).
    pub fn spawn(
        config: &KafkaConfig,
        service: StartByNameService,
        cancel: CancellationToken,
    ) -> JoinHandle<()> {
        let config = config.clone();
        tokio::spawn(async move { run(config, service, cancel).await })
    }
}

async fn run(config: KafkaConfig, service: StartByNameService, cancel: CancellationToken) {
    let request_topic = config.topics.get(Topic::StartByNameIn).to_owned();
    let reply_topic = config.topics.get(Topic::StartByNameOut).to_owned();
    let context = match context::for_config(&config, cancel.child_token()).await {
        Ok(context) => context,
        Err(err) => return not_started(&request_topic, &err),
    };
    loop {
        let changes = Arc::new(Mutex::new(Vec::new()));
        let watch = PartitionWatch {
            inner: context.clone().reporting_lag_of(telemetry::START_BY_NAME),
            changes: changes.clone(),
        };
        let consumer = match subscribe(&config, &request_topic, service.retry().bound(), watch) {
            Ok(consumer) => consumer,
            Err(err) => return not_started(&request_topic, &err),
        };
        let base = match config.client_config() {
            Ok(base) => base,
            Err(err) => return not_started(&request_topic, &err),
        };
        let mut replier = match Replier::new(
            base,
            context.clone(),
            config.process_start_group_id.clone(),
            request_topic.clone(),
            reply_topic.clone(),
            config.message_timeout,
        ) {
            Ok(replier) => replier,
            Err(err) => return not_started(&request_topic, &err),
        };
        tracing::info!(
            kafka.topic = %request_topic,
            kafka.group_id = %config.process_start_group_id,
            "answering start-by-name requests"
        );
        let worker = Worker { consumer: &consumer, service: &service, cancel: &cancel };
        let stopped = worker.consume(&mut replier, &changes).await;
        // Closing the consumer talks to the group coordinator and may block for a while.
        if let Err(err) = tokio::task::spawn_blocking(move || drop(consumer)).await {
            tracing::warn!(error = %err, "closing the start-by-name consumer failed");
        }
        match stopped {
            Stopped::Cancelled => break,
            Stopped::Fatal(err) => {
                tracing::error!(kafka.topic = %request_topic, error = %err, "the start-by-name consumer failed fatally; starting a new one");
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(FATAL_ERROR_PAUSE) => {}
                }
            }
        }
    }
    tracing::info!(kafka.topic = %request_topic, "start-by-name consumer stopped");
}

fn not_started(topic: &str, err: &KafkaError) {
    tracing::error!(
        kafka.topic = %topic,
        error = %err,
        "the start-by-name consumer could not start; no start-by-name request is answered"
    );
}

/// Why [`Worker::consume`] returned.
enum Stopped {
    Cancelled,
    /// librdkafka declared the consumer unusable.
    Fatal(DriverError),
}

fn subscribe(
    config: &KafkaConfig,
    topic: &str,
    retry_bound: Duration,
    context: PartitionWatch,
) -> Result<StreamConsumer<PartitionWatch>, KafkaError> {
    // A message may take the whole retry bound, then its reply the message timeout, without
    // the consumer polling; the group must not drop it meanwhile.
    let max_poll_interval = (retry_bound + config.message_timeout * 2 + Duration::from_secs(60))
        .max(Duration::from_secs(300));
    let max_poll_interval_ms =
        u32::try_from(max_poll_interval.as_millis()).unwrap_or(i32::MAX as u32);
    let mut consumer_config = config.client_config()?;
    consumer_config
        .set("group.id", &config.process_start_group_id)
        // Only offsets stored after their reply was acknowledged are committed: every
        // second, and when a partition is revoked or the consumer closes.
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // Requests written in a transaction that was aborted were never sent.
        .set("isolation.level", "read_committed")
        .set("session.timeout.ms", SESSION_TIMEOUT.as_millis().to_string())
        .set("heartbeat.interval.ms", (SESSION_TIMEOUT / 3).as_millis().to_string())
        .set("max.poll.interval.ms", max_poll_interval_ms.min(i32::MAX as u32).to_string())
        .set("statistics.interval.ms", telemetry::STATISTICS_INTERVAL_MS);
    let consumer: StreamConsumer<PartitionWatch> =
        consumer_config.create_with_context(context).map_err(KafkaError::Client)?;
    consumer.subscribe(&[topic]).map_err(KafkaError::Client)?;
    Ok(consumer)
}

/// One consumer's loop over its messages.
struct Worker<'a> {
    consumer: &'a StreamConsumer<PartitionWatch>,
    service: &'a StartByNameService,
    cancel: &'a CancellationToken,
}

impl Worker<'_> {
    async fn consume(&self, replier: &mut Replier, changes: &Mutex<Vec<Change>>) -> Stopped {
        // Partitions assigned since this replica last read them: their previous owner may
        // have answered requests it could not commit.
        let mut taken: HashSet<i32> = HashSet::new();
        // Where reading resumes after a take-over skipped requests answered before.
        let mut resume_at: HashMap<i32, i64> = HashMap::new();
        loop {
            let received = tokio::select! {
                () = self.cancel.cancelled() => return Stopped::Cancelled,
                received = self.consumer.recv() => received.map(|message| message.detach()),
            };
            // Rebalances happen inside `recv`; apply them in the order they came.
            let changed =
                std::mem::take(&mut *changes.lock().unwrap_or_else(PoisonError::into_inner));
            for change in changed {
                match change {
                    Change::Assigned(partition) => {
                        taken.insert(partition);
                    }
                    Change::Revoked(partition) => {
                        taken.remove(&partition);
                        resume_at.remove(&partition);
                    }
                }
            }
            let message = match received {
                Ok(message) => message,
                Err(err @ DriverError::MessageConsumptionFatal(_)) => return Stopped::Fatal(err),
                // librdkafka reports connection trouble here while it reconnects by itself.
                Err(err) => {
                    tracing::warn!(error = %err, "the start-by-name consumer got an error; it keeps consuming");
                    continue;
                }
            };
            let partition = message.partition();
            if resume_at.get(&partition).is_some_and(|from| message.offset() < *from) {
                continue;
            }
            if taken.contains(&partition) {
                match replier.take_over(partition, message.offset(), self.cancel).await {
                    Some(from) => {
                        taken.remove(&partition);
                        if from > message.offset() {
                            resume_at.insert(partition, from);
                            self.commit_before(&message, from);
                            self.seek(&message, from);
                            continue;
                        }
                    }
                    None => {
                        self.seek(&message, message.offset());
                        continue;
                    }
                }
            }
            let span = tracing::info_span!(
                "start_by_name",
                kafka.partition = partition,
                kafka.offset = message.offset()
            );
            self.handle(&message, replier).instrument(span).await;
        }
    }

    /// Answers one request; the message in hand is finished even when `cancel` fires.
    async fn handle(&self, message: &OwnedMessage, replier: &mut Replier) {
        let position = Position { partition: message.partition(), offset: message.offset() };
        let headers: Vec<Header> = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|header| (header.key.to_owned(), header.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        let body = match codec::decode(&headers, message.payload()) {
            Err(malformed) => {
                tracing::info!(code = malformed.code, reason = %malformed.message, "malformed start-by-name request answered with an error");
                codec::error_body(malformed.code, &malformed.message)
            }
            Ok(request) => match self.start(&request).await {
                Some(Attempted { result: Ok(started), .. }) => {
                    tracing::info!(app.id = %request.application_id, build.id = %started.build_id, process = %request.process_name, "process started");
                    started.answer.body
                }
                Some(Attempted { result: Err(err), attempts, since_first }) => {
                    let (code, mut message) = codec::failure(&err);
                    if attempts > 1 {
                        message = format!(
                            "{message} (gave up after {attempts} attempts in {} s)",
                            since_first.as_secs()
                        );
                    }
                    // One line per failure: client errors are the sender's; the others ours.
                    if matches!(
                        err,
                        domain::DomainError::Internal(_) | domain::DomainError::Unavailable(_)
                    ) {
                        tracing::error!(app.id = %request.application_id, code, error = ?err, "start-by-name failed");
                    } else {
                        tracing::info!(app.id = %request.application_id, code, reason = %err, "start-by-name refused");
                    }
                    codec::error_body(code, &message)
                }
                None => {
                    tracing::info!(
                        "stopping while a start waited to be attempted again; the partition's next reader answers it"
                    );
                    self.seek(message, message.offset());
                    return;
                }
            },
        };
        let reply = Reply { key: message.key().map(<[u8]>::to_vec), headers, body };
        match replier.deliver(&reply, position, self.cancel).await {
            Delivery::Written => self.commit_before(message, message.offset() + 1),
            Delivery::Abandoned => self.seek(message, message.offset()),
        }
    }

    /// Attempts the start until it succeeds or the service says the failure is final;
    /// `None` when `cancel` fires during a pause (no attempt is cut short).
    async fn start(&self, request: &StartByName) -> Option<Attempted> {
        let first = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = self.service.start(request).await;
            let pause = match &result {
                Ok(_) => None,
                Err(err) => self.service.retry().after(err, attempts, first.elapsed()),
            };
            let Some(pause) = pause else {
                return Some(Attempted { result, attempts, since_first: first.elapsed() });
            };
            if let Err(err) = &result {
                tracing::warn!(attempts, pause_ms = pause.as_millis(), error = %err, "start not made; attempting again");
            }
            tokio::select! {
                () = self.cancel.cancelled() => return None,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Stores `offset` (the next request to answer) of the partition of `message` for the
    /// next commit.
    fn commit_before(&self, message: &OwnedMessage, offset: i64) {
        let mut offsets = TopicPartitionList::new();
        let stored = offsets
            .add_partition_offset(message.topic(), message.partition(), Offset::Offset(offset))
            .and_then(|()| self.consumer.store_offsets(&offsets));
        if let Err(err) = stored {
            // The partition was revoked meanwhile: its next reader skips what is answered.
            tracing::debug!(error = %err, "the request's offset could not be stored");
        }
    }

    /// Reads the partition of `message` from `offset` next: to read an abandoned request
    /// again (nothing was committed for it, and the requests after it must not be committed
    /// first), or to skip requests answered before.
    fn seek(&self, message: &OwnedMessage, offset: i64) {
        // A zero timeout makes the seek asynchronous: nothing blocks here. When the
        // partition is no longer this consumer's, the seek fails and the new owner reads it.
        if let Err(err) = self.consumer.seek(
            message.topic(),
            message.partition(),
            Offset::Offset(offset),
            Duration::ZERO,
        ) {
            tracing::debug!(error = %err, "the request's partition is no longer read here");
        }
    }
}

/// The outcome of [`Worker::start`].
struct Attempted {
    result: DomainResult<ProcessStarted>,
    attempts: u32,
    since_first: Duration,
}

/// A change of the partitions this replica reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    Assigned(i32),
    Revoked(i32),
}

/// The consumer's context: the crate's (logs, OAuth token) plus a record of the partition
/// changes, which the worker applies between messages (a partition it starts to read is
/// taken over first).
struct PartitionWatch {
    inner: RtmContext,
    changes: Arc<Mutex<Vec<Change>>>,
}

impl ClientContext for PartitionWatch {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = RtmContext::ENABLE_REFRESH_OAUTH_TOKEN;

    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        self.inner.log(level, facility, message);
    }

    fn error(&self, error: DriverError, reason: &str) {
        self.inner.error(error, reason);
    }

    fn stats(&self, statistics: rdkafka::statistics::Statistics) {
        self.inner.stats(statistics);
    }

    fn generate_oauth_token(
        &self,
        config: Option<&str>,
    ) -> Result<OAuthToken, Box<dyn std::error::Error>> {
        self.inner.generate_oauth_token(config)
    }
}

impl ConsumerContext for PartitionWatch {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let (partitions, change): (_, fn(i32) -> Change) = match rebalance {
            Rebalance::Assign(partitions) => (partitions, Change::Assigned),
            Rebalance::Revoke(partitions) => (partitions, Change::Revoked),
            Rebalance::Error(err) => {
                tracing::warn!(error = %err, "start-by-name rebalance failed");
                return;
            }
        };
        let mut changes = self.changes.lock().unwrap_or_else(PoisonError::into_inner);
        let partitions: Vec<i32> = partitions.elements().iter().map(|e| e.partition()).collect();
        tracing::info!(
            ?partitions,
            assigned = matches!(rebalance, Rebalance::Assign(_)),
            "start-by-name partitions change hands"
        );
        changes.extend(partitions.into_iter().map(change));
    }
}
