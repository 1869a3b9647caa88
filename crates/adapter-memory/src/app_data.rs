//! In-memory `AppDataRepository`: one state behind one lock, so that every write and the
//! events it records happen at once, as in a database transaction. Each role trait is
//! implemented in its own file under `app_data/`.

mod catalog;
mod config;
mod design_applications;
mod design_branches;
mod design_config;
mod design_dependencies;
mod design_idempotency;
mod design_resources;
mod design_versions;
mod imports;
mod outbox;
mod policies;
mod timers;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use domain::design::model::{Application, Branch, IdempotencyKey, ResourceVersion, Version};
use domain::model::{
    ActivePolicy, ApplicationId, BranchName, BuildHeader, BuildId, BuildTimer, ConfigKey,
    ConfigOverride, ConfigParam, DomainEvent, OutboxRecord, PolicyOverride, PolicyOverrideId,
    PolicyTarget, ResourceDefinitionId, ResourceType, ResourceVersionId, ScheduleMove, SubjectType,
    TimerSchedule, VersionId,
};
use domain::ports::{ImportClaim, PortError, PortResult};
use time::OffsetDateTime;

use crate::failure::{FailureSwitch, failure_knob};

/// Application data in maps; passes `port_contracts::app_data` like the PostgreSQL adapter.
#[derive(Debug, Default)]
pub struct InMemoryAppDataRepository {
    state: Mutex<State>,
    failure: FailureSwitch,
}

failure_knob!(InMemoryAppDataRepository);

impl InMemoryAppDataRepository {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every claim of an import under way, for assertions.
    pub fn import_claims(&self) -> Vec<ImportClaim> {
        crate::lock(&self.state).claims.values().cloned().collect()
    }

    /// The state, unless the failure knob says this call fails.
    fn state(&self) -> PortResult<MutexGuard<'_, State>> {
        self.failure.check()?;
        Ok(crate::lock(&self.state))
    }
}

#[derive(Debug, Default)]
struct State {
    headers: BTreeMap<BuildId, BuildHeader>,
    /// The timers of each stored build, ordered by process, then node.
    timers: BTreeMap<BuildId, Vec<BuildTimer>>,
    /// Which build's timers the scheduler runs, per application.
    schedules: BTreeMap<ApplicationId, TimerSchedule>,
    claims: BTreeMap<BuildId, ImportClaim>,
    policies: BTreeMap<ApplicationId, ActivePolicy>,
    overrides: BTreeMap<PolicyOverrideId, PolicyOverride>,
    /// The unique key of overrides, in the order the port lists them (`SubjectType` orders
    /// USER, GROUP, ROLE; subject ids byte-wise): an application's overrides are one range.
    override_subjects: BTreeMap<(ApplicationId, SubjectType, String), PolicyOverrideId>,
    config_overrides: BTreeMap<(ApplicationId, ConfigKey), ConfigOverride>,
    applications: BTreeMap<ApplicationId, Application>,
    branches: BTreeMap<(ApplicationId, BranchName), Branch>,
    versions: BTreeMap<VersionId, Version>,
    /// The manifests: which resource version each version links for a type and definition id.
    links: BTreeMap<(VersionId, ResourceType, ResourceDefinitionId), ResourceVersionId>,
    resource_versions: BTreeMap<ResourceVersionId, ResourceVersion>,
    /// One build per (version, library).
    dependencies: BTreeMap<(VersionId, ApplicationId), BuildId>,
    config_defaults: BTreeMap<(VersionId, ConfigKey), ConfigParam>,
    idempotency_keys: BTreeMap<(ApplicationId, IdempotencyKey), BuildId>,
    /// Undelivered events only: a delivered event is dropped, so the outbox stays as small
    /// as the relay keeps it.
    outbox: BTreeMap<u64, OutboxRecord>,
    last_sequence: u64,
    /// The sequence of each application's last `ActivePolicyUpdated` event.
    policy_revisions: BTreeMap<ApplicationId, u64>,
}

impl State {
    /// Appends `events` to the outbox; call only once the write they describe is certain.
    fn record(&mut self, events: &[DomainEvent]) {
        let recorded_at = OffsetDateTime::now_utc();
        for event in events {
            self.last_sequence += 1;
            if let DomainEvent::ActivePolicyUpdated { application_id } = event {
                self.policy_revisions.insert(*application_id, self.last_sequence);
            }
            let record =
                OutboxRecord { sequence: self.last_sequence, event: event.clone(), recorded_at };
            self.outbox.insert(record.sequence, record);
        }
    }

    /// The foreign-key check of policies and overrides: a BUILD target must be a build of
    /// the same application.
    fn check_target(&self, application_id: ApplicationId, target: &PolicyTarget) -> PortResult<()> {
        let PolicyTarget::Build(build_id) = target else {
            return Ok(());
        };
        match self.headers.get(build_id) {
            Some(header) if header.application_id == application_id => Ok(()),
            Some(header) => Err(PortError::Conflict(format!(
                "build {build_id} belongs to application {}, not {application_id}",
                header.application_id
            ))),
            None => Err(PortError::Conflict(format!("build {build_id} does not exist"))),
        }
    }

    /// The compare-and-set check of a schedule move; call before changing anything.
    fn check_schedule(&self, schedule: &ScheduleMove) -> PortResult<()> {
        let revision = self.schedules.get(&schedule.application_id).map_or(0, |held| held.revision);
        if revision == schedule.expected_revision {
            Ok(())
        } else {
            Err(PortError::Outdated(format!(
                "the timer schedule of application {} is at revision {revision}, not {}",
                schedule.application_id, schedule.expected_revision
            )))
        }
    }

    /// Applies a schedule move that [`check_schedule`](Self::check_schedule) accepted.
    fn move_schedule(&mut self, schedule: &ScheduleMove) {
        self.schedules.insert(
            schedule.application_id,
            TimerSchedule {
                application_id: schedule.application_id,
                build_id: schedule.build_id,
                revision: schedule.expected_revision + 1,
            },
        );
    }

    /// Whether the global policy or an override names the build.
    fn names_build(&self, build_id: BuildId) -> bool {
        let named = |target: &PolicyTarget| *target == PolicyTarget::Build(build_id);
        self.policies.values().any(|policy| named(&policy.target))
            || self.overrides.values().any(|candidate| named(&candidate.target))
    }
}

/// Always reachable, unless the failure knob says this call fails.
#[async_trait]
impl domain::ports::HealthCheck for InMemoryAppDataRepository {
    async fn ping(&self) -> PortResult<()> {
        self.failure.check()
    }
}
