//! `VersionRepository` of the in-memory repository, and the helpers every design-time
//! write shares: the WIP check and the copy of a version's links.

use async_trait::async_trait;
use domain::design::model::{Application, ResourceStatus, Version, VersionStatus};
use domain::design::ports::VersionRepository;
use domain::model::{ApplicationId, BranchName, DomainEvent, Page, PageRequest, VersionId};
use domain::ports::{PortError, PortResult};

use crate::app_data::{InMemoryAppDataRepository, State};

impl State {
    /// An application unless it is unknown or deleted.
    pub(super) fn live_application(&self, id: ApplicationId) -> Option<&Application> {
        self.applications.get(&id).filter(|application| application.deleted_at.is_none())
    }

    /// `Conflict` unless the version exists and is WIP: the check every write to a
    /// version's content makes in the same transaction as the write.
    pub(super) fn require_wip(&self, version_id: VersionId) -> PortResult<()> {
        match self.versions.get(&version_id) {
            Some(version) if version.status == VersionStatus::Wip => Ok(()),
            Some(_) => Err(PortError::Conflict(format!("version {version_id} is committed"))),
            None => Err(PortError::Conflict(format!("version {version_id} does not exist"))),
        }
    }

    /// The parent of a new WIP, which must be a COMMITTED version of the same application
    /// (and of `branch`, when given).
    pub(super) fn committed_parent(
        &self,
        wip: &Version,
        branch: Option<&BranchName>,
    ) -> PortResult<VersionId> {
        let parent = wip.parent_id.and_then(|id| self.versions.get(&id));
        match parent {
            Some(parent)
                if parent.status == VersionStatus::Committed
                    && parent.application_id == wip.application_id
                    && branch.is_none_or(|branch| parent.branch == *branch) =>
            {
                Ok(parent.id)
            }
            _ => Err(PortError::Conflict(format!(
                "version {} has no committed parent to start from",
                wip.id
            ))),
        }
    }

    /// Gives `to` the links, dependencies and config defaults of `from`: the resource
    /// versions are shared, never copied.
    pub(super) fn copy_version_contents(&mut self, from: VersionId, to: VersionId) {
        let links: Vec<_> = self
            .links
            .iter()
            .filter(|((version_id, _, _), _)| *version_id == from)
            .map(|((_, resource_type, definition_id), resource_version_id)| {
                ((to, resource_type.clone(), definition_id.clone()), resource_version_id.clone())
            })
            .collect();
        self.links.extend(links);
        let dependencies: Vec<_> = self
            .dependencies
            .iter()
            .filter(|((version_id, _), _)| *version_id == from)
            .map(|((_, library_id), build_id)| ((to, *library_id), *build_id))
            .collect();
        self.dependencies.extend(dependencies);
        let params: Vec<_> = self
            .config_defaults
            .iter()
            .filter(|((version_id, _), _)| *version_id == from)
            .map(|((_, key), param)| ((to, key.clone()), param.clone()))
            .collect();
        self.config_defaults.extend(params);
    }

    fn versions_of<'a>(
        &'a self,
        application_id: ApplicationId,
        branch: &'a BranchName,
    ) -> impl Iterator<Item = &'a Version> {
        self.versions.values().filter(move |version| {
            version.application_id == application_id && version.branch == *branch
        })
    }
}

#[async_trait]
impl VersionRepository for InMemoryAppDataRepository {
    async fn find_version(&self, id: VersionId) -> PortResult<Option<Version>> {
        Ok(self.state()?.versions.get(&id).cloned())
    }

    async fn list_versions(
        &self,
        application_id: ApplicationId,
        branch: Option<&BranchName>,
        page: PageRequest,
    ) -> PortResult<Page<Version>> {
        let mut versions: Vec<Version> = self
            .state()?
            .versions
            .values()
            .filter(|version| {
                version.application_id == application_id
                    && branch.is_none_or(|branch| version.branch == *branch)
            })
            .cloned()
            .collect();
        versions.sort_by(Version::newest_first);
        Ok(page.slice(versions))
    }

