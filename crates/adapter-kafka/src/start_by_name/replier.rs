//! Replies and offset commits in one Kafka transaction, and the check that keeps a request
//! from being answered twice when its partition changes hands.
//!
//! One transactional producer per partition of the request topic, with the transactional
//! id `<group>-<request topic>-<partition>`; it writes its replies to the reply topic's
//! partition of the same number (modulo the reply topic's partition count), so replies to
//! one request partition keep their order and each reply partition has one writer.
//!
//! When a partition moves to another replica (a rebalance, or a replica that died), the new
//! owner's producer registers the same transactional id: the broker aborts the transaction
//! the old owner left open and fences the old producer, so a replica that only seemed dead
//! can write nothing more. Then the new owner reads the last reply on the partition's reply
//! partition: if it answers a request at or after the committed offset, the old owner wrote
//! it but died before its commit took effect (or the broker shows aborted records to
//! readers: tansu 0.6 sends no aborted-transaction list), and those requests are committed
//! without a second reply. The same check runs before trying a reply again after a failed
//! transaction.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer as _, ConsumerGroupMetadata};
use rdkafka::error::{KafkaError as DriverError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, Headers as _, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::context::RtmContext;
use crate::start_by_name::codec::{self, Header};

/// Pause after the first failed attempt; each further pause doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// Longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// How often a commit that failed with a retriable error is asked again before the
/// transaction is aborted and made anew.
const COMMIT_ATTEMPTS: u32 = 5;
/// Offsets read back from the end of a reply partition at first when looking for its last
/// reply; each reply takes two (the reply and its transaction's commit marker).
const FIRST_WINDOW: i64 = 32;

/// The answer to one request, ready to be sent.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    /// The request's key, so that a sender keying by correlation id finds it back.
    pub(crate) key: Option<Vec<u8>>,
    /// The request's headers, in their order; the request id is added after them.
    pub(crate) headers: Vec<Header>,
    /// The engine's answer or an error object.
    pub(crate) body: Vec<u8>,
}

/// Where a request sits: its partition and offset in the request topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) partition: i32,
    pub(crate) offset: i64,
}

/// What became of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// The reply is written (now, or by an earlier owner of the partition) and the
    /// request's offset committed.
    Committed,
    /// Neither happened: the partition belongs to another replica now (this one was
    /// fenced), or the replica is stopping. Whoever reads the partition next answers it.
    Abandoned,
}

/// The consumer's current group metadata (its generation changes with each rebalance).
pub(crate) type GroupMetadata<'a> = &'a (dyn Fn() -> Option<ConsumerGroupMetadata> + Send + Sync);

/// Sends replies with their offset commits, one transaction each.
pub(crate) struct Replier {
    base: ClientConfig,
    context: RtmContext,
    group_id: String,
    request_topic: String,
    reply_topic: String,
    timeout: Duration,
    producers: HashMap<i32, FutureProducer<RtmContext>>,
    /// Partitions of the reply topic, learnt when the first producer is made.
    reply_partitions: Option<i32>,
}

/// Why an attempt failed.
enum Failure {
    /// Nothing that cannot be tried again: the transaction was aborted (or its producer
    /// dropped, which aborts it when the next one registers).
    Retry(String),
    /// Another producer registered this partition's transactional id: the partition is
    /// another replica's now.
    Fenced(DriverError),
}

impl Replier {
    /// A replier whose producers share `base` (bootstrap servers, security) and `context`.
    pub(crate) fn new(
        base: ClientConfig,
        context: RtmContext,
        group_id: String,
        request_topic: String,
        reply_topic: String,
        timeout: Duration,
    ) -> Self {
        Self {
            base,
            context,
            group_id,
            request_topic,
            reply_topic,
            timeout,
            producers: HashMap::new(),
            reply_partitions: None,
        }
    }

    /// Drops the producer of a partition this replica no longer reads; if the partition
    /// comes back, a fresh producer (and a fresh epoch) serves it.
    pub(crate) fn forget(&mut self, partition: i32) {
        if let Some(producer) = self.producers.remove(&partition) {
            close(producer);
        }
    }

    /// Drops every producer (the consumer is going away).
    pub(crate) fn forget_all(&mut self) {
        for (_, producer) in self.producers.drain() {
            close(producer);
        }
    }

