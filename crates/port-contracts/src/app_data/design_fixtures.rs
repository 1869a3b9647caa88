//! Fresh design-time rows for the checks: applications with a unique name in a workspace of
//! their own, so that lists and name rules see only the check's rows on a shared store.

use domain::design::model::{
    Application, Branch, CommitMessage, ResourceStatus, ResourceVersion, Version, VersionStatus,
    default_settings,
};
use domain::model::{
    ApplicationId, ApplicationKind, ApplicationName, BuildId, ConfigParam, ConfigParamType,
    RawJson, ResourceDefinitionId, ResourceName, ResourceVersionId, VersionId, WorkspaceId,
};
use domain::ports::AppDataRepository;
use uuid::Uuid;

use crate::fixtures;

/// An application, its `main` branch and first WIP, as they were stored.
pub(crate) struct Stored {
    pub(crate) application: Application,
    pub(crate) main: Branch,
    pub(crate) first: Version,
}

/// A unique name, `<stem>-<uuid>`.
pub(crate) fn unique_name(stem: &str) -> ApplicationName {
    ApplicationName::parse(&format!("{stem}-{}", Uuid::new_v4())).expect("valid application name")
}

/// An application of `kind` in a fresh workspace, not yet stored.
pub(crate) fn application(kind: ApplicationKind) -> Application {
    let now = fixtures::now();
    Application {
        id: ApplicationId::random(),
        workspace_id: Some(WorkspaceId::random()),
        name: unique_name("contract-app"),
        kind,
        description: Some("made by a contract check".to_owned()),
        created_by: "contracts".to_owned(),
        created_at: now,
        updated_by: "contracts".to_owned(),
        updated_at: now,
        deleted_at: None,
    }
}

/// The `main` branch and first WIP of `application`, not yet stored.
pub(crate) fn main_and_first(application: &Application) -> (Branch, Version) {
    let main = Branch {
        application_id: application.id,
        name: fixtures::branch("main"),
        created_from: None,
        created_by: "contracts".to_owned(),
        created_at: application.created_at,
    };
    let first = Version {
        id: VersionId::random(),
        application_id: application.id,
        branch: main.name.clone(),
        status: VersionStatus::Wip,
        parent_id: None,
        commit_message: None,
        settings: default_settings(),
        created_by: "contracts".to_owned(),
        created_at: application.created_at,
        committed_by: None,
        committed_at: None,
        last_changed_at: application.created_at,
    };
    (main, first)
}

/// Stores a fresh application of `kind` with `main` and its first WIP, recording no event.
pub(crate) async fn stored(repo: &dyn AppDataRepository, kind: ApplicationKind) -> Stored {
    let application = application(kind);
    let (main, first) = main_and_first(&application);
    repo.create_application(&application, &main, &first, &[])
        .await
        .unwrap_or_else(|err| panic!("create_application of a fresh application: {err:?}"));
    Stored { application, main, first }
}

/// `wip` as committed now with a fixed message.
pub(crate) fn committed(wip: &Version) -> Version {
    let now = fixtures::now();
    Version {
        status: VersionStatus::Committed,
        commit_message: Some(CommitMessage::parse("contract commit").expect("valid message")),
        committed_by: Some("contracts".to_owned()),
        committed_at: Some(now),
        last_changed_at: now,
        ..wip.clone()
    }
}

/// Commits `wip`, which must succeed, and returns it as committed.
pub(crate) async fn commit(repo: &dyn AppDataRepository, wip: &Version) -> Version {
    let committed = committed(wip);
    let found = repo
        .commit_version(&committed, &[])
        .await
        .unwrap_or_else(|err| panic!("commit_version of a WIP: {err:?}"));
    assert!(found, "committing a stored WIP finds it");
    committed
}

/// A new WIP on the parent's branch, a second after it, not yet stored.
pub(crate) fn wip_after(parent: &Version) -> Version {
    let now = parent.created_at + time::Duration::seconds(1);
    Version {
        id: VersionId::random(),
        status: VersionStatus::Wip,
        parent_id: Some(parent.id),
        commit_message: None,
        committed_by: None,
        committed_at: None,
        created_at: now,
        last_changed_at: now,
        ..parent.clone()
    }
}

/// A fresh WIP resource version of `type_name` called `name`.
pub(crate) fn resource(type_name: &str, name: &str) -> ResourceVersion {
    let now = fixtures::now();
    let definition_id = Uuid::new_v4().to_string();
    ResourceVersion {
        id: resource_version_id(),
        definition_id: ResourceDefinitionId::parse(&definition_id).expect("valid definition id"),
        resource_type: fixtures::resource_type(type_name),
        name: resource_name(name),
        content: RawJson::from_validated(format!(r#"{{"name":"{name}","v":1}}"#)),
        status: ResourceStatus::Wip,
        revision: 1,
        created_at: now,
        last_changed_at: now,
        committed_at: None,
    }
}

pub(crate) fn resource_version_id() -> ResourceVersionId {
    ResourceVersionId::parse(&Uuid::new_v4().to_string()).expect("valid resource version id")
}

pub(crate) fn resource_name(raw: &str) -> ResourceName {
    ResourceName::parse(raw).expect("valid resource name")
}

/// Adds `resource` to the WIP `version_id`, which must succeed.
pub(crate) async fn add(
    repo: &dyn AppDataRepository,
    version_id: VersionId,
    resource: &ResourceVersion,
) {
    repo.create_resource(version_id, resource, &[])
        .await
        .unwrap_or_else(|err| panic!("create_resource in a WIP: {err:?}"));
}

pub(crate) fn param(key: &str, value: &str) -> ConfigParam {
    ConfigParam {
        key: fixtures::key(key),
        param_type: ConfigParamType::Value,
        value: value.to_owned(),
        description: None,
    }
}

/// A dependency on a fresh library and build id (the store checks no reference to builds).
pub(crate) fn dependency() -> domain::design::model::VersionDependency {
    domain::design::model::VersionDependency {
        library_id: ApplicationId::random(),
        build_id: BuildId::random(),
    }
}
