//! Writes replies, and keeps a request from being answered twice when its partition changes
//! hands or a write's outcome is unknown.
//!
//! Replies to requests of partition *n* go to the reply topic's partition *n* (modulo the
//! reply topic's partition count), written one at a time in request order by the one
//! replica that reads partition *n*, through an idempotent producer. So the last reply on
//! that reply partition names the last request of partition *n* that was answered, and
//! every request before it was answered too. Offsets are committed after the replies are
//! acknowledged, so a replica that dies may leave answered requests uncommitted: the next
//! owner of the partition reads the last reply first and skips, without a second reply,
//! the requests it names ([`Replier::take_over`]). A reply whose write failed with an
//! unknown outcome is looked for the same way before it is written again.
//!
//! Kafka transactions would make the reply and the commit one step, but the local broker
//! (tansu 0.6) does not serve `EndTxn`, so they cannot be committed there.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::{KafkaError as DriverError, RDKafkaErrorCode};
use rdkafka::message::{Header as KafkaHeader, Headers as _, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;

use crate::context::RtmContext;
use crate::error::KafkaError;
use crate::start_by_name::codec::{self, Header};

/// Pause after the first failed attempt; each further pause doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// Longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_secs(5);
/// Offsets read back from the end of a reply partition at first when looking for its last
/// reply; the window grows fourfold until a reply of the partition is found.
const FIRST_WINDOW: i64 = 16;

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
    /// The broker acknowledged the reply (now, or an attempt before whose outcome was
    /// unknown); the request's offset may be committed.
    Written,
    /// The replica is stopping before the reply could be written; whoever reads the
    /// partition next answers the request.
    Abandoned,
}

/// Writes replies through an idempotent producer.
pub(crate) struct Replier {
    producer: FutureProducer<RtmContext>,
    base: ClientConfig,
    context: RtmContext,
    group_id: String,
    request_topic: String,
    reply_topic: String,
    timeout: Duration,
    /// Partitions of the reply topic, learnt on first use.
    reply_partitions: Option<i32>,
}