    /// Takes over `partition` whose first message to read here is `next`: registers its
    /// producer (fencing the previous owner and aborting its open transaction), then
    /// commits, without a reply, every request from `next` on that the previous owner
    /// answered already. Returns the offset to read from.
    pub(crate) async fn take_over(
        &mut self,
        partition: i32,
        next: i64,
        group: GroupMetadata<'_>,
        cancel: &CancellationToken,
    ) -> Option<i64> {
        let mut failures = 0;
        loop {
            match self.try_take_over(partition, next, group).await {
                Ok(from) => {
                    if from != next {
                        tracing::info!(
                            kafka.partition = partition,
                            answered_until = from - 1,
                            "requests answered by the partition's previous owner committed without a second reply"
                        );
                    }
                    return Some(from);
                }
                Err(Failure::Fenced(err)) => {
                    tracing::warn!(kafka.partition = partition, error = %err, "another replica took over the partition");
                    self.forget(partition);
                    return None;
                }
                Err(Failure::Retry(reason)) => {
                    failures += 1;
                    tracing::warn!(
                        kafka.partition = partition,
                        failures,
                        reason,
                        "could not take over the partition yet; trying again"
                    );
                }
            }
            if !pause(failures, cancel).await {
                return None;
            }
        }
    }

    async fn try_take_over(
        &mut self,
        partition: i32,
        next: i64,
        group: GroupMetadata<'_>,
    ) -> Result<i64, Failure> {
        let producer = self.producer(partition).await?;
        match self.last_answered(partition).await? {
            Some(answered) if answered >= next => {
                let position = Position { partition, offset: answered };
                self.transact(producer, None, position, group).await?;
                Ok(answered + 1)
            }
            _ => Ok(next),
        }
    }

    /// Writes `reply` and commits the offset after `position`, in one transaction, trying
    /// again with backoff while the brokers fail. Before trying again it looks whether the
    /// failed attempt's reply became visible after all, and then commits without writing it
    /// twice. Once `cancel` fires, the attempt under way is the last.
    pub(crate) async fn deliver(
        &mut self,
        reply: &Reply,
        position: Position,
        group: GroupMetadata<'_>,
        cancel: &CancellationToken,
    ) -> Delivery {
        let mut failures: u32 = 0;
        loop {
            let outcome = self.try_deliver(reply, position, group, failures > 0).await;
            match outcome {
                Ok(()) => return Delivery::Committed,
                Err(Failure::Fenced(err)) => {
                    tracing::warn!(
                        error = %err,
                        "another replica took over the partition; it answers this request"
                    );
                    self.forget(position.partition);
                    return Delivery::Abandoned;
                }
                Err(Failure::Retry(reason)) => {
                    failures += 1;
                    tracing::warn!(
                        failures,
                        reason,
                        "the reply could not be committed; trying again"
                    );
                }
            }
            if !pause(failures, cancel).await {
                return Delivery::Abandoned;
            }
        }
    }

    async fn try_deliver(
        &mut self,
        reply: &Reply,
        position: Position,
        group: GroupMetadata<'_>,
        after_failure: bool,
    ) -> Result<(), Failure> {
        let producer = self.producer(position.partition).await?;
        let written =
            after_failure && self.last_answered(position.partition).await? == Some(position.offset);
        let reply = if written { None } else { Some(reply) };
        self.transact(producer, reply, position, group).await
    }

    /// The producer of `partition`, created and registered with the transaction
    /// coordinator on first use (which aborts what a previous owner left open).
    async fn producer(&mut self, partition: i32) -> Result<FutureProducer<RtmContext>, Failure> {
        if let Some(producer) = self.producers.get(&partition) {
            return Ok(producer.clone());
        }
        let mut config = self.base.clone();
        let timeout_ms = u32::try_from(self.timeout.as_millis()).unwrap_or(u32::MAX);
        config
            .set("transactional.id", self.transactional_id(partition))
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", timeout_ms.to_string())
            .set("transaction.timeout.ms", timeout_ms.max(60_000).to_string())
            .set("request.timeout.ms", timeout_ms.min(30_000).to_string());
        let producer: FutureProducer<RtmContext> =
            config.create_with_context(self.context.clone()).map_err(classify)?;
        let timeout = self.timeout;
        let registering = producer.clone();
        blocking(move || registering.init_transactions(timeout)).await.map_err(classify)?;
        if self.reply_partitions.is_none() {
            self.reply_partitions = Some(self.count_reply_partitions(&producer).await?);
        }
        self.producers.insert(partition, producer.clone());
        Ok(producer)
    }

