//! In-memory `RuntimeDataStore`: staged resources and the published build per build id.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use domain::model::{
    Build, BuildId, BuildResource, Page, PageRequest, ResourceDefinitionId, ResourceName,
    ResourceType,
};
use domain::ports::{PortError, PortResult, RuntimeDataStore};

use crate::failure::{FailureSwitch, failure_knob};

/// Builds and resources in maps; passes `port_contracts::runtime_data` like the MongoDB adapter.
#[derive(Debug, Default)]
pub struct InMemoryRuntimeDataStore {
    builds: Mutex<BTreeMap<BuildId, StoredBuild>>,
    failure: FailureSwitch,
}

failure_knob!(InMemoryRuntimeDataStore);

/// What is kept of one build id: its resources, and the build once published. Readers look
/// only at entries whose `published` is set.
#[derive(Debug, Default)]
struct StoredBuild {
    published: Option<Build>,
    resources: BTreeMap<(ResourceType, ResourceDefinitionId), BuildResource>,
}

impl InMemoryRuntimeDataStore {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every build id with anything stored, published or only staged, for assertions.
    pub fn stored_build_ids(&self) -> Vec<BuildId> {
        crate::lock(&self.builds).keys().copied().collect()
    }

    fn builds(&self) -> PortResult<MutexGuard<'_, BTreeMap<BuildId, StoredBuild>>> {
        self.failure.check()?;
        Ok(crate::lock(&self.builds))
    }
}

/// The resources of a published build; `None` while it is only staged.
fn published(builds: &BTreeMap<BuildId, StoredBuild>, build_id: BuildId) -> Option<&StoredBuild> {
    builds.get(&build_id).filter(|stored| stored.published.is_some())
}

#[async_trait]
impl RuntimeDataStore for InMemoryRuntimeDataStore {
    async fn stage_resources(
        &self,
        build_id: BuildId,
        resources: &[BuildResource],
    ) -> PortResult<()> {
        let mut builds = self.builds()?;
        let stored = builds.entry(build_id).or_default();
        if stored.published.is_some() {
            return Err(PortError::Conflict(format!(
                "build {build_id} is published and cannot change"
            )));
        }
        for resource in resources {
            let key = (resource.entry.resource_type.clone(), resource.entry.definition_id.clone());
            stored.resources.insert(key, resource.clone());
        }
        Ok(())
    }

    async fn publish_build(&self, build: &Build) -> PortResult<()> {
        let mut builds = self.builds()?;
        let stored = builds.entry(build.id()).or_default();
        match &stored.published {
            None => {
                stored.published = Some(build.clone());
                Ok(())
            }
            Some(existing) if existing.header.checksum == build.header.checksum => Ok(()),
            Some(existing) => Err(PortError::Conflict(format!(
                "build {} is published with checksum {}",
                build.id(),
                existing.header.checksum
            ))),
        }
    }

    async fn discard_build(&self, build_id: BuildId) -> PortResult<()> {
        self.builds()?.remove(&build_id);
        Ok(())
    }

    async fn find_build(&self, build_id: BuildId) -> PortResult<Option<Build>> {
        let builds = self.builds()?;
        Ok(published(&builds, build_id).and_then(|stored| stored.published.clone()))
    }

    async fn find_resource(
        &self,
        build_id: BuildId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
    ) -> PortResult<Option<BuildResource>> {
        let key = (resource_type.clone(), definition_id.clone());
        let builds = self.builds()?;
        Ok(published(&builds, build_id).and_then(|stored| stored.resources.get(&key).cloned()))
    }

    async fn find_resource_by_name(
        &self,
        build_id: BuildId,
        resource_type: &ResourceType,
        name: &ResourceName,
    ) -> PortResult<Option<BuildResource>> {
        let builds = self.builds()?;
        Ok(published(&builds, build_id).and_then(|stored| {
            stored
                .resources
                .values()
                .find(|resource| {
                    resource.entry.resource_type == *resource_type && resource.entry.name == *name
                })
                .cloned()
        }))
    }

    async fn list_resources(
        &self,
        build_id: BuildId,
        resource_type: &ResourceType,
        page: PageRequest,
    ) -> PortResult<Page<BuildResource>> {
        let builds = self.builds()?;
        let mut resources: Vec<BuildResource> = published(&builds, build_id)
            .map(|stored| {
                stored
                    .resources
                    .values()
                    .filter(|resource| resource.entry.resource_type == *resource_type)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        resources.sort_by(|a, b| a.entry.name.cmp(&b.entry.name));
        Ok(page.slice(resources))
    }
}

/// Always reachable, unless the failure knob says this call fails.
#[async_trait]
impl domain::ports::HealthCheck for InMemoryRuntimeDataStore {
    async fn ping(&self) -> PortResult<()> {
        self.failure.check()
    }
}