impl Replier {
    /// A replier whose producer (and reply reader) use `base` (bootstrap servers, security)
    /// and `context`; `timeout` bounds each write and each read.
    ///
    /// # Errors
    ///
    /// [`KafkaError::Client`] when librdkafka refuses the producer's configuration.
    pub(crate) fn new(
        base: ClientConfig,
        context: RtmContext,
        group_id: String,
        request_topic: String,
        reply_topic: String,
        timeout: Duration,
    ) -> Result<Self, KafkaError> {
        let timeout_ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX).max(1);
        let mut config = base.clone();
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", timeout_ms.to_string())
            .set("request.timeout.ms", timeout_ms.min(30_000).to_string())
            .set("linger.ms", "0");
        let producer = config.create_with_context(context.clone()).map_err(KafkaError::Client)?;
        Ok(Self {
            producer,
            base,
            context,
            group_id,
            request_topic,
            reply_topic,
            timeout,
            reply_partitions: None,
        })
    }

    /// Takes over `partition`, whose first request to read here is at `next`: returns the
    /// offset to read from, after the requests the previous owner answered without
    /// committing. `None` when `cancel` fires first.
    pub(crate) async fn take_over(
        &mut self,
        partition: i32,
        next: i64,
        cancel: &CancellationToken,
    ) -> Option<i64> {
        let mut failures = 0;
        loop {
            match self.last_answered(partition).await {
                Ok(Some(answered)) if answered >= next => {
                    tracing::info!(
                        kafka.partition = partition,
                        from = next,
                        to = answered,
                        "requests answered by the partition's previous reader are committed without a second reply"
                    );
                    return Some(answered + 1);
                }
                Ok(_) => return Some(next),
                Err(reason) => {
                    failures += 1;
                    tracing::warn!(
                        kafka.partition = partition,
                        failures,
                        reason,
                        "could not read the last reply of the partition; trying again"
                    );
                }
            }
            if !pause(failures, cancel).await {
                return None;
            }
        }
    }

    /// Writes `reply` to the request at `position`, trying again with backoff while the
    /// brokers fail; before each new try it looks whether the failed one was written after
    /// all. Once `cancel` fires, the attempt under way is the last.
    pub(crate) async fn deliver(
        &mut self,
        reply: &Reply,
        position: Position,
        cancel: &CancellationToken,
    ) -> Delivery {
        let mut failures: u32 = 0;
        loop {
            let outcome = if failures == 0 {
                self.write(reply, position).await
            } else {
                match self.last_answered(position.partition).await {
                    Ok(Some(answered)) if answered >= position.offset => Ok(()),
                    Ok(_) => self.write(reply, position).await,
                    Err(reason) => Err(reason),
                }
            };
            match outcome {
                Ok(()) => return Delivery::Written,
                Err(reason) => {
                    failures += 1;
                    tracing::warn!(
                        failures,
                        reason,
                        "the reply could not be written; trying again"
                    );
                }
            }
            if !pause(failures, cancel).await {
                return Delivery::Abandoned;
            }
        }
    }

    async fn write(&mut self, reply: &Reply, position: Position) -> Result<(), String> {
        let reply_partition = self.reply_partition(position.partition).await?;
        let id = codec::request_id(&self.request_topic, position.partition, position.offset);
        let mut headers = OwnedHeaders::new_with_capacity(reply.headers.len() + 1);
        for (key, value) in &reply.headers {
            headers = headers.insert(KafkaHeader { key, value: value.as_deref() });
        }
        headers = headers.insert(KafkaHeader { key: codec::REQUEST_ID_HEADER, value: Some(&id) });
        let mut record = FutureRecord::<[u8], [u8]>::to(&self.reply_topic)
            .partition(reply_partition)
            .payload(&reply.body)
            .headers(headers);
        if let Some(key) = &reply.key {
            record = record.key(key);
        }
        match self.producer.send(record, self.timeout).await {
            Ok(_) => Ok(()),
            Err((err, _)) => Err(err.to_string()),
        }
    }

    /// The reply partition for requests of `partition`.
    async fn reply_partition(&mut self, partition: i32) -> Result<i32, String> {
        let partitions = match self.reply_partitions {
            Some(partitions) => partitions,
            None => {
                let asking = self.producer.clone();
                let topic = self.reply_topic.clone();
                let timeout = self.timeout;
                let metadata =
                    blocking(move || asking.client().fetch_metadata(Some(&topic), timeout))
                        .await
                        .map_err(|err| err.to_string())?;
                let partitions = metadata
                    .topics()
                    .iter()
                    .find(|topic| topic.name() == self.reply_topic && topic.error().is_none())
                    .and_then(|topic| i32::try_from(topic.partitions().len()).ok())
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        format!("the reply topic `{}` does not exist", self.reply_topic)
                    })?;
                self.reply_partitions = Some(partitions);
                partitions
            }
        };
        Ok(partition.rem_euclid(partitions))
    }

    /// The offset of the last request of `partition` answered on its reply partition.
    async fn last_answered(&mut self, partition: i32) -> Result<Option<i64>, String> {
        let reply_partition = self.reply_partition(partition).await?;
        let mut config = self.base.clone();
        config
            .set("group.id", format!("{}-reply-check", self.group_id))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true");
        let scan = ReplyScan {
            config,
            context: self.context.clone(),
            request_topic: self.request_topic.clone(),
            reply_topic: self.reply_topic.clone(),
            reply_partition,
            request_partition: partition,
            timeout: self.timeout,
        };
        blocking(move || scan.run())
            .await
            .map_err(|err| format!("could not read the reply topic: {err}"))
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
                    if message.offset() + 1 >= end {
                        return Ok(last);
                    }
                }
                Some(Err(DriverError::PartitionEOF(_))) => return Ok(last),
                Some(Err(err)) => return Err(err),
                None => {}
            }
        }
    }
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
