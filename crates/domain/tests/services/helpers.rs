//! A test environment (every service over one set of fakes) and the inputs of the use cases.
//!
//! Builds come from `test_support::BuildFixture`, the builders every crate's tests share.

use std::collections::BTreeSet;
use std::fmt::Debug;

use adapter_memory::Fakes;
use bytes::Bytes;
use domain::DomainResult;
use domain::builds::{BuildService, ImportOutcome, ImportRequest};
use domain::model::{
    ApplicationId, Build, BuildHeader, BuildId, DomainEvent, PolicyOverride, PolicyTarget,
    Principal, SubjectType,
};
use domain::ports::Outbox;
use domain::relay::OutboxRelay;
use domain::runtime::{ConfigOverrideService, OverrideInput, PolicyService, RuntimeService};
use time::{Duration, OffsetDateTime};

/// Every service over one set of fakes; the fakes stay at hand for assertions.
pub(crate) struct Env {
    pub(crate) fakes: Fakes,
    pub(crate) builds: BuildService,
    pub(crate) policies: PolicyService,
    pub(crate) runtime: RuntimeService,
    pub(crate) config: ConfigOverrideService,
    pub(crate) relay: OutboxRelay,
}

impl Env {
    pub(crate) fn new() -> Self {
        let fakes = Fakes::new();
        let ports = fakes.ports();
        Self {
            builds: BuildService::new(ports.clone()),
            policies: PolicyService::new(ports.clone()),
            runtime: RuntimeService::new(ports.clone()),
            config: ConfigOverrideService::new(ports.clone()),
            relay: OutboxRelay::new(ports),
            fakes,
        }
    }

    /// Imports `build` (with its resources and an archive), which must be new.
    pub(crate) async fn import(&self, build: &Build) -> BuildHeader {
        match self.builds.import(&admin(), request(build)).await {
            Ok(ImportOutcome::Created(header)) => header,
            other => panic!("importing a new build should create it, got {other:?}"),
        }
    }

    /// Sets the global policy, which must be accepted.
    pub(crate) async fn set_policy(&self, application_id: ApplicationId, target: PolicyTarget) {
        self.policies
            .set(&admin(), application_id, target)
            .await
            .expect("setting the global policy");
    }

    /// Adds an override of `subject_type` `subject_id` as the admin, which must be accepted.
    pub(crate) async fn add_override(
        &self,
        application_id: ApplicationId,
        subject_type: SubjectType,
        subject_id: &str,
        target: PolicyTarget,
    ) -> PolicyOverride {
        let input = OverrideInput { subject_type, subject_id: subject_id.to_owned(), target };
        self.policies.add_override(&admin(), application_id, input).await.unwrap_or_else(|err| {
            panic!("adding an override for {subject_type:?} {subject_id}: {err:?}")
        })
    }

    /// The id of the build live for `principal` in `application_id`.
    pub(crate) async fn active_build_id(
        &self,
        application_id: ApplicationId,
        principal: &Principal,
    ) -> BuildId {
        self.runtime
            .active_build(application_id, None, principal)
            .await
            .expect("resolving the active build")
            .id()
    }

    /// Every undelivered event, oldest first.
    pub(crate) async fn pending(&self) -> Vec<domain::model::OutboxRecord> {
        self.fakes.app_data.pending_events(usize::MAX).await.expect("pending events")
    }

    /// The undelivered events about one application, oldest first.
    pub(crate) async fn pending_for(&self, application_id: ApplicationId) -> Vec<DomainEvent> {
        self.pending()
            .await
            .into_iter()
            .map(|record| record.event)
            .filter(|event| event.application_id() == application_id)
            .collect()
    }
}

/// The stable code of the failure `result` must be.
pub(crate) fn code_of<T: Debug>(result: DomainResult<T>) -> &'static str {
    result.expect_err("the use case should have failed").code()
}

/// A caller with a username, subject `sub-<username>`, groups and roles.
pub(crate) fn principal(username: &str, groups: &[&str], roles: &[&str]) -> Principal {
    let set =
        |names: &[&str]| names.iter().map(|name| (*name).to_owned()).collect::<BTreeSet<String>>();
    Principal {
        subject: format!("sub-{username}"),
        username: Some(username.to_owned()),
        groups: set(groups),
        roles: set(roles),
        client_id: None,
    }
}

/// A caller with no groups and no roles.
pub(crate) fn user(username: &str) -> Principal {
    principal(username, &[], &[])
}

/// Whoever manages builds and policies in the tests.
pub(crate) fn admin() -> Principal {
    user("admin")
}

pub(crate) fn on_branch(raw: &str) -> PolicyTarget {
    PolicyTarget::LatestOnBranch(test_support::branch(raw))
}

pub(crate) fn minutes_ago(minutes: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() - Duration::minutes(minutes)
}

/// The bytes standing in for the archive of `build`.
pub(crate) fn archive_of(build: &Build) -> Bytes {
    Bytes::from(format!("archive of build {} with checksum {}", build.id(), build.header.checksum))
}

/// What the archive reader would hand over for `build`.
pub(crate) fn request(build: &Build) -> ImportRequest {
    ImportRequest {
        build: build.clone(),
        resources: test_support::resources_of(build),
        binaries: Vec::new(),
        timers: Vec::new(),
        archive: archive_of(build),
        expected_application: None,
    }
}
