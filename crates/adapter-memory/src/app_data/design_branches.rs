//! `BranchRepository` of the in-memory repository.

use async_trait::async_trait;
use domain::design::model::{Branch, Version};
use domain::design::ports::BranchRepository;
use domain::model::{ApplicationId, BranchName, DomainEvent};
use domain::ports::{PortError, PortResult};

use crate::app_data::InMemoryAppDataRepository;

#[async_trait]
impl BranchRepository for InMemoryAppDataRepository {
    async fn list_branches(&self, application_id: ApplicationId) -> PortResult<Vec<Branch>> {
        let mut branches: Vec<Branch> = self
            .state()?
            .branches
            .values()
            .filter(|branch| branch.application_id == application_id)
            .cloned()
            .collect();
        branches.sort_by(|a, b| (a.created_at, &a.name).cmp(&(b.created_at, &b.name)));
        Ok(branches)
    }

    async fn find_branch(
        &self,
        application_id: ApplicationId,
        name: &BranchName,
    ) -> PortResult<Option<Branch>> {
        Ok(self.state()?.branches.get(&(application_id, name.clone())).cloned())
    }

    async fn create_branch(
        &self,
        branch: &Branch,
        wip: &Version,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let mut state = self.state()?;
        let key = (branch.application_id, branch.name.clone());
        if state.branches.contains_key(&key) {
            return Err(PortError::Conflict(format!("branch `{}` exists", branch.name)));
        }
        let parent_id = state.committed_parent(wip, None)?;
        if state.versions.contains_key(&wip.id) {
            return Err(PortError::Conflict(format!("version {} exists", wip.id)));
        }
        state.branches.insert(key, branch.clone());
        state.versions.insert(wip.id, wip.clone());
        state.copy_version_contents(parent_id, wip.id);
        state.record(events);
        Ok(())
    }
}
