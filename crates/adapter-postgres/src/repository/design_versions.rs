//! `VersionRepository` on `versions`, and what every design-time write shares: the WIP
//! check under a row lock, the committed-parent check, and the set-based copy of a
//! version's links, dependencies and config defaults.
//!
//! The partial unique index `versions_one_wip_per_branch` keeps one WIP per branch, so of
//! racing starts the database lets one win. A commit is an update `WHERE status = 'WIP'`:
//! the row lock makes racing commits take turns, and the later ones find no WIP row.

use async_trait::async_trait;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::design::model::{ResourceStatus, Version, VersionStatus};
use domain::design::ports::VersionRepository;
use domain::model::{ApplicationId, BranchName, DomainEvent, Page, PageRequest, VersionId};
use domain::ports::PortResult;
use uuid::Uuid;

use crate::error::{PgError, Violation};
use crate::repository::{PgAppDataRepository, record_events};
use crate::rows::VersionRow;
use crate::schema::{
    manifest_links, resource_versions, version_config_defaults, version_dependencies, versions,
};

/// Takes a share lock on a WIP version's row, held until the transaction ends, and refuses
/// (the port's conflict) when there is no such version or it is committed.
///
/// Every write to a version's content calls this first: a commit (an update of the row)
/// then waits for the writes under way and sees what they stored, and a write that comes
/// after a commit sees it COMMITTED. Writes to one version's content do not block each
/// other.
pub(super) async fn lock_wip(
    connection: &mut AsyncPgConnection,
    version_id: VersionId,
) -> Result<(), PgError> {
    let status: Option<String> = versions::table
        .find(version_id.as_uuid())
        .select(versions::status)
        .for_share()
        .first(connection)
        .await
        .optional()?;
    match status.as_deref().map(parse_status).transpose()? {
        Some(VersionStatus::Wip) => Ok(()),
        Some(VersionStatus::Committed) => {
            Err(PgError::Refused(format!("version {version_id} is committed")))
        }
        None => Err(PgError::Refused(format!("version {version_id} does not exist"))),
    }
}

/// Refuses a new WIP unless its parent is a COMMITTED version of the same application (and
/// of `branch`, when given). A committed version never changes status and is never removed,
/// so checking before the insert cannot race.
pub(super) async fn require_committed_parent(
    connection: &mut AsyncPgConnection,
    wip: &Version,
    branch: Option<&BranchName>,
) -> Result<Uuid, PgError> {
    let refused =
        || PgError::Refused(format!("version {} has no committed parent to start from", wip.id));
    let parent_id = *wip.parent_id.ok_or_else(refused)?.as_uuid();
    let mut query = versions::table
        .find(parent_id)
        .filter(versions::status.eq(VersionStatus::Committed.as_str()))
        .filter(versions::application_id.eq(wip.application_id.as_uuid()))
        .into_boxed::<Pg>();
    if let Some(branch) = branch {
        query = query.filter(versions::branch.eq(branch.as_str().to_owned()));
    }
    let found: Option<Uuid> = query.select(versions::id).first(connection).await.optional()?;
    found.ok_or_else(refused)
}

/// Gives `to` the links, dependencies and config defaults of `from`, one `INSERT … SELECT`
/// each: the resource versions are shared, never copied, so a version of ten thousand
/// resources starts a WIP in three statements.
pub(super) async fn copy_version_contents(
    connection: &mut AsyncPgConnection,
    from: Uuid,
    to: Uuid,
) -> Result<(), PgError> {
    diesel::insert_into(manifest_links::table)
        .values(manifest_links::table.filter(manifest_links::version_id.eq(from)).select((
            to.into_sql::<sql_types::Uuid>(),
            manifest_links::resource_type,
            manifest_links::definition_id,
            manifest_links::name,
            manifest_links::resource_version_id,
        )))
        .into_columns((
            manifest_links::version_id,
            manifest_links::resource_type,
            manifest_links::definition_id,
            manifest_links::name,
            manifest_links::resource_version_id,
        ))
        .execute(connection)
        .await?;
    diesel::insert_into(version_dependencies::table)
        .values(
            version_dependencies::table.filter(version_dependencies::version_id.eq(from)).select((
                to.into_sql::<sql_types::Uuid>(),
                version_dependencies::library_id,
                version_dependencies::build_id,
            )),
        )
        .into_columns((
            version_dependencies::version_id,
            version_dependencies::library_id,
            version_dependencies::build_id,
        ))
        .execute(connection)
        .await?;
    diesel::insert_into(version_config_defaults::table)
        .values(
            version_config_defaults::table
                .filter(version_config_defaults::version_id.eq(from))
                .select((
                    to.into_sql::<sql_types::Uuid>(),
                    version_config_defaults::key,
                    version_config_defaults::param_type,
                    version_config_defaults::value,
                    version_config_defaults::description,
                )),
        )
        .into_columns((
            version_config_defaults::version_id,
            version_config_defaults::key,
            version_config_defaults::param_type,
            version_config_defaults::value,
            version_config_defaults::description,
        ))
        .execute(connection)
        .await?;
    Ok(())
}