    async fn count_reply_partitions(
        &self,
        producer: &FutureProducer<RtmContext>,
    ) -> Result<i32, Failure> {
        let asking = producer.clone();
        let topic = self.reply_topic.clone();
        let timeout = self.timeout;
        let metadata = blocking(move || asking.client().fetch_metadata(Some(&topic), timeout))
            .await
            .map_err(classify)?;
        metadata
            .topics()
            .iter()
            .find(|topic| topic.name() == self.reply_topic && topic.error().is_none())
            .and_then(|topic| i32::try_from(topic.partitions().len()).ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| {
                Failure::Retry(format!("the reply topic `{}` does not exist", self.reply_topic))
            })
    }

    fn transactional_id(&self, partition: i32) -> String {
        format!("{}-{}-{}", self.group_id, self.request_topic, partition)
    }

    /// The reply partition for requests of `partition`.
    fn reply_partition(&self, partition: i32) -> i32 {
        partition.rem_euclid(self.reply_partitions.unwrap_or(1).max(1))
    }

    /// The offset of the last request of `partition` answered on its reply partition, as a
    /// `read_committed` reader sees that partition now.
    async fn last_answered(&self, partition: i32) -> Result<Option<i64>, Failure> {
        let mut config = self.base.clone();
        config
            .set("group.id", format!("{}-reply-check", self.group_id))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("isolation.level", "read_committed");
        let scan = ReplyScan {
            config,
            context: self.context.clone(),
            request_topic: self.request_topic.clone(),
            reply_topic: self.reply_topic.clone(),
            reply_partition: self.reply_partition(partition),
            request_partition: partition,
            timeout: self.timeout,
        };
        tokio::task::spawn_blocking(move || scan.run())
            .await
            .map_err(|err| Failure::Retry(err.to_string()))?
            .map_err(|err| Failure::Retry(format!("could not read the reply topic: {err}")))
    }

    /// Commits the offset after `position` with `reply` (or none, when it was written
    /// before) in one transaction; aborts it on failure.
    async fn transact(
        &mut self,
        producer: FutureProducer<RtmContext>,
        reply: Option<&Reply>,
        position: Position,
        group: GroupMetadata<'_>,
    ) -> Result<(), Failure> {
        let Some(group) = group() else {
            return Err(Failure::Retry("the consumer is not in its group".to_owned()));
        };
        let mut offsets = TopicPartitionList::new();
        offsets
            .add_partition_offset(
                &self.request_topic,
                position.partition,
                Offset::Offset(position.offset + 1),
            )
            .map_err(classify)?;
        let record = reply.map(|reply| {
            let mut headers = reply.headers.clone();
            let id = codec::request_id(&self.request_topic, position.partition, position.offset);
            headers.push((codec::REQUEST_ID_HEADER.to_owned(), Some(id.into_bytes())));
            OutgoingReply {
                topic: self.reply_topic.clone(),
                partition: self.reply_partition(position.partition),
                key: reply.key.clone(),
                headers,
                body: reply.body.clone(),
            }
        });
        let timeout = self.timeout;
        let transacting = producer.clone();
        let outcome =
            blocking(move || commit_one(&transacting, record.as_ref(), &offsets, &group, timeout))
                .await;
        let Err(err) = outcome else { return Ok(()) };
        let failure = classify(err);
        if let Failure::Retry(_) = &failure {
            // A transaction that cannot be aborted cleanly is left to the broker: a fresh
            // producer with the same id aborts it when it registers.
            let aborting = producer.clone();
            if blocking(move || aborting.abort_transaction(timeout)).await.is_err() {
                self.forget(position.partition);
            }
        } else {
            self.forget(position.partition);
        }
        Err(failure)
    }
}

/// A reply as the producer sends it.
struct OutgoingReply {
    topic: String,
    partition: i32,
    key: Option<Vec<u8>>,
    headers: Vec<Header>,
    body: Vec<u8>,
}

