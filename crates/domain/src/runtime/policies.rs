//! The global active policy of an application and its per-user and per-group overrides.

use time::OffsetDateTime;

use crate::error::{Conflict, NotFound};
use crate::lookups;
use crate::model::{
    ActivePolicy, ApplicationId, AuditAction, AuditRecord, DomainEvent, EntityRef, PolicyOverride,
    PolicyOverrideId, PolicyTarget, Principal, SubjectType,
};
use crate::ports::{PortError, Ports};
use crate::schedule;
use crate::{DomainError, DomainResult};

/// An override as a caller asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideInput {
    /// USER or GROUP (ROLE is refused: deprecated).
    pub subject_type: SubjectType,
    /// Username or subject, or group.
    pub subject_id: String,
    /// What it points at.
    pub target: PolicyTarget,
}

/// Reads and changes active policies. Every change takes effect at once: the resolution
/// cache of the application is evicted here, and the recorded `ActivePolicyUpdated` event
/// tells the other replicas to do the same.
#[derive(Debug, Clone)]
pub struct PolicyService {
    ports: Ports,
}

impl PolicyService {
    /// A service over `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// The global policy.
    ///
    /// # Errors
    ///
    /// `no_active_policy` when none is set.
    pub async fn get(&self, application_id: ApplicationId) -> DomainResult<ActivePolicy> {
        self.ports
            .app_data
            .find_active_policy(application_id)
            .await?
            .ok_or_else(|| NotFound::ActivePolicy(application_id).into())
    }

    /// Sets the global policy.
    ///
    /// # Errors
    ///
    /// `build_not_found` for a build that is not imported, `application_mismatch` for a
    /// build of another application.
    pub async fn set(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        target: PolicyTarget,
    ) -> DomainResult<ActivePolicy> {
        self.check_target(application_id, &target).await?;
        let now = OffsetDateTime::now_utc();
        let policy = ActivePolicy {
            application_id,
            target: target.clone(),
            updated_by: principal.name().to_owned(),
            updated_at: now,
        };
        let events = events(
            AuditAction::SetActivePolicy,
            application_id,
            EntityRef::ActivePolicy(application_id),
            principal,
            now,
        );
        // The scheduler runs the timers of the global build: tell it in the same write.
        schedule::retrying!(application_id, {
            let current = self.ports.app_data.find_timer_schedule(application_id).await?;
            let after = schedule::build_of_policy(&self.ports, application_id, &target).await?;
            let plan = schedule::plan(&self.ports, &current, after, None).await?;
            let recorded: Vec<DomainEvent> = events.iter().cloned().chain(plan.events).collect();
            Ok(self.ports.app_data.put_active_policy(&policy, &plan.schedule, &recorded).await?)
        })?;
        lookups::evict_snapshot(&self.ports, application_id).await;
        Ok(policy)
    }

    /// Every override, deprecated ROLE ones included.
    ///
    /// # Errors
    ///
    /// `service_unavailable` / `internal_error` when the store fails.
    pub async fn list_overrides(
        &self,
        application_id: ApplicationId,
    ) -> DomainResult<Vec<PolicyOverride>> {
        Ok(self.ports.app_data.list_policy_overrides(application_id).await?)
    }

    /// Adds an override.
    ///
    /// # Errors
    ///
    /// `invalid_request` for a bad subject, `role_override_deprecated` for a ROLE override,
    /// `override_exists` when the subject has one, `build_not_found` / `application_mismatch`
    /// for a bad build.
    pub async fn add_override(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        input: OverrideInput,
    ) -> DomainResult<PolicyOverride> {
        self.check_input(application_id, &input).await?;
        let now = OffsetDateTime::now_utc();
        let created = PolicyOverride {
            id: PolicyOverrideId::random(),
            application_id,
            subject_type: input.subject_type,
            subject_id: input.subject_id,
            target: input.target,
            updated_by: principal.name().to_owned(),
            updated_at: now,
        };
        let events = events(
            AuditAction::CreatePolicyOverride,
            application_id,
            EntityRef::PolicyOverride(created.id),
            principal,
            now,
        );
        self.ports
            .app_data
            .insert_policy_override(&created, &events)
            .await
            .map_err(|err| subject_conflict(err, &created))?;
        lookups::evict_snapshot(&self.ports, application_id).await;
        Ok(created)
    }

