//! The design-time services over one set of fakes, and builders of design-time inputs.

use domain::design::model::CommitMessage;
use domain::design::{
    ApplicationDetails, ApplicationService, ConfigDefaultsService, DependencyService,
    NewApplication, NewResource, ResourceService, VersionService,
};
use domain::model::{
    ApplicationId, ApplicationKind, ApplicationName, RawJson, ResourceName, ResourceType,
    ResourceVersionId, VersionId,
};

use crate::helpers::{Env, admin};

/// Every design-time service beside the kernel ones, over the same fakes.
pub(crate) struct DesignEnv {
    pub(crate) env: Env,
    pub(crate) applications: ApplicationService,
    pub(crate) versions: VersionService,
    pub(crate) resources: ResourceService,
    pub(crate) dependencies: DependencyService,
    pub(crate) config_defaults: ConfigDefaultsService,
}

impl DesignEnv {
    pub(crate) fn new() -> Self {
        let env = Env::new();
        let ports = env.fakes.ports();
        Self {
            applications: ApplicationService::new(ports.clone()),
            versions: VersionService::new(ports.clone()),
            resources: ResourceService::new(ports.clone()),
            dependencies: DependencyService::new(ports.clone()),
            config_defaults: ConfigDefaultsService::new(ports),
            env,
        }
    }

    /// Creates an application of `kind` named `name` (no workspace).
    pub(crate) async fn create(&self, name: &str, kind: ApplicationKind) -> ApplicationDetails {
        self.applications
            .create(&admin(), new_application(name, kind))
            .await
            .expect("creating an application")
    }

    /// The WIP version of the application's `main`.
    pub(crate) async fn main_wip(&self, application_id: ApplicationId) -> VersionId {
        let versions = self
            .versions
            .list(application_id, None, Default::default())
            .await
            .expect("listing versions");
        versions.items.iter().find(|version| version.is_wip()).expect("a WIP on main").id
    }

    /// Adds a PROCESS resource with `content` to a WIP; returns its resource version id.
    pub(crate) async fn add_process(
        &self,
        application_id: ApplicationId,
        version_id: VersionId,
        name: &str,
        content: &str,
    ) -> domain::design::model::ResourceVersion {
        self.resources
            .create(&admin(), application_id, version_id, process(), new_resource(name, content))
            .await
            .expect("creating a resource")
    }

    /// Commits a WIP with a fixed message.
    pub(crate) async fn commit(&self, application_id: ApplicationId, version_id: VersionId) {
        self.versions
            .commit(&admin(), application_id, version_id, message("release"))
            .await
            .expect("committing");
    }
}

pub(crate) fn new_application(name: &str, kind: ApplicationKind) -> NewApplication {
    NewApplication {
        name: ApplicationName::parse(name).expect("valid application name"),
        kind,
        description: None,
        workspace_id: None,
    }
}

pub(crate) fn new_resource(name: &str, content: &str) -> NewResource {
    NewResource {
        name: ResourceName::parse(name).expect("valid name"),
        content: RawJson::from_validated(content.to_owned()),
        definition_id: None,
    }
}

pub(crate) fn process() -> ResourceType {
    ResourceType::parse("PROCESS").expect("valid type")
}

pub(crate) fn message(raw: &str) -> CommitMessage {
    CommitMessage::parse(raw).expect("valid commit message")
}

pub(crate) fn json(raw: &str) -> RawJson {
    RawJson::from_validated(raw.to_owned())
}

/// The ids of two resource versions differ.
pub(crate) fn assert_new_id(old: &ResourceVersionId, new: &ResourceVersionId) {
    assert_ne!(old, new, "copy on write gives a new resource version id");
}
