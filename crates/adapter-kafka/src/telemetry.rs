//! The Kafka adapter's metrics, through the `metrics` facade: events published and failed
//! per topic, and each consumer's lag from librdkafka's statistics. Names in one place;
//! docs/OPERATIONS.md lists them.

use rdkafka::statistics::Statistics;

/// Counter: events the brokers acknowledged, by [`TOPIC`].
pub const EVENTS_PUBLISHED_TOTAL: &str = "rtm_kafka_events_published_total";
/// Counter: events not acknowledged (refused, or no answer in time), by [`TOPIC`]; the
/// relay delivers them again.
pub const EVENTS_FAILED_TOTAL: &str = "rtm_kafka_events_failed_total";
/// Gauge: messages of the subscribed topics not yet read by [`CONSUMER`], by [`TOPIC`]
/// (librdkafka's `consumer_lag`, summed over the partitions this replica reads).
pub const CONSUMER_LAG: &str = "rtm_kafka_consumer_lag";

/// Label: the topic.
pub const TOPIC: &str = "topic";
/// Label: which of rtm's consumers.
pub const CONSUMER: &str = "consumer";

/// [`CONSUMER`] of the active-policy listener.
pub(crate) const POLICY_LISTENER: &str = "policy-listener";
/// [`CONSUMER`] of the start-by-name consumer.
pub(crate) const START_BY_NAME: &str = "start-by-name";

/// How often librdkafka hands the consumers their statistics (milliseconds).
pub(crate) const STATISTICS_INTERVAL_MS: &str = "15000";

pub(crate) fn published(topic: &str, count: u64) {
    if count > 0 {
        metrics::counter!(EVENTS_PUBLISHED_TOTAL, TOPIC => topic.to_owned()).increment(count);
    }
}

pub(crate) fn failed(topic: &str, count: u64) {
    if count > 0 {
        metrics::counter!(EVENTS_FAILED_TOTAL, TOPIC => topic.to_owned()).increment(count);
    }
}

/// Records `consumer`'s lag per topic. librdkafka reports `-1` for a partition whose lag
/// it does not know yet (not assigned here, no committed offset): those count as nothing,
/// and its internal partition `-1` is skipped.
pub(crate) fn consumer_lag(consumer: &'static str, statistics: &Statistics) {
    for (name, topic) in &statistics.topics {
        let lag = known_lag(
            topic
                .partitions
                .values()
                .map(|partition| (partition.partition, partition.consumer_lag)),
        );
        #[allow(clippy::cast_precision_loss, reason = "a gauge value; exact below 2^53")]
        metrics::gauge!(CONSUMER_LAG, CONSUMER => consumer, TOPIC => name.clone()).set(lag as f64);
    }
}

/// The lag of a topic from its `(partition, consumer_lag)` pairs: librdkafka's internal
/// partition `-1` and unknown lags (`-1`) count as nothing.
fn known_lag(partitions: impl Iterator<Item = (i32, i64)>) -> i64 {
    partitions.filter(|(partition, lag)| *partition >= 0 && *lag >= 0).map(|(_, lag)| lag).sum()
}

/// Describes the adapter's metrics (their `# HELP` lines) to the installed recorder.
pub fn describe() {
    metrics::describe_counter!(
        EVENTS_PUBLISHED_TOTAL,
        "Events the Kafka brokers acknowledged, by topic"
    );
    metrics::describe_counter!(
        EVENTS_FAILED_TOTAL,
        "Events Kafka did not acknowledge (delivered again by the relay), by topic"
    );
    metrics::describe_gauge!(
        CONSUMER_LAG,
        "Messages not yet read by an rtm consumer, by consumer and topic"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lag_of_a_topic_sums_the_partitions_whose_lag_is_known() {
        assert_eq!(known_lag([(0, 5), (1, 0), (2, 7)].into_iter()), 12);
        assert_eq!(known_lag([(0, 5), (1, -1), (-1, 40)].into_iter()), 5, "unknown and internal");
        assert_eq!(known_lag(std::iter::empty()), 0);
    }
}
