//! `ResourceRepository` of the in-memory repository.

use async_trait::async_trait;
use domain::design::model::{
    ResourceChange, ResourceStatus, ResourceUpdate, ResourceVersion, VersionManifestEntry,
};
use domain::design::ports::ResourceRepository;
use domain::model::{
    DomainEvent, Page, PageRequest, ResourceDefinitionId, ResourceName, ResourceType, VersionId,
};
use domain::ports::{PortError, PortResult};

use crate::app_data::{InMemoryAppDataRepository, State};

impl State {
    /// The resource versions a version links, in link order (type, then definition id).
    fn linked(&self, version_id: VersionId) -> impl Iterator<Item = &ResourceVersion> {
        self.links
            .iter()
            .filter(move |((linking, _, _), _)| *linking == version_id)
            .filter_map(|(_, resource_version_id)| self.resource_versions.get(resource_version_id))
    }

    fn linked_one(
        &self,
        version_id: VersionId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
    ) -> Option<&ResourceVersion> {
        self.links
            .get(&(version_id, resource_type.clone(), definition_id.clone()))
            .and_then(|resource_version_id| self.resource_versions.get(resource_version_id))
    }

    /// The unique key of a version's resources: one name per type, other than
    /// `definition_id`'s own.
    fn check_name_free(
        &self,
        version_id: VersionId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
        name: &ResourceName,
    ) -> PortResult<()> {
        let taken = self.linked(version_id).any(|other| {
            other.resource_type == *resource_type
                && other.definition_id != *definition_id
                && other.name == *name
        });
        if taken {
            return Err(PortError::Conflict(format!(
                "a {resource_type} resource named `{name}` exists in version {version_id}"
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl ResourceRepository for InMemoryAppDataRepository {
    async fn list_manifest(&self, version_id: VersionId) -> PortResult<Vec<VersionManifestEntry>> {
        let mut manifest: Vec<VersionManifestEntry> =
            self.state()?.linked(version_id).map(ResourceVersion::manifest_entry).collect();
        manifest.sort_by(|a, b| (&a.resource_type, &a.name).cmp(&(&b.resource_type, &b.name)));
        Ok(manifest)
    }

    async fn find_resource(
        &self,
        version_id: VersionId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
    ) -> PortResult<Option<ResourceVersion>> {
        Ok(self.state()?.linked_one(version_id, resource_type, definition_id).cloned())
    }

    async fn list_resource_contents(
        &self,
        version_id: VersionId,
        page: PageRequest,
    ) -> PortResult<Page<ResourceVersion>> {
        // The links are ordered by (version, type, definition id) already.
        let resources: Vec<ResourceVersion> = self.state()?.linked(version_id).cloned().collect();
        Ok(page.slice(resources))
    }

    async fn create_resource(
        &self,
        version_id: VersionId,
        resource: &ResourceVersion,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let mut state = self.state()?;
        state.require_wip(version_id)?;
        let link = (version_id, resource.resource_type.clone(), resource.definition_id.clone());
        if state.links.contains_key(&link) {
            return Err(PortError::Conflict(format!(
                "{} resource {} exists in version {version_id}",
                resource.resource_type, resource.definition_id
            )));
        }
        state.check_name_free(
            version_id,
            &resource.resource_type,
            &resource.definition_id,
            &resource.name,
        )?;
        if state.resource_versions.contains_key(&resource.id) {
            return Err(PortError::Conflict(format!("resource version {} exists", resource.id)));
        }
        state.resource_versions.insert(resource.id.clone(), resource.clone());
        state.links.insert(link, resource.id.clone());
        state.record(events);
        Ok(())
    }

    async fn update_resource(
        &self,
        version_id: VersionId,
        change: &ResourceChange,
        events: &[DomainEvent],
    ) -> PortResult<ResourceUpdate> {
        let mut state = self.state()?;
        state.require_wip(version_id)?;
        let Some(current) =
            state.linked_one(version_id, &change.resource_type, &change.definition_id).cloned()
        else {
            return Ok(ResourceUpdate::Missing);
        };
        if let Some(expected) = &change.expected_etag
            && *expected != current.etag()
        {
            return Ok(ResourceUpdate::StaleEtag { current: current.etag() });
        }
        state.check_name_free(
            version_id,
            &change.resource_type,
            &change.definition_id,
            &change.name,
        )?;
        let updated = match current.status {
            ResourceStatus::Wip => ResourceVersion {
                name: change.name.clone(),
                content: change.content.clone(),
                revision: current.revision + 1,
                last_changed_at: change.at,
                ..current
            },
            ResourceStatus::Committed => {
                if state.resource_versions.contains_key(&change.copy_id) {
                    return Err(PortError::Conflict(format!(
                        "resource version {} exists",
                        change.copy_id
                    )));
                }
                ResourceVersion {
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
                }
            }
        };
        state.links.insert(
            (version_id, change.resource_type.clone(), change.definition_id.clone()),
            updated.id.clone(),
        );
        state.resource_versions.insert(updated.id.clone(), updated.clone());
        state.record(events);
        Ok(ResourceUpdate::Updated(updated))
    }

    async fn unlink_resource(
        &self,
        version_id: VersionId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut state = self.state()?;
        state.require_wip(version_id)?;
        let link = (version_id, resource_type.clone(), definition_id.clone());
        let Some(resource_version_id) = state.links.remove(&link) else {
            return Ok(false);
        };
        // A WIP resource version is linked from its WIP version only.
        if state
            .resource_versions
            .get(&resource_version_id)
            .is_some_and(|resource| resource.status == ResourceStatus::Wip)
        {
            state.resource_versions.remove(&resource_version_id);
        }
        state.record(events);
        Ok(true)
    }
}
