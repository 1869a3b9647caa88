//! `ResourceRepository` on `manifest_links` and `resource_versions`.
//!
//! The link's unique key `manifest_links_name_key (version_id, resource_type, name)` keeps
//! one name per type in a version, so racing creates (or a create racing a rename) cannot
//! both win; the link's composite foreign key to the resource version keeps its name equal
//! to the resource version's, cascading a rename in place. Compare-and-set on the etag runs
//! under the link's row lock, so two updates of one resource take turns and the second sees
//! the first's revision.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::design::model::{
    ResourceChange, ResourceStatus, ResourceUpdate, ResourceVersion, VersionManifestEntry,
};
use domain::design::ports::ResourceRepository;
use domain::model::{
    DomainEvent, Page, PageRequest, ResourceDefinitionId, ResourceName, ResourceType,
    ResourceVersionId, VersionId,
};
use domain::ports::{PortError, PortResult};

use crate::error::{PgError, Violation};
use crate::repository::design_versions::lock_wip;
use crate::repository::{PgAppDataRepository, record_events};
use crate::rows::{MANIFEST_COLUMNS, ManifestEntryRow, ManifestLinkRow, ResourceVersionRow};
use crate::schema::{manifest_links, resource_versions};

/// The port's conflicts of a resource write: a definition id or a name the type has in the
/// version, and a taken resource version id.
fn resource_conflict(
    version_id: VersionId,
    resource_type: &ResourceType,
    definition_id: &ResourceDefinitionId,
    name: &ResourceName,
    resource_version_id: &ResourceVersionId,
    err: PgError,
) -> PortError {
    err.into_port(|violation| match violation {
        Violation::Unique("manifest_links_pkey") => {
            Some(format!("{resource_type} resource {definition_id} exists in version {version_id}"))
        }
        Violation::Unique("manifest_links_name_key") => Some(format!(
            "a {resource_type} resource named `{name}` exists in version {version_id}"
        )),
        Violation::Unique("resource_versions_pkey" | "resource_versions_link_key") => {
            Some(format!("resource version {resource_version_id} exists"))
        }
        Violation::Unique(_) | Violation::ForeignKey(_) => None,
    })
}

#[async_trait]
impl ResourceRepository for PgAppDataRepository {
    #[tracing::instrument(name = "pg.list_manifest", skip_all, fields(version.id = %version_id))]
    async fn list_manifest(&self, version_id: VersionId) -> PortResult<Vec<VersionManifestEntry>> {
        let mut connection = self.connection().await?;
        // Type and name are in the "C" collation: byte order, as the domain orders them.
        let rows: Vec<ManifestEntryRow> = manifest_links::table
            .inner_join(resource_versions::table)
            .filter(manifest_links::version_id.eq(version_id.as_uuid()))
            .order((manifest_links::resource_type.asc(), manifest_links::name.asc()))
            .select(MANIFEST_COLUMNS)
            .load(&mut *connection)
            .await
            .map_err(PgError::from)?;
        Ok(rows.into_iter().map(VersionManifestEntry::try_from).collect::<Result<_, PgError>>()?)
    }