    /// Changes an override.
    ///
    /// # Errors
    ///
    /// `policy_override_not_found`, `role_override_deprecated` for a ROLE override (old or
    /// new), and the errors of [`add_override`](Self::add_override).
    pub async fn update_override(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        id: PolicyOverrideId,
        input: OverrideInput,
    ) -> DomainResult<PolicyOverride> {
        let existing = self.find_override(application_id, id).await?;
        if existing.subject_type == SubjectType::Role {
            return Err(Conflict::DeprecatedRoleOverride.into());
        }
        self.check_input(application_id, &input).await?;
        let now = OffsetDateTime::now_utc();
        let updated = PolicyOverride {
            subject_type: input.subject_type,
            subject_id: input.subject_id,
            target: input.target,
            updated_by: principal.name().to_owned(),
            updated_at: now,
            ..existing
        };
        let events = events(
            AuditAction::UpdatePolicyOverride,
            application_id,
            EntityRef::PolicyOverride(id),
            principal,
            now,
        );
        let found = self
            .ports
            .app_data
            .update_policy_override(&updated, &events)
            .await
            .map_err(|err| subject_conflict(err, &updated))?;
        if !found {
            return Err(NotFound::PolicyOverride(id.to_string()).into());
        }
        lookups::evict_snapshot(&self.ports, application_id).await;
        Ok(updated)
    }

    /// Removes an override; deprecated ROLE overrides can be removed too.
    ///
    /// # Errors
    ///
    /// `policy_override_not_found` when there is none.
    pub async fn delete_override(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        id: PolicyOverrideId,
    ) -> DomainResult<()> {
        let now = OffsetDateTime::now_utc();
        let events = events(
            AuditAction::DeletePolicyOverride,
            application_id,
            EntityRef::PolicyOverride(id),
            principal,
            now,
        );
        if !self.ports.app_data.delete_policy_override(application_id, id, &events).await? {
            return Err(NotFound::PolicyOverride(id.to_string()).into());
        }
        lookups::evict_snapshot(&self.ports, application_id).await;
        Ok(())
    }

    async fn find_override(
        &self,
        application_id: ApplicationId,
        id: PolicyOverrideId,
    ) -> DomainResult<PolicyOverride> {
        self.ports
            .app_data
            .find_policy_override(application_id, id)
            .await?
            .ok_or_else(|| NotFound::PolicyOverride(id.to_string()).into())
    }

    async fn check_input(
        &self,
        application_id: ApplicationId,
        input: &OverrideInput,
    ) -> DomainResult<()> {
        if input.subject_type == SubjectType::Role {
            return Err(Conflict::DeprecatedRoleOverride.into());
        }
        PolicyOverride::validate_subject(&input.subject_id)?;
        self.check_target(application_id, &input.target).await
    }

    async fn check_target(
        &self,
        application_id: ApplicationId,
        target: &PolicyTarget,
    ) -> DomainResult<()> {
        match target {
            PolicyTarget::Build(build_id) => {
                lookups::policy_build(&self.ports, application_id, *build_id).await
            }
            // A branch may get its first build later; until then resolution says so.
            PolicyTarget::LatestOnBranch(_) => Ok(()),
        }
    }
}

/// What every policy change records: the resolution changed, and who changed what.
fn events(
    action: AuditAction,
    application_id: ApplicationId,
    entity: EntityRef,
    principal: &Principal,
    at: OffsetDateTime,
) -> [DomainEvent; 2] {
    [
        DomainEvent::ActivePolicyUpdated { application_id },
        AuditRecord::event(action, entity, application_id, None, principal, at),
    ]
}

fn subject_conflict(err: PortError, policy_override: &PolicyOverride) -> DomainError {
    match err {
        PortError::Conflict(_) => Conflict::OverrideExists {
            subject_type: policy_override.subject_type,
            subject_id: policy_override.subject_id.clone(),
        }
        .into(),
        other => other.into(),
    }
}
