//! Delivery of recorded events: from the outbox to the event publisher, in order, at least once.

use crate::DomainResult;
use crate::model::OutboxBacklog;
use crate::ports::Ports;
use crate::telemetry;

/// Moves events from the outbox to the [`EventPublisher`](crate::ports::EventPublisher).
#[derive(Debug, Clone)]
pub struct OutboxRelay {
    ports: Ports,
}

impl OutboxRelay {
    /// A relay over `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// Delivers up to `limit` pending events and marks them sent; returns how many.
    /// Events are marked only after the publisher accepted them, so a failure means they
    /// are delivered again by a later call.
    ///
    /// # Errors
    ///
    /// `service_unavailable` when the outbox or the publisher cannot be reached.
    pub async fn deliver_pending(&self, limit: usize) -> DomainResult<usize> {
        let records = self.ports.app_data.pending_events(limit).await?;
        if records.is_empty() {
            return Ok(0);
        }
        self.ports.events.publish(&records).await?;
        let sequences: Vec<u64> = records.iter().map(|record| record.sequence).collect();
        self.ports.app_data.mark_events_sent(&sequences).await?;
        Ok(records.len())
    }

    /// Reads what the outbox holds undelivered and records it in the outbox metrics
    /// (`rtm_outbox_pending_events`, `rtm_outbox_oldest_pending_age_seconds`). Called on a
    /// period by the server, never per scrape, so slow scrapes cannot pile reads up.
    ///
    /// # Errors
    ///
    /// `service_unavailable` when the outbox cannot be read (the gauges keep their values).
    pub async fn record_backlog(&self) -> DomainResult<OutboxBacklog> {
        let backlog = self.ports.app_data.backlog().await?;
        telemetry::outbox_backlog(&backlog, time::OffsetDateTime::now_utc());
        Ok(backlog)
    }
}
