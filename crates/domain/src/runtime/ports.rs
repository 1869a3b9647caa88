//! The role traits of the app-data port that only the runtime role uses: active policies
//! and config overrides. They join the kernel's [`AppDataRepository`](crate::ports::AppDataRepository).

use async_trait::async_trait;

use crate::model::{
    ActivePolicy, ApplicationId, ConfigKey, ConfigOverride, DomainEvent, PolicyOverride,
    PolicyOverrideId, ScheduleMove,
};
use crate::ports::PortResult;

/// Global active policies and their overrides.
#[async_trait]
pub trait PolicyRepository {
    /// The application's policy revision: the outbox sequence of the last
    /// `ActivePolicyUpdated` event recorded for it (0 when none ever was). Every write that
    /// records one raises it to that event's sequence in the same transaction, so it only
    /// grows, and a change is visible to readers exactly when its revision is.
    async fn policy_revision(&self, application_id: ApplicationId) -> PortResult<u64>;

    /// The global policy of an application; `Ok(None)` when none is set.
    async fn find_active_policy(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Option<ActivePolicy>>;

    /// Sets (creates or replaces) the global policy, moves the application's timer schedule
    /// as `schedule` says and records `events`, all at once.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the policy names a
    /// build whose header does not exist or belongs to another application;
    /// [`PortError::Outdated`](crate::ports::PortError::Outdated) when the schedule is no
    /// longer at `schedule.expected_revision`. Nothing is written then.
    async fn put_active_policy(
        &self,
        policy: &ActivePolicy,
        schedule: &ScheduleMove,
        events: &[DomainEvent],
    ) -> PortResult<()>;

    /// Every override of an application, ordered by subject type, then subject id.
    async fn list_policy_overrides(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Vec<PolicyOverride>>;

    /// One override; `Ok(None)` when the application has no override with that id.
    async fn find_policy_override(
        &self,
        application_id: ApplicationId,
        id: PolicyOverrideId,
    ) -> PortResult<Option<PolicyOverride>>;

    /// Adds an override and records `events`.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the application has
    /// an override for the same subject type and id already, or when the override names a
    /// build that does not exist or belongs to another application.
    async fn insert_policy_override(
        &self,
        policy_override: &PolicyOverride,
        events: &[DomainEvent],
    ) -> PortResult<()>;

    /// Replaces an override (matched by application and id) and records `events`;
    /// `Ok(false)` when there is none.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the change would give
    /// a subject two overrides, or names a build that does not exist or belongs to another
    /// application.
    async fn update_policy_override(
        &self,
        policy_override: &PolicyOverride,
        events: &[DomainEvent],
    ) -> PortResult<bool>;

    /// Removes an override and records `events`; `Ok(false)` when there is none.
    async fn delete_policy_override(
        &self,
        application_id: ApplicationId,
        id: PolicyOverrideId,
        events: &[DomainEvent],
    ) -> PortResult<bool>;
}

/// Config overrides per application in this installation.
#[async_trait]
pub trait ConfigOverrideRepository {
    /// Every override of an application, ordered by key.
    async fn list_config_overrides(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Vec<ConfigOverride>>;

    /// Sets every override in `overrides` (creating or replacing by application and key) and
    /// records `events`, all at once: either all are stored or none.
    async fn put_config_overrides(
        &self,
        overrides: &[ConfigOverride],
        events: &[DomainEvent],
    ) -> PortResult<()>;

    /// Removes one override and records `events`; `Ok(false)` when there is none.
    async fn delete_config_override(
        &self,
        application_id: ApplicationId,
        key: &ConfigKey,
        events: &[DomainEvent],
    ) -> PortResult<bool>;
}
