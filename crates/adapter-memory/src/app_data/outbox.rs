//! `Outbox` of the in-memory repository.

use async_trait::async_trait;
use domain::model::{DomainEvent, OutboxBacklog, OutboxRecord};
use domain::ports::{Outbox, PortResult};

use crate::app_data::InMemoryAppDataRepository;

#[async_trait]
impl Outbox for InMemoryAppDataRepository {
    async fn pending_events(&self, limit: usize) -> PortResult<Vec<OutboxRecord>> {
        Ok(self.state()?.outbox.values().take(limit).cloned().collect())
    }

    async fn mark_events_sent(&self, sequences: &[u64]) -> PortResult<()> {
        let mut state = self.state()?;
        for sequence in sequences {
            state.outbox.remove(sequence);
        }
        Ok(())
    }

    async fn record_events(&self, events: &[DomainEvent]) -> PortResult<()> {
        self.state()?.record(events);
        Ok(())
    }

    async fn backlog(&self) -> PortResult<OutboxBacklog> {
        let state = self.state()?;
        Ok(OutboxBacklog {
            pending: u64::try_from(state.outbox.len()).unwrap_or(u64::MAX),
            // Sequence order is recording order: the first pending record is the oldest.
            oldest_recorded_at: state.outbox.values().next().map(|record| record.recorded_at),
        })
    }
}
