//! In-memory `EventPublisher`: keeps the last delivered events and logs each one.
//!
//! In the embedded mode nothing else listens, so delivering means logging (at debug) and
//! keeping a bounded ring of the most recent records for inspection.

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use domain::model::OutboxRecord;
use domain::ports::{EventPublisher, PortResult};

use crate::failure::{FailureSwitch, failure_knob};

/// The last [`CAPACITY`](Self::CAPACITY) delivered records; passes `port_contracts::events`
/// like the Kafka adapter.
#[derive(Debug, Default)]
pub struct InMemoryEventPublisher {
    ring: Mutex<VecDeque<OutboxRecord>>,
    failure: FailureSwitch,
}

failure_knob!(InMemoryEventPublisher);

impl InMemoryEventPublisher {
    /// How many records are kept; older ones are dropped as new ones arrive.
    pub const CAPACITY: usize = 10_000;

    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// The kept records, oldest first, for assertions.
    pub fn published(&self) -> Vec<OutboxRecord> {
        crate::lock(&self.ring).iter().cloned().collect()
    }
}

#[async_trait]
impl EventPublisher for InMemoryEventPublisher {
    async fn publish(&self, records: &[OutboxRecord]) -> PortResult<()> {
        self.failure.check()?;
        let mut ring = crate::lock(&self.ring);
        for record in records {
            tracing::debug!(
                sequence = record.sequence,
                app.id = %record.event.application_id(),
                event = ?record.event,
                "event published"
            );
            if ring.len() == Self::CAPACITY {
                ring.pop_front();
            }
            ring.push_back(record.clone());
        }
        Ok(())
    }
}

/// Always reachable, unless the failure knob says this call fails.
#[async_trait]
impl domain::ports::HealthCheck for InMemoryEventPublisher {
    async fn ping(&self) -> PortResult<()> {
        self.failure.check()
    }
}

#[cfg(test)]
mod tests {
    use domain::model::{ApplicationId, DomainEvent};
    use time::OffsetDateTime;

    use super::*;

    #[tokio::test]
    async fn only_the_most_recent_records_are_kept() {
        let publisher = InMemoryEventPublisher::new();
        let application_id = ApplicationId::random();
        let total = InMemoryEventPublisher::CAPACITY as u64 + 5;
        let records: Vec<OutboxRecord> = (1..=total)
            .map(|sequence| OutboxRecord {
                sequence,
                event: DomainEvent::ActivePolicyUpdated { application_id },
                recorded_at: OffsetDateTime::now_utc(),
            })
            .collect();

        publisher.publish(&records).await.unwrap();

        let kept = publisher.published();
        assert_eq!(kept.len(), InMemoryEventPublisher::CAPACITY);
        assert_eq!(
            kept.first().map(|record| record.sequence),
            Some(6),
            "the five oldest are dropped"
        );
        assert_eq!(kept.last().map(|record| record.sequence), Some(total));
    }
}
