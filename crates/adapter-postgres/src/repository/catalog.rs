//! `BuildCatalog` on `build_headers`.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::model::{
    ApplicationId, ApplicationKind, BranchName, BuildHeader, BuildId, DomainEvent, Page,
    PageRequest, ScheduleMove,
};
use domain::ports::{BuildCatalog, PortResult};

use crate::error::{PgError, Violation};
use crate::repository::timers::move_schedule;
use crate::repository::{PgAppDataRepository, record_events};
use crate::rows::{BuildHeaderRow, parse_word};
use crate::schema::build_headers;

#[async_trait]
impl BuildCatalog for PgAppDataRepository {
    #[tracing::instrument(name = "pg.find_build_header", skip_all, fields(build.id = %id))]
    async fn find_build_header(&self, id: BuildId) -> PortResult<Option<BuildHeader>> {
        let mut connection = self.connection().await?;
        let row: Option<BuildHeaderRow> = build_headers::table
            .find(id.as_uuid())
            .select(BuildHeaderRow::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        Ok(row.map(BuildHeader::try_from).transpose()?)
    }

    #[tracing::instrument(name = "pg.list_build_headers", skip_all, fields(app.id = %application_id))]
    async fn list_build_headers(
        &self,
        application_id: ApplicationId,
        page: PageRequest,
    ) -> PortResult<Page<BuildHeader>> {
        let application = *application_id.as_uuid();
        let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        let mut connection = self.connection().await?;
        // One snapshot for the page and its total.
        let (total, rows) = connection
            .build_transaction()
            .read_only()
            .repeatable_read()
            .run(async |connection| {
                let total: i64 = build_headers::table
                    .filter(build_headers::application_id.eq(application))
                    .count()
                    .get_result(connection)
                    .await?;
                let rows: Vec<BuildHeaderRow> = build_headers::table
                    .filter(build_headers::application_id.eq(application))
                    .order((
                        build_headers::created_at.desc(),
                        build_headers::stored_at.desc(),
                        build_headers::id.desc(),
                    ))
                    .offset(offset)
                    .limit(i64::from(page.size()))
                    .select(BuildHeaderRow::as_select())
                    .load(connection)
                    .await?;
                Ok::<_, PgError>((total, rows))
            })
            .await?;
        let items =
            rows.into_iter().map(BuildHeader::try_from).collect::<Result<Vec<_>, PgError>>()?;
        Ok(Page { items, request: page, total: u64::try_from(total).unwrap_or_default() })
    }

    #[tracing::instrument(name = "pg.find_latest_build_on_branch", skip_all, fields(app.id = %application_id, branch = %branch))]
    async fn find_latest_build_on_branch(
        &self,
        application_id: ApplicationId,
        branch: &BranchName,
    ) -> PortResult<Option<BuildHeader>> {
        let mut connection = self.connection().await?;
        let row: Option<BuildHeaderRow> = build_headers::table
            .filter(build_headers::application_id.eq(application_id.as_uuid()))
            .filter(build_headers::branch.eq(branch.as_str()))
            .order((
                build_headers::created_at.desc(),
                build_headers::stored_at.desc(),
                build_headers::id.desc(),
            ))
            .select(BuildHeaderRow::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        Ok(row.map(BuildHeader::try_from).transpose()?)
    }

    #[tracing::instrument(name = "pg.find_application_kind", skip_all, fields(app.id = %application_id))]
    async fn find_application_kind(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Option<ApplicationKind>> {
        let mut connection = self.connection().await?;
        // The kind its newest build says, as the in-memory reference does.
        let kind: Option<String> = build_headers::table
            .filter(build_headers::application_id.eq(application_id.as_uuid()))
            .order((
                build_headers::created_at.desc(),
                build_headers::stored_at.desc(),
                build_headers::id.desc(),
            ))
            .select(build_headers::application_kind)
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        Ok(kind.as_deref().map(|kind| parse_word("build header", kind)).transpose()?)
    }

    #[tracing::instrument(name = "pg.delete_build_header", skip_all, fields(build.id = %id))]
    async fn delete_build_header(
        &self,
        id: BuildId,
        schedule: &ScheduleMove,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut connection = self.connection().await?;
        let deleted = connection
            .transaction(async |connection| {
                // The schedule's row first, as in every write that moves it: one lock order.
                move_schedule(connection, schedule).await?;
                // The foreign keys of policies and overrides refuse the delete of a build
                // they name (ON DELETE RESTRICT): no check-then-delete race. Its timers go
                // with it (ON DELETE CASCADE).
                let deleted = diesel::delete(build_headers::table.find(id.as_uuid()))
                    .execute(connection)
                    .await?;
                if deleted == 0 {
                    // Rolls the schedule's move back: nothing is written.
                    return Err(PgError::NoSuchRow);
                }
                record_events(connection, events).await?;
                Ok::<_, PgError>(true)
            })
            .await;
        match deleted {
            Err(PgError::NoSuchRow) => Ok(false),
            other => other.map_err(|err| {
                err.into_port(|violation| match violation {
                    Violation::ForeignKey(_) => {
                        Some(format!("build {id} is named by the active policy or an override"))
                    }
                    Violation::Unique(_) => None,
                })
            }),
        }
    }
}
