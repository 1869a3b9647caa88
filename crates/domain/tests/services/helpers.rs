//! Data builders and a test environment: every service over one set of fakes.

use std::collections::BTreeSet;
use std::fmt::Debug;

use adapter_memory::Fakes;
use bytes::Bytes;
use domain::DomainResult;
use domain::builds::{BuildService, ImportOutcome, ImportRequest};
use domain::model::{
    ApplicationId, ApplicationKind, BranchName, Build, BuildDependency, BuildHeader, BuildId,
    BuildOrigin, BuildResource, BuildSettings, Checksum, ConfigParam, ConfigParamType, DomainEvent,
    ManifestEntry, NumberFormat, Platforms, PolicyTarget, Principal, RawJson, ResourceDefinitionId,
    ResourceName, ResourceType, ResourceVersionId, VersionId,
};
use domain::ports::Outbox;
use domain::relay::OutboxRelay;
use domain::runtime::{ConfigOverrideService, PolicyService, RuntimeService};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

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

pub(crate) fn branch(raw: &str) -> BranchName {
    BranchName::parse(raw).expect("valid branch")
}

pub(crate) fn on_branch(raw: &str) -> PolicyTarget {
    PolicyTarget::LatestOnBranch(branch(raw))
}

pub(crate) fn checksum() -> Checksum {
    Checksum::parse(&format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()))
        .expect("64 hex digits")
}

pub(crate) fn minutes_ago(minutes: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() - Duration::minutes(minutes)
}

pub(crate) fn process_type() -> ResourceType {
    ResourceType::parse("PROCESS").expect("valid resource type")
}

pub(crate) fn param(key: &str, param_type: ConfigParamType, value: &str) -> ConfigParam {
    ConfigParam {
        key: key.parse().expect("valid config key"),
        param_type,
        value: value.to_owned(),
        description: None,
    }
}

/// A project build on `main`, created now, with `n_resources` PROCESS resources named
/// `resource-0`, `resource-1`, …
pub(crate) fn build(application_id: ApplicationId, n_resources: usize) -> Build {
    let now = OffsetDateTime::now_utc();
    let manifest = (0..n_resources)
        .map(|i| ManifestEntry {
            resource_type: process_type(),
            definition_id: ResourceDefinitionId::parse(&format!("def-{i}"))
                .expect("valid definition id"),
            version_id: ResourceVersionId::parse(&format!("version-{i}"))
                .expect("valid version id"),
            name: ResourceName::parse(&format!("resource-{i}")).expect("valid name"),
        })
        .collect();
    Build {
        header: BuildHeader {
            id: BuildId::random(),
            application_id,
            application_name: "loans".to_owned(),
            application_kind: ApplicationKind::Application,
            workspace_id: None,
            application_version_id: VersionId::random(),
            branch: branch("main"),
            name: "loans".to_owned(),
            version_tag: None,
            description: None,
            checksum: checksum(),
            origin: BuildOrigin::Imported,
            created_at: now,
            created_by: "designer".to_owned(),
            stored_at: now,
        },
        settings: BuildSettings {
            platforms: Platforms::Web,
            theme_id: None,
            date_format: "short".to_owned(),
            number_format: NumberFormat::new(0, 2).expect("valid number format"),
            currency_format: "isoCode".to_owned(),
            languages: vec!["en".to_owned()],
            default_language_code: "en".to_owned(),
        },
        dependencies: Vec::new(),
        config_params: Vec::new(),
        manifest,
    }
}

/// A library build with one resource.
pub(crate) fn library_build(application_id: ApplicationId) -> Build {
    let mut library = build(application_id, 1);
    library.header.application_kind = ApplicationKind::Library;
    library
}

/// `build` depending on the library build `library`.
pub(crate) fn depending_on(mut build: Build, library: &Build) -> Build {
    build.dependencies.push(BuildDependency {
        application_id: library.header.application_id,
        build_id: library.id(),
    });
    build
}

/// One resource per manifest entry.
pub(crate) fn resources_of(build: &Build) -> Vec<BuildResource> {
    build
        .manifest
        .iter()
        .map(|entry| BuildResource {
            build_id: build.id(),
            entry: entry.clone(),
            content: RawJson::from_validated(format!(r#"{{"name":"{}"}}"#, entry.name)),
        })
        .collect()
}

/// The bytes standing in for the archive of `build`.
pub(crate) fn archive_of(build: &Build) -> Bytes {
    Bytes::from(format!("archive of build {} with checksum {}", build.id(), build.header.checksum))
}

/// What the archive reader would hand over for `build`.
pub(crate) fn request(build: &Build) -> ImportRequest {
    ImportRequest {
        build: build.clone(),
        resources: resources_of(build),
        binaries: Vec::new(),
        archive: archive_of(build),
        expected_application: None,
    }
}