/// The port's conflicts of storing a new WIP: a WIP on the branch already, and a taken id.
pub(super) fn wip_conflict(wip: &Version, violation: Violation<'_>) -> Option<String> {
    match violation {
        Violation::Unique("versions_one_wip_per_branch") => {
            Some(format!("branch `{}` has a WIP version", wip.branch))
        }
        Violation::Unique("versions_pkey") => Some(format!("version {} exists", wip.id)),
        Violation::Unique(_) | Violation::ForeignKey(_) => None,
    }
}

/// The stored status of a version that an update `WHERE status = …` did not find, to tell
/// a refusal (`Some`) from a version that does not exist (`None`).
async fn stored_status(
    connection: &mut AsyncPgConnection,
    id: Uuid,
) -> Result<Option<VersionStatus>, PgError> {
    let status: Option<String> =
        versions::table.find(id).select(versions::status).first(connection).await.optional()?;
    status.as_deref().map(parse_status).transpose()
}

fn parse_status(status: &str) -> Result<VersionStatus, PgError> {
    VersionStatus::parse(status).map_err(|err| PgError::invalid_row("version", err))
}

fn load_versions(rows: Vec<VersionRow>) -> Result<Vec<Version>, PgError> {
    rows.into_iter().map(Version::try_from).collect()
}