    #[tracing::instrument(name = "pg.find_resource", skip_all, fields(version.id = %version_id, resource.definition_id = %definition_id))]
    async fn find_resource(
        &self,
        version_id: VersionId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
    ) -> PortResult<Option<ResourceVersion>> {
        let mut connection = self.connection().await?;
        let row: Option<ResourceVersionRow> = manifest_links::table
            .find((version_id.as_uuid(), resource_type.as_str(), definition_id.as_str()))
            .inner_join(resource_versions::table)
            .select(ResourceVersionRow::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(PgError::from)?;
        Ok(row.map(ResourceVersion::try_from).transpose()?)
    }

    #[tracing::instrument(name = "pg.list_resource_contents", skip_all, fields(version.id = %version_id, page = page.page()))]
    async fn list_resource_contents(
        &self,
        version_id: VersionId,
        page: PageRequest,
    ) -> PortResult<Page<ResourceVersion>> {
        let version = *version_id.as_uuid();
        let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
        let mut connection = self.connection().await?;
        // One snapshot for the page and its total. The order is the links' primary key, so
        // a page walks its index and reads only the contents it returns.
        let (total, rows) = connection
            .build_transaction()
            .read_only()
            .repeatable_read()
            .run(async |connection| {
                let total: i64 = manifest_links::table
                    .filter(manifest_links::version_id.eq(version))
                    .count()
                    .get_result(connection)
                    .await?;
                let rows: Vec<ResourceVersionRow> = manifest_links::table
                    .inner_join(resource_versions::table)
                    .filter(manifest_links::version_id.eq(version))
                    .order((
                        manifest_links::resource_type.asc(),
                        manifest_links::definition_id.asc(),
                    ))
                    .offset(offset)
                    .limit(i64::from(page.size()))
                    .select(ResourceVersionRow::as_select())
                    .load(connection)
                    .await?;
                Ok::<_, PgError>((total, rows))
            })
            .await?;
        let items =
            rows.into_iter().map(ResourceVersion::try_from).collect::<Result<Vec<_>, PgError>>()?;
        Ok(Page { items, request: page, total: u64::try_from(total).unwrap_or_default() })
    }

    #[tracing::instrument(name = "pg.create_resource", skip_all, fields(version.id = %version_id, resource.id = %resource.id))]
    async fn create_resource(
        &self,
        version_id: VersionId,
        resource: &ResourceVersion,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let row = ResourceVersionRow::from(resource);
        let link = ManifestLinkRow::new(version_id, resource);
        let mut connection = self.connection().await?;
        connection
            .transaction(async |connection| {
                lock_wip(connection, version_id).await?;
                diesel::insert_into(resource_versions::table)
                    .values(&row)
                    .execute(connection)
                    .await?;
                // Of racing creates with one name, the second link insert waits on the
                // first's index entry and fails once it commits.
                diesel::insert_into(manifest_links::table)
                    .values(&link)
                    .execute(connection)
                    .await?;
                record_events(connection, events).await
            })
            .await
            .map_err(|err| {
                resource_conflict(
                    version_id,
                    &resource.resource_type,
                    &resource.definition_id,
                    &resource.name,
                    &resource.id,
                    err,
                )
            })
    }

    #[tracing::instrument(name = "pg.update_resource", skip_all, fields(version.id = %version_id, resource.definition_id = %change.definition_id))]
    async fn update_resource(
        &self,
        version_id: VersionId,
        change: &ResourceChange,
        events: &[DomainEvent],
    ) -> PortResult<ResourceUpdate> {
        let version = *version_id.as_uuid();
        let link_key = (version, change.resource_type.as_str(), change.definition_id.as_str());
        let mut connection = self.connection().await?;
        connection
            .transaction(async |connection| {
                lock_wip(connection, version_id).await?;
                // The link's row lock serialises changes of this resource in this version.
                let linked: Option<String> = manifest_links::table
                    .find(link_key)
                    .select(manifest_links::resource_version_id)
                    .for_update()
                    .first(connection)
                    .await
                    .optional()?;
                let Some(linked) = linked else {
                    return Ok(ResourceUpdate::Missing);
                };
                // Read after the lock, in a statement of its own: it sees the latest change.
                let current: ResourceVersion = resource_versions::table
                    .find(&linked)
                    .select(ResourceVersionRow::as_select())
                    .first(connection)
                    .await?
                    .try_into()?;
                if let Some(expected) = &change.expected_etag
                    && *expected != current.etag()
                {
                    return Ok(ResourceUpdate::StaleEtag { current: current.etag() });
                }
                let updated: ResourceVersionRow = match current.status {
                    // In place; a new name cascades to the link, where the unique key
                    // refuses a name the type has.
                    ResourceStatus::Wip => {
                        diesel::update(resource_versions::table.find(&linked))
                            .set((
                                resource_versions::name.eq(change.name.as_str()),
                                resource_versions::content.eq(change.content.as_str()),
                                resource_versions::revision.eq(resource_versions::revision + 1),
                                resource_versions::last_changed_at.eq(change.at),
                            ))
                            .returning(ResourceVersionRow::as_returning())
                            .get_result(connection)
                            .await?
                    }
                    // Copy on write: the committed resource version stays as other
                    // versions link it; this version links the copy.
                    ResourceStatus::Committed => {
                        let copy = ResourceVersion {
                            id: change.copy_id.clone(),
                            definition_id: change.definition_id.clone(),
                            resource_type: change.resource_type.clone(),
                            name: change.name.clone(),
                            content: change.content.clone(),
                            status: ResourceStatus::Wip,
                            revision: 1,
                            created_at: change.at,
                            last_changed_at: change.at,
                            committed_at: None,
                        };
                        let copied = diesel::insert_into(resource_versions::table)
                            .values(ResourceVersionRow::from(&copy))
                            .returning(ResourceVersionRow::as_returning())
                            .get_result(connection)
                            .await?;
                        diesel::update(manifest_links::table.find(link_key))
                            .set((
                                manifest_links::resource_version_id.eq(copy.id.as_str()),
                                manifest_links::name.eq(copy.name.as_str()),
                            ))
                            .execute(connection)
                            .await?;
                        copied
                    }
                };
                let updated = ResourceVersion::try_from(updated)?;
                record_events(connection, events).await?;
                Ok::<_, PgError>(ResourceUpdate::Updated(updated))
            })
            .await
            .map_err(|err| {
                resource_conflict(
                    version_id,
                    &change.resource_type,
                    &change.definition_id,
                    &change.name,
                    &change.copy_id,
                    err,
                )
            })
    }

    #[tracing::instrument(name = "pg.unlink_resource", skip_all, fields(version.id = %version_id, resource.definition_id = %definition_id))]
    async fn unlink_resource(
        &self,
        version_id: VersionId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let link_key = (*version_id.as_uuid(), resource_type.as_str(), definition_id.as_str());
        let mut connection = self.connection().await?;
        Ok(connection
            .transaction(async |connection| {
                lock_wip(connection, version_id).await?;
                let unlinked: Option<String> = diesel::delete(manifest_links::table.find(link_key))
                    .returning(manifest_links::resource_version_id)
                    .get_result(connection)
                    .await
                    .optional()?;
                let Some(unlinked) = unlinked else {
                    return Ok(false);
                };
                // A WIP resource version is linked from its WIP version only; a committed
                // one stays for the versions that link it.
                diesel::delete(
                    resource_versions::table
                        .find(&unlinked)
                        .filter(resource_versions::status.eq(ResourceStatus::Wip.as_str())),
                )
                .execute(connection)
                .await?;
                record_events(connection, events).await?;
                Ok::<_, PgError>(true)
            })
            .await?)
    }
}