/// Begin, produce, add the offset, commit: librdkafka's blocking transaction calls.
fn commit_one(
    producer: &FutureProducer<RtmContext>,
    reply: Option<&OutgoingReply>,
    offsets: &TopicPartitionList,
    group: &ConsumerGroupMetadata,
    timeout: Duration,
) -> Result<(), DriverError> {
    producer.begin_transaction()?;
    if let Some(reply) = reply {
        let mut headers = OwnedHeaders::new_with_capacity(reply.headers.len());
        for (key, value) in &reply.headers {
            headers = headers.insert(KafkaHeader { key, value: value.as_deref() });
        }
        let mut record = FutureRecord::<[u8], [u8]>::to(&reply.topic)
            .partition(reply.partition)
            .payload(&reply.body)
            .headers(headers);
        if let Some(key) = &reply.key {
            record = record.key(key);
        }
        // The delivery report is not awaited: the commit below fails if the reply was not
        // written, which is all that matters here.
        drop(producer.send_result(record).map_err(|(err, _)| err)?);
    }
    producer.send_offsets_to_transaction(offsets, group, timeout)?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        match producer.commit_transaction(timeout) {
            Ok(()) => return Ok(()),
            Err(DriverError::Transaction(err))
                if err.is_retriable()
                    && !err.txn_requires_abort()
                    && attempts < COMMIT_ATTEMPTS =>
            {
                tracing::debug!(error = %err, attempts, "committing again");
            }
            Err(err) => return Err(err),
        }
    }
}

/// Reads a reply partition backwards, in growing windows, for the last reply to a request
/// of one request partition.
struct ReplyScan {
    config: ClientConfig,
    context: RtmContext,
    request_topic: String,
    reply_topic: String,
    reply_partition: i32,
    request_partition: i32,
    timeout: Duration,
}

impl ReplyScan {
    fn run(self) -> Result<Option<i64>, DriverError> {
        let consumer: BaseConsumer<RtmContext> =
            self.config.create_with_context(self.context.clone())?;
        let (low, high) =
            consumer.fetch_watermarks(&self.reply_topic, self.reply_partition, self.timeout)?;
        let mut window = FIRST_WINDOW;
        let mut end = high;
        while end > low {
            let start = (end - window).max(low);
            if let Some(answered) = self.last_in(&consumer, start, end)? {
                return Ok(Some(answered));
            }
            end = start;
            window = window.saturating_mul(4);
        }
        Ok(None)
    }

    /// The last answered request offset among the replies at `start..end`.
    fn last_in(
        &self,
        consumer: &BaseConsumer<RtmContext>,
        start: i64,
        end: i64,
    ) -> Result<Option<i64>, DriverError> {
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(
            &self.reply_topic,
            self.reply_partition,
            Offset::Offset(start),
        )?;
        consumer.assign(&assignment)?;
        let deadline = Instant::now() + self.timeout;
        let mut last = None;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(DriverError::MessageConsumption(RDKafkaErrorCode::OperationTimedOut));
            }
            match consumer.poll(remaining) {
                Some(Ok(message)) => {
                    if message.offset() >= end {
                        return Ok(last);
                    }
                    let headers: Vec<Header> = message
                        .headers()
                        .map(|headers| {
                            headers
                                .iter()
                                .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                                .collect()
                        })
                        .unwrap_or_default();
                    if let Some((topic, partition, offset)) = codec::request_id_of(&headers)
                        && topic == self.request_topic
                        && partition == self.request_partition
                    {
                        last = Some(last.map_or(offset, |seen: i64| seen.max(offset)));
                    }
                }
                Some(Err(DriverError::PartitionEOF(_))) => return Ok(last),
                Some(Err(err)) => return Err(err),
                None => {}
            }
        }
    }
}

fn classify(err: DriverError) -> Failure {
    let fenced = matches!(
        err.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::Fenced
                | RDKafkaErrorCode::ProducerFenced
                | RDKafkaErrorCode::InvalidProducerEpoch
                | RDKafkaErrorCode::TransactionCoordinatorFenced
        )
    );
    if fenced { Failure::Fenced(err) } else { Failure::Retry(err.to_string()) }
}

/// Waits before attempt `failures + 1`; `false` when `cancel` fired (before or during).
async fn pause(failures: u32, cancel: &CancellationToken) -> bool {
    if cancel.is_cancelled() {
        return false;
    }
    let pause = FIRST_PAUSE.saturating_mul(1 << failures.saturating_sub(1).min(8)).min(MAX_PAUSE);
    tokio::select! {
        () = cancel.cancelled() => false,
        () = tokio::time::sleep(pause) => true,
    }
}

/// Runs a blocking librdkafka call off the async threads.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, DriverError> + Send + 'static,
) -> Result<T, DriverError> {
    tokio::task::spawn_blocking(call).await.unwrap_or(Err(DriverError::Canceled))
}

/// Closing a producer flushes and talks to the brokers: off the async threads.
fn close(producer: FutureProducer<RtmContext>) {
    drop(tokio::task::spawn_blocking(move || drop(producer)));
}
