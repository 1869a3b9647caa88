//! `TimerRegistry` on `build_timers` and `timer_schedules`, and the compare-and-set of the
//! schedule that every write which may change it runs in its own transaction.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::model::{
    ApplicationId, BuildId, BuildTimer, DomainEvent, ScheduleMove, TimerId, TimerSchedule,
};
use domain::ports::{PortResult, TimerRegistry};

use crate::error::PgError;
use crate::repository::{PgAppDataRepository, record_events};
use crate::rows::{BuildTimerRow, TimerScheduleRow};
use crate::schema::{build_timers, timer_schedules};

/// Moves the schedule of `schedule.application_id` inside the caller's transaction, if it
/// is still at `schedule.expected_revision`; else [`PgError::Outdated`] (roll back).
///
/// One statement: the first move inserts the row (revision 0 means "no row"), later ones
/// update it only where the revision matches. PostgreSQL locks the row and re-checks the
/// condition on its latest version, so of two racing moves from one revision exactly one
/// changes a row; the row lock is held to commit, so the loser's change is ordered after.
pub(crate) async fn move_schedule(
    connection: &mut AsyncPgConnection,
    schedule: &ScheduleMove,
) -> Result<(), PgError> {
    // The upsert's own `filter` (its WHERE), not the query builder's.
    use diesel::query_dsl::methods::FilterDsl as _;
    let expected = i64::try_from(schedule.expected_revision).unwrap_or(i64::MAX);
    let moved = diesel::insert_into(timer_schedules::table)
        .values(TimerScheduleRow::from(schedule))
        .on_conflict(timer_schedules::application_id)
        .do_update()
        .set((
            timer_schedules::build_id.eq(excluded(timer_schedules::build_id)),
            timer_schedules::revision.eq(excluded(timer_schedules::revision)),
        ))
        .filter(timer_schedules::revision.eq(expected))
        .execute(connection)
        .await?;
    if moved == 0 {
        return Err(PgError::Outdated(format!(
            "the timer schedule of application {} is no longer at revision {}",
            schedule.application_id, schedule.expected_revision
        )));
    }
    Ok(())
}

/// Inserts the timers of a build inside the caller's transaction.
pub(crate) async fn insert_timers(
    connection: &mut AsyncPgConnection,
    build_id: BuildId,
    timers: &[BuildTimer],
) -> Result<(), PgError> {
    if timers.is_empty() {
        return Ok(());
    }
    let rows: Vec<BuildTimerRow> =
        timers.iter().map(|timer| BuildTimerRow::new(build_id, timer)).collect();
    diesel::insert_into(build_timers::table).values(&rows).execute(connection).await?;
    Ok(())
}

#[async_trait]
impl TimerRegistry for PgAppDataRepository {
    #[tracing::instrument(name = "pg.list_build_timers", skip_all, fields(build.id = %build_id))]
    async fn list_build_timers(&self, build_id: BuildId) -> PortResult<Vec<BuildTimer>> {
        let mut connection = self.connection().await?;
        let rows: Vec<BuildTimerRow> = build_timers::table
            .filter(build_timers::build_id.eq(build_id.as_uuid()))
            .order((build_timers::process_definition_id, build_timers::node_id))
            .select(BuildTimerRow::as_select())
            .load(&mut *connection)
            .await
            .map_err(PgError::from)?;
        Ok(rows.into_iter().map(BuildTimer::try_from).collect::<Result<_, PgError>>()?)
    }

    #[tracing::instrument(name = "pg.find_timer_schedule", skip_all, fields(app.id = %application_id))]
    async fn find_timer_schedule(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<TimerSchedule> {
        let mut connection = self.connection().await?;
        let row: Option<TimerScheduleRow> = timer_schedules::table
            .find(application_id.as_uuid())
            .select(TimerScheduleRow::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        Ok(match row {
            Some(row) => TimerSchedule::try_from(row)?,
            None => TimerSchedule::unscheduled(application_id),
        })
    }

    #[tracing::instrument(name = "pg.switch_timer", skip_all, fields(build.id = %build_id, timer.id = %timer_id))]
    async fn switch_timer(
        &self,
        build_id: BuildId,
        timer_id: &TimerId,
        activated: bool,
        schedule: &ScheduleMove,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut connection = self.connection().await?;
        let switched = connection
            .transaction(async |connection| {
                // The schedule's row first, as in every write that moves it: one lock order.
                move_schedule(connection, schedule).await?;
                let switched = diesel::update(
                    build_timers::table
                        .filter(build_timers::build_id.eq(build_id.as_uuid()))
                        .filter(build_timers::process_definition_id.eq(timer_id.process.as_str()))
                        .filter(build_timers::node_id.eq(timer_id.node_id.as_str())),
                )
                .set(build_timers::activated.eq(activated))
                .execute(connection)
                .await?;
                if switched == 0 {
                    // Rolls the schedule's move back: nothing is written.
                    return Err(PgError::NoSuchRow);
                }
                record_events(connection, events).await?;
                Ok::<_, PgError>(true)
            })
            .await;
        match switched {
            Err(PgError::NoSuchRow) => Ok(false),
            other => Ok(other?),
        }
    }
}
