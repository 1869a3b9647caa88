//! `DependencyRepository` of the in-memory repository.

use async_trait::async_trait;
use domain::design::model::VersionDependency;
use domain::design::ports::DependencyRepository;
use domain::model::{ApplicationId, DomainEvent, VersionId};
use domain::ports::{PortError, PortResult};

use crate::app_data::InMemoryAppDataRepository;

#[async_trait]
impl DependencyRepository for InMemoryAppDataRepository {
    async fn list_dependencies(&self, version_id: VersionId) -> PortResult<Vec<VersionDependency>> {
        // The map is ordered by (version, library), so the filter keeps library order.
        Ok(self
            .state()?
            .dependencies
            .iter()
            .filter(|((linking, _), _)| *linking == version_id)
            .map(|((_, library_id), build_id)| VersionDependency {
                library_id: *library_id,
                build_id: *build_id,
            })
            .collect())
    }

    async fn put_dependency(
        &self,
        version_id: VersionId,
        dependency: &VersionDependency,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let mut state = self.state()?;
        state.require_wip(version_id)?;
        if state
            .applications
            .get(&dependency.library_id)
            .is_some_and(|library| library.deleted_at.is_some())
        {
            return Err(PortError::Conflict(format!(
                "library {} is deleted",
                dependency.library_id
            )));
        }
        state.dependencies.insert((version_id, dependency.library_id), dependency.build_id);
        state.record(events);
        Ok(())
    }

    async fn delete_dependency(
        &self,
        version_id: VersionId,
        library_id: ApplicationId,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut state = self.state()?;
        state.require_wip(version_id)?;
        if state.dependencies.remove(&(version_id, library_id)).is_none() {
            return Ok(false);
        }
        state.record(events);
        Ok(true)
    }
}
