//! `BranchRepository` on `branches`. The primary key `(application_id, name)` keeps one
//! branch per name; a branch and its first WIP are stored in one transaction.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::design::model::{Branch, Version};
use domain::design::ports::BranchRepository;
use domain::model::{ApplicationId, BranchName, DomainEvent};
use domain::ports::PortResult;

use crate::error::{PgError, Violation};
use crate::repository::design_versions::{
    copy_version_contents, require_committed_parent, wip_conflict,
};
use crate::repository::{PgAppDataRepository, record_events};
use crate::rows::{BranchRow, VersionRow};
use crate::schema::{branches, versions};

#[async_trait]
impl BranchRepository for PgAppDataRepository {
    #[tracing::instrument(name = "pg.list_branches", skip_all, fields(app.id = %application_id))]
    async fn list_branches(&self, application_id: ApplicationId) -> PortResult<Vec<Branch>> {
        let mut connection = self.connection().await?;
        let rows: Vec<BranchRow> = branches::table
            .filter(branches::application_id.eq(application_id.as_uuid()))
            .order((branches::created_at.asc(), branches::name.asc()))
            .select(BranchRow::as_select())
            .load(&mut *connection)
            .await
            .map_err(PgError::from)?;
        Ok(rows.into_iter().map(Branch::try_from).collect::<Result<_, PgError>>()?)
    }

    #[tracing::instrument(name = "pg.find_branch", skip_all, fields(app.id = %application_id, branch = %name))]
    async fn find_branch(
        &self,
        application_id: ApplicationId,
        name: &BranchName,
    ) -> PortResult<Option<Branch>> {
        let mut connection = self.connection().await?;
        let row: Option<BranchRow> = branches::table
            .find((application_id.as_uuid(), name.as_str()))
            .select(BranchRow::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        Ok(row.map(Branch::try_from).transpose()?)
    }

    #[tracing::instrument(name = "pg.create_branch", skip_all, fields(app.id = %branch.application_id, branch = %branch.name))]
    async fn create_branch(
        &self,
        branch: &Branch,
        wip: &Version,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let branch_row = BranchRow::from(branch);
        let wip_row = VersionRow::new(wip)?;
        let mut connection = self.connection().await?;
        connection
            .transaction(async |connection| {
                let parent_id = require_committed_parent(connection, wip, None).await?;
                diesel::insert_into(branches::table)
                    .values(&branch_row)
                    .execute(connection)
                    .await?;
                // Should this insert fail (a taken version id), the branch goes with it.
                diesel::insert_into(versions::table).values(&wip_row).execute(connection).await?;
                copy_version_contents(connection, parent_id, *wip.id.as_uuid()).await?;
                record_events(connection, events).await
            })
            .await
            .map_err(|err: PgError| {
                err.into_port(|violation| match violation {
                    Violation::Unique("branches_pkey") => {
                        Some(format!("branch `{}` exists", branch.name))
                    }
                    // `created_from` names no version: no committed parent either.
                    Violation::ForeignKey("branches_created_from_fkey") => {
                        Some(format!("branch `{}` is created from an unknown version", branch.name))
                    }
                    other => wip_conflict(wip, other),
                })
            })
    }
}
