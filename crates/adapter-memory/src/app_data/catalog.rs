//! `BuildCatalog` of the in-memory repository.

use async_trait::async_trait;
use domain::model::{
    ApplicationId, ApplicationKind, BranchName, BuildHeader, BuildId, DomainEvent, Page,
    PageRequest, ScheduleMove,
};
use domain::ports::{BuildCatalog, PortError, PortResult};

use crate::app_data::InMemoryAppDataRepository;

#[async_trait]
impl BuildCatalog for InMemoryAppDataRepository {
    async fn find_build_header(&self, id: BuildId) -> PortResult<Option<BuildHeader>> {
        Ok(self.state()?.headers.get(&id).cloned())
    }

    async fn list_build_headers(
        &self,
        application_id: ApplicationId,
        page: PageRequest,
    ) -> PortResult<Page<BuildHeader>> {
        let mut headers: Vec<BuildHeader> = self
            .state()?
            .headers
            .values()
            .filter(|header| header.application_id == application_id)
            .cloned()
            .collect();
        headers.sort_by(BuildHeader::newest_first);
        Ok(page.slice(headers))
    }

    async fn find_latest_build_on_branch(
        &self,
        application_id: ApplicationId,
        branch: &BranchName,
    ) -> PortResult<Option<BuildHeader>> {
        Ok(self
            .state()?
            .headers
            .values()
            .filter(|header| header.application_id == application_id && header.branch == *branch)
            .min_by(|a, b| BuildHeader::newest_first(a, b))
            .cloned())
    }

    async fn find_application_kind(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Option<ApplicationKind>> {
        Ok(self
            .state()?
            .headers
            .values()
            .filter(|header| header.application_id == application_id)
            .min_by(|a, b| BuildHeader::newest_first(a, b))
            .map(|header| header.application_kind))
    }

    async fn delete_build_header(
        &self,
        id: BuildId,
        schedule: &ScheduleMove,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut state = self.state()?;
        if !state.headers.contains_key(&id) {
            return Ok(false);
        }
        if state.names_build(id) {
            return Err(PortError::Conflict(format!(
                "build {id} is named by the active policy or an override"
            )));
        }
        state.check_schedule(schedule)?;
        state.move_schedule(schedule);
        state.headers.remove(&id);
        state.timers.remove(&id);
        state.record(events);
        Ok(true)
    }
}
