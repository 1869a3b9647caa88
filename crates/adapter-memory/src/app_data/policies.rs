//! `PolicyRepository` of the in-memory repository.

use async_trait::async_trait;
use domain::model::{
    ActivePolicy, ApplicationId, DomainEvent, PolicyOverride, PolicyOverrideId, ScheduleMove,
    SubjectType,
};
use domain::ports::{PortError, PortResult};
use domain::runtime::ports::PolicyRepository;

use crate::app_data::{InMemoryAppDataRepository, State};

#[async_trait]
impl PolicyRepository for InMemoryAppDataRepository {
    async fn policy_revision(&self, application_id: ApplicationId) -> PortResult<u64> {
        Ok(self.state()?.policy_revisions.get(&application_id).copied().unwrap_or(0))
    }

    async fn find_active_policy(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Option<ActivePolicy>> {
        Ok(self.state()?.policies.get(&application_id).cloned())
    }

    async fn put_active_policy(
        &self,
        policy: &ActivePolicy,
        schedule: &ScheduleMove,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let mut state = self.state()?;
        state.check_target(policy.application_id, &policy.target)?;
        state.check_schedule(schedule)?;
        state.move_schedule(schedule);
        state.policies.insert(policy.application_id, policy.clone());
        state.record(events);
        Ok(())
    }

    async fn list_policy_overrides(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Vec<PolicyOverride>> {
        let state = self.state()?;
        let first = (application_id, SubjectType::User, String::new());
        Ok(state
            .override_subjects
            .range(first..)
            .take_while(|((owner, _, _), _)| *owner == application_id)
            .map(|(_, id)| state.overrides[id].clone())
            .collect())
    }

    async fn find_policy_override(
        &self,
        application_id: ApplicationId,
        id: PolicyOverrideId,
    ) -> PortResult<Option<PolicyOverride>> {
        Ok(self
            .state()?
            .overrides
            .get(&id)
            .filter(|found| found.application_id == application_id)
            .cloned())
    }

    async fn insert_policy_override(
        &self,
        policy_override: &PolicyOverride,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let mut state = self.state()?;
        if state.overrides.contains_key(&policy_override.id) {
            return Err(PortError::Conflict(format!(
                "override {} exists already",
                policy_override.id
            )));
        }
        check_subject_free(&state, policy_override)?;
        state.check_target(policy_override.application_id, &policy_override.target)?;
        state.override_subjects.insert(subject_key(policy_override), policy_override.id);
        state.overrides.insert(policy_override.id, policy_override.clone());
        state.record(events);
        Ok(())
    }

    async fn update_policy_override(
        &self,
        policy_override: &PolicyOverride,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut state = self.state()?;
        let exists = state
            .overrides
            .get(&policy_override.id)
            .is_some_and(|found| found.application_id == policy_override.application_id);
        if !exists {
            return Ok(false);
        }
        check_subject_free(&state, policy_override)?;
        state.check_target(policy_override.application_id, &policy_override.target)?;
        if let Some(previous) = state.overrides.insert(policy_override.id, policy_override.clone())
        {
            state.override_subjects.remove(&subject_key(&previous));
        }
        state.override_subjects.insert(subject_key(policy_override), policy_override.id);
        state.record(events);
        Ok(true)
    }

    async fn delete_policy_override(
        &self,
        application_id: ApplicationId,
        id: PolicyOverrideId,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut state = self.state()?;
        let exists =
            state.overrides.get(&id).is_some_and(|found| found.application_id == application_id);
        if !exists {
            return Ok(false);
        }
        if let Some(deleted) = state.overrides.remove(&id) {
            state.override_subjects.remove(&subject_key(&deleted));
        }
        state.record(events);
        Ok(true)
    }
}

/// The unique key of overrides: one per application, subject type and subject id.
fn subject_key(policy_override: &PolicyOverride) -> (ApplicationId, SubjectType, String) {
    (
        policy_override.application_id,
        policy_override.subject_type,
        policy_override.subject_id.clone(),
    )
}

/// Refuses a second override for a subject (the unique key).
fn check_subject_free(state: &State, policy_override: &PolicyOverride) -> PortResult<()> {
    let taken = state
        .override_subjects
        .get(&subject_key(policy_override))
        .is_some_and(|holder| *holder != policy_override.id);
    if taken {
        return Err(PortError::Conflict(format!(
            "{:?} `{}` has an override already",
            policy_override.subject_type, policy_override.subject_id
        )));
    }
    Ok(())
}