    async fn find_wip(
        &self,
        application_id: ApplicationId,
        branch: &BranchName,
    ) -> PortResult<Option<Version>> {
        Ok(self
            .state()?
            .versions_of(application_id, branch)
            .find(|version| version.is_wip())
            .cloned())
    }

    async fn find_latest_committed(
        &self,
        application_id: ApplicationId,
        branch: &BranchName,
    ) -> PortResult<Option<Version>> {
        Ok(self
            .state()?
            .versions_of(application_id, branch)
            .filter(|version| version.status == VersionStatus::Committed)
            .min_by(|a, b| Version::newest_first(a, b))
            .cloned())
    }

    async fn start_wip(&self, wip: &Version, events: &[DomainEvent]) -> PortResult<()> {
        let mut state = self.state()?;
        if state.versions_of(wip.application_id, &wip.branch).any(Version::is_wip) {
            return Err(PortError::Conflict(format!("branch `{}` has a WIP version", wip.branch)));
        }
        let parent_id = state.committed_parent(wip, Some(&wip.branch))?;
        if state.versions.contains_key(&wip.id) {
            return Err(PortError::Conflict(format!("version {} exists", wip.id)));
        }
        state.versions.insert(wip.id, wip.clone());
        state.copy_version_contents(parent_id, wip.id);
        state.record(events);
        Ok(())
    }

    async fn update_version(&self, version: &Version, events: &[DomainEvent]) -> PortResult<bool> {
        let mut state = self.state()?;
        let Some(stored) = state.versions.get_mut(&version.id) else {
            return Ok(false);
        };
        if stored.status != version.status {
            return Err(PortError::Conflict(format!(
                "version {} is {}, not {}",
                version.id, stored.status, version.status
            )));
        }
        stored.settings = version.settings.clone();
        stored.commit_message = version.commit_message.clone();
        stored.last_changed_at = version.last_changed_at;
        state.record(events);
        Ok(true)
    }

    async fn commit_version(
        &self,
        committed: &Version,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut state = self.state()?;
        let Some(stored) = state.versions.get(&committed.id) else {
            return Ok(false);
        };
        if !stored.is_wip() {
            return Err(PortError::Conflict(format!("version {} is committed", committed.id)));
        }
        let stored = Version {
            status: VersionStatus::Committed,
            commit_message: committed.commit_message.clone(),
            committed_by: committed.committed_by.clone(),
            committed_at: committed.committed_at,
            last_changed_at: committed.last_changed_at,
            ..stored.clone()
        };
        let linked: Vec<_> = state
            .links
            .iter()
            .filter(|((version_id, _, _), _)| *version_id == committed.id)
            .map(|(_, resource_version_id)| resource_version_id.clone())
            .collect();
        for resource_version_id in linked {
            if let Some(resource) = state.resource_versions.get_mut(&resource_version_id)
                && resource.status == ResourceStatus::Wip
            {
                resource.status = ResourceStatus::Committed;
                resource.committed_at = committed.committed_at;
            }
        }
        state.versions.insert(stored.id, stored);
        state.record(events);
        Ok(true)
    }

    async fn discard_wip(&self, id: VersionId, events: &[DomainEvent]) -> PortResult<bool> {
        let mut state = self.state()?;
        let Some(stored) = state.versions.get(&id) else {
            return Ok(false);
        };
        if !stored.is_wip() {
            return Err(PortError::Conflict(format!("version {id} is committed")));
        }
        let links: Vec<_> =
            state.links.keys().filter(|(version_id, _, _)| *version_id == id).cloned().collect();
        for link in links {
            if let Some(resource_version_id) = state.links.remove(&link)
                && state
                    .resource_versions
                    .get(&resource_version_id)
                    .is_some_and(|resource| resource.status == ResourceStatus::Wip)
            {
                state.resource_versions.remove(&resource_version_id);
            }
        }
        state.dependencies.retain(|(version_id, _), _| *version_id != id);
        state.config_defaults.retain(|(version_id, _), _| *version_id != id);
        state.versions.remove(&id);
        state.record(events);
        Ok(true)
    }
}