#[async_trait]
impl VersionRepository for PgAppDataRepository {
    #[tracing::instrument(name = "pg.find_version", skip_all, fields(version.id = %id))]
    async fn find_version(&self, id: VersionId) -> PortResult<Option<Version>> {
        let mut connection = self.connection().await?;
        let row: Option<VersionRow> = versions::table
            .find(id.as_uuid())
            .select(VersionRow::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        Ok(row.map(Version::try_from).transpose()?)
    }

    #[tracing::instrument(name = "pg.list_versions", skip_all, fields(app.id = %application_id))]
    async fn list_versions(
        &self,
        application_id: ApplicationId,
        branch: Option<&BranchName>,
        page: PageRequest,
    ) -> PortResult<Page<Version>> {
        let application = *application_id.as_uuid();
        let branch = branch.map(|branch| branch.as_str().to_owned());
        let filtered = || {
            let mut query =
                versions::table.filter(versions::application_id.eq(application)).into_boxed::<Pg>();
            if let Some(branch) = &branch {
                query = query.filter(versions::branch.eq(branch.clone()));
            }
            query
        };
        let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        let mut connection = self.connection().await?;
        // One snapshot for the page and its total.
        let (total, rows) = connection
            .build_transaction()
            .read_only()
            .repeatable_read()
            .run(async |connection| {
                let total: i64 = filtered().count().get_result(connection).await?;
                let rows: Vec<VersionRow> = filtered()
                    .order((versions::created_at.desc(), versions::id.desc()))
                    .offset(offset)
                    .limit(i64::from(page.size()))
                    .select(VersionRow::as_select())
                    .load(connection)
                    .await?;
                Ok::<_, PgError>((total, rows))
            })
            .await?;
        let items = load_versions(rows)?;
        Ok(Page { items, request: page, total: u64::try_from(total).unwrap_or_default() })
    }

    #[tracing::instrument(name = "pg.find_wip", skip_all, fields(app.id = %application_id, branch = %branch))]
    async fn find_wip(
        &self,
        application_id: ApplicationId,
        branch: &BranchName,
    ) -> PortResult<Option<Version>> {
        let mut connection = self.connection().await?;
        let row: Option<VersionRow> = versions::table
            .filter(versions::application_id.eq(application_id.as_uuid()))
            .filter(versions::branch.eq(branch.as_str()))
            .filter(versions::status.eq(VersionStatus::Wip.as_str()))
            .select(VersionRow::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        Ok(row.map(Version::try_from).transpose()?)
    }

    #[tracing::instrument(name = "pg.find_latest_committed", skip_all, fields(app.id = %application_id, branch = %branch))]
    async fn find_latest_committed(
        &self,
        application_id: ApplicationId,
        branch: &BranchName,
    ) -> PortResult<Option<Version>> {
        let mut connection = self.connection().await?;
        let row: Option<VersionRow> = versions::table
            .filter(versions::application_id.eq(application_id.as_uuid()))
            .filter(versions::branch.eq(branch.as_str()))
            .filter(versions::status.eq(VersionStatus::Committed.as_str()))
            .order((versions::created_at.desc(), versions::id.desc()))
            .select(VersionRow::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        Ok(row.map(Version::try_from).transpose()?)
    }

    #[tracing::instrument(name = "pg.start_wip", skip_all, fields(app.id = %wip.application_id, version.id = %wip.id))]
    async fn start_wip(&self, wip: &Version, events: &[DomainEvent]) -> PortResult<()> {
        let row = VersionRow::new(wip)?;
        let mut connection = self.connection().await?;
        connection
            .transaction(async |connection| {
                let parent_id =
                    require_committed_parent(connection, wip, Some(&wip.branch)).await?;
                // Of racing starts, the second insert waits on the index entry of the first
                // and fails once it commits.
                diesel::insert_into(versions::table).values(&row).execute(connection).await?;
                copy_version_contents(connection, parent_id, *wip.id.as_uuid()).await?;
                record_events(connection, events).await
            })
            .await
            .map_err(|err: PgError| err.into_port(|violation| wip_conflict(wip, violation)))
    }

    #[tracing::instrument(name = "pg.update_version", skip_all, fields(version.id = %version.id))]
    async fn update_version(&self, version: &Version, events: &[DomainEvent]) -> PortResult<bool> {
        let id = *version.id.as_uuid();
        let settings = VersionRow::settings(&version.settings)?;
        let mut connection = self.connection().await?;
        Ok(connection
            .transaction(async |connection| {
                // Only while the status is still the caller's: a commit that came first
                // leaves no row to update.
                let updated = diesel::update(
                    versions::table.find(id).filter(versions::status.eq(version.status.as_str())),
                )
                .set((
                    versions::settings.eq(&settings),
                    versions::commit_message
                        .eq(version.commit_message.as_ref().map(|message| message.as_str())),
                    versions::last_changed_at.eq(version.last_changed_at),
                ))
                .execute(connection)
                .await?;
                if updated == 0 {
                    return match stored_status(connection, id).await? {
                        Some(stored) => Err(PgError::Refused(format!(
                            "version {} is {stored}, not {}",
                            version.id, version.status
                        ))),
                        None => Ok(false),
                    };
                }
                record_events(connection, events).await?;
                Ok::<_, PgError>(true)
            })
            .await?)
    }

    #[tracing::instrument(name = "pg.commit_version", skip_all, fields(version.id = %committed.id))]
    async fn commit_version(
        &self,
        committed: &Version,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let id = *committed.id.as_uuid();
        let mut connection = self.connection().await?;
        Ok(connection
            .transaction(async |connection| {
                // The row lock makes racing commits take turns; each re-reads the row once
                // the one before has committed, and the later ones no longer find it WIP.
                let updated = diesel::update(
                    versions::table
                        .find(id)
                        .filter(versions::status.eq(VersionStatus::Wip.as_str())),
                )
                .set((
                    versions::status.eq(VersionStatus::Committed.as_str()),
                    versions::commit_message
                        .eq(committed.commit_message.as_ref().map(|message| message.as_str())),
                    versions::committed_by.eq(committed.committed_by.as_deref()),
                    versions::committed_at.eq(committed.committed_at),
                    versions::last_changed_at.eq(committed.last_changed_at),
                ))
                .execute(connection)
                .await?;
                if updated == 0 {
                    return match stored_status(connection, id).await? {
                        Some(_) => {
                            Err(PgError::Refused(format!("version {} is committed", committed.id)))
                        }
                        None => Ok(false),
                    };
                }
                // One statement for every WIP resource version the version links: a
                // committed one is shared and stays as it is.
                diesel::update(resource_versions::table)
                    .filter(
                        resource_versions::id.eq_any(
                            manifest_links::table
                                .filter(manifest_links::version_id.eq(id))
                                .select(manifest_links::resource_version_id),
                        ),
                    )
                    .filter(resource_versions::status.eq(ResourceStatus::Wip.as_str()))
                    .set((
                        resource_versions::status.eq(ResourceStatus::Committed.as_str()),
                        resource_versions::committed_at.eq(committed.committed_at),
                    ))
                    .execute(connection)
                    .await?;
                record_events(connection, events).await?;
                Ok::<_, PgError>(true)
            })
            .await?)
    }

    #[tracing::instrument(name = "pg.discard_wip", skip_all, fields(version.id = %id))]
    async fn discard_wip(&self, id: VersionId, events: &[DomainEvent]) -> PortResult<bool> {
        let version = *id.as_uuid();
        let mut connection = self.connection().await?;
        Ok(connection
            .transaction(async |connection| {
                // The exclusive lock waits for the writes to the version under way, and
                // makes a racing commit wait for the discard (and then find nothing).
                let status: Option<String> = versions::table
                    .find(version)
                    .select(versions::status)
                    .for_update()
                    .first(connection)
                    .await
                    .optional()?;
                match status.as_deref().map(parse_status).transpose()? {
                    None => return Ok(false),
                    Some(VersionStatus::Committed) => {
                        return Err(PgError::Refused(format!("version {id} is committed")));
                    }
                    Some(VersionStatus::Wip) => {}
                }
                // A WIP resource version is linked from its WIP version only; deleting it
                // cascades to its link.
                diesel::delete(
                    resource_versions::table
                        .filter(
                            resource_versions::id.eq_any(
                                manifest_links::table
                                    .filter(manifest_links::version_id.eq(version))
                                    .select(manifest_links::resource_version_id),
                            ),
                        )
                        .filter(resource_versions::status.eq(ResourceStatus::Wip.as_str())),
                )
                .execute(connection)
                .await?;
                // The other links, the dependencies and the config defaults go by cascade.
                diesel::delete(versions::table.find(version)).execute(connection).await?;
                record_events(connection, events).await?;
                Ok::<_, PgError>(true)
            })
            .await?)
    }
}
