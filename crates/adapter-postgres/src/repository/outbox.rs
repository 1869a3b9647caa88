//! `Outbox` on `outbox_events`: reads go through the relay leadership, marks through the pool.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use diesel::dsl::{now, sql};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::model::{DomainEvent, OutboxBacklog, OutboxRecord};
use domain::ports::{Outbox, PortResult};
use time::OffsetDateTime;

use crate::error::PgError;
use crate::repository::{PgAppDataRepository, record_events};
use crate::schema::outbox_events;

/// How often a repository purges sent events.
const PURGE_INTERVAL: Duration = Duration::from_secs(10 * 60);

#[async_trait]
impl Outbox for PgAppDataRepository {
    /// Only the replica that holds the relay leadership gets events; the others get none.
    #[tracing::instrument(name = "pg.pending_events", skip_all, fields(limit = limit))]
    async fn pending_events(&self, limit: usize) -> PortResult<Vec<OutboxRecord>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Ok(self.relay.pending_events(limit).await?)
    }

    #[tracing::instrument(name = "pg.mark_events_sent", skip_all, fields(count = sequences.len()))]
    async fn mark_events_sent(&self, sequences: &[u64]) -> PortResult<()> {
        // A sequence beyond i64 was never handed out: ignored like any unknown one.
        let sequences: Vec<i64> =
            sequences.iter().filter_map(|sequence| i64::try_from(*sequence).ok()).collect();
        let mut connection = self.connection().await?;
        diesel::update(
            outbox_events::table
                .filter(outbox_events::sequence.eq_any(&sequences))
                .filter(outbox_events::sent_at.is_null()),
        )
        .set(outbox_events::sent_at.eq(now))
        .execute(&mut *connection)
        .await
        .map_err(PgError::from)?;
        if self.purge_due() {
            // Sent rows stay a day for whoever investigates a delivery, then go.
            let purged = diesel::delete(outbox_events::table.filter(
                outbox_events::sent_at.lt(sql::<Nullable<Timestamptz>>("now() - interval '1 day'")),
            ))
            .execute(&mut *connection)
            .await
            .map_err(PgError::from)?;
            tracing::debug!(purged, "purged outbox events sent over a day ago");
        }
        Ok(())
    }

    #[tracing::instrument(name = "pg.record_events", skip_all, fields(count = events.len()))]
    async fn record_events(&self, events: &[DomainEvent]) -> PortResult<()> {
        let mut connection = self.connection().await?;
        connection.transaction(async |connection| record_events(connection, events).await).await?;
        Ok(())
    }

    /// One aggregate over the partial index of pending rows, through the pool (any replica).
    #[tracing::instrument(name = "pg.outbox_backlog", skip_all)]
    async fn backlog(&self) -> PortResult<OutboxBacklog> {
        let mut connection = self.connection().await?;
        let (pending, oldest): (i64, Option<OffsetDateTime>) = outbox_events::table
            .filter(outbox_events::sent_at.is_null())
            .select((diesel::dsl::count_star(), diesel::dsl::min(outbox_events::recorded_at)))
            .get_result(&mut *connection)
            .await
            .map_err(PgError::from)?;
        Ok(OutboxBacklog {
            pending: u64::try_from(pending).unwrap_or_default(),
            oldest_recorded_at: oldest,
        })
    }
}

impl PgAppDataRepository {
    /// Whether this call should purge sent events; at most once per [`PURGE_INTERVAL`].
    fn purge_due(&self) -> bool {
        let mut last = self.last_purge.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = last.is_none_or(|at| at.elapsed() >= PURGE_INTERVAL);
        if due {
            *last = Some(Instant::now());
        }
        due
    }
}
