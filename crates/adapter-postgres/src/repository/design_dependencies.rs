//! `DependencyRepository` on `version_dependencies`: the primary key
//! `(version_id, library_id)` keeps one build per library; writes take the version's WIP
//! lock, so none lands in a version a commit froze.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::design::model::VersionDependency;
use domain::design::ports::DependencyRepository;
use domain::model::{ApplicationId, DomainEvent, VersionId};
use domain::ports::PortResult;

use crate::error::PgError;
use crate::repository::design_versions::lock_wip;
use crate::repository::{PgAppDataRepository, record_events};
use crate::rows::DependencyRow;
use crate::schema::{applications, version_dependencies};

#[async_trait]
impl DependencyRepository for PgAppDataRepository {
    #[tracing::instrument(name = "pg.list_dependencies", skip_all, fields(version.id = %version_id))]
    async fn list_dependencies(&self, version_id: VersionId) -> PortResult<Vec<VersionDependency>> {
        let mut connection = self.connection().await?;
        // uuid order is byte order, as `ApplicationId`'s.
        let rows: Vec<DependencyRow> = version_dependencies::table
            .filter(version_dependencies::version_id.eq(version_id.as_uuid()))
            .order(version_dependencies::library_id.asc())
            .select(DependencyRow::as_select())
            .load(&mut *connection)
            .await
            .map_err(PgError::from)?;
        Ok(rows.into_iter().map(VersionDependency::from).collect())
    }

    #[tracing::instrument(name = "pg.put_dependency", skip_all, fields(version.id = %version_id, library.id = %dependency.library_id))]
    async fn put_dependency(
        &self,
        version_id: VersionId,
        dependency: &VersionDependency,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let row = DependencyRow::new(version_id, dependency);
        let mut connection = self.connection().await?;
        connection
            .transaction(async |connection| {
                lock_wip(connection, version_id).await?;
                // The library's row, when it is designed here, is locked FOR SHARE: a delete
                // (which locks it FOR UPDATE, then looks for dependents) waits for this write
                // and sees the dependency, or went first and is seen here.
                let library: Option<Option<time::OffsetDateTime>> = applications::table
                    .find(dependency.library_id.as_uuid())
                    .select(applications::deleted_at)
                    .for_share()
                    .first(connection)
                    .await
                    .optional()?;
                if matches!(library, Some(Some(_))) {
                    return Err(PgError::Refused(format!(
                        "library {} is deleted",
                        dependency.library_id
                    )));
                }
                diesel::insert_into(version_dependencies::table)
                    .values(&row)
                    .on_conflict((
                        version_dependencies::version_id,
                        version_dependencies::library_id,
                    ))
                    .do_update()
                    .set(
                        version_dependencies::build_id.eq(excluded(version_dependencies::build_id)),
                    )
                    .execute(connection)
                    .await?;
                record_events(connection, events).await
            })
            .await?;
        Ok(())
    }

    #[tracing::instrument(name = "pg.delete_dependency", skip_all, fields(version.id = %version_id, library.id = %library_id))]
    async fn delete_dependency(
        &self,
        version_id: VersionId,
        library_id: ApplicationId,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut connection = self.connection().await?;
        Ok(connection
            .transaction(async |connection| {
                lock_wip(connection, version_id).await?;
                let deleted = diesel::delete(
                    version_dependencies::table.find((version_id.as_uuid(), library_id.as_uuid())),
                )
                .execute(connection)
                .await?;
                if deleted == 0 {
                    return Ok(false);
                }
                record_events(connection, events).await?;
                Ok::<_, PgError>(true)
            })
            .await?)
    }
}
