//! Fresh, valid values for the checks: random ids, millisecond timestamps.

use bytes::Bytes;
use domain::model::{
    ActivePolicy, ApplicationId, ApplicationKind, BranchName, Build, BuildHeader, BuildId,
    BuildOrigin, BuildResource, BuildSettings, Checksum, ConfigKey, ConfigOverride,
    ConfigParamType, DomainEvent, ManifestEntry, NumberFormat, Platforms, PolicyOverride,
    PolicyOverrideId, PolicyTarget, RawJson, ResourceDefinitionId, ResourceName, ResourceType,
    ResourceVersionId, SubjectType, VersionId,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Now, cut to whole milliseconds so that every backend stores it exactly.
pub(crate) fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_millisecond(now.millisecond()).expect("a millisecond of a valid instant is valid")
}

/// A moment `seconds` from now (negative: in the past), in whole milliseconds.
pub(crate) fn seconds_from_now(seconds: i64) -> OffsetDateTime {
    now() + Duration::seconds(seconds)
}

/// A random checksum.
pub(crate) fn checksum() -> Checksum {
    let hex = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    Checksum::parse(&hex).expect("two simple uuids are 64 lowercase hex digits")
}

pub(crate) fn branch(raw: &str) -> BranchName {
    BranchName::parse(raw).expect("valid branch")
}

pub(crate) fn key(raw: &str) -> ConfigKey {
    ConfigKey::parse(raw).expect("valid config key")
}

pub(crate) fn resource_type(raw: &str) -> ResourceType {
    ResourceType::parse(raw).expect("valid resource type")
}

/// The header of a fresh project build on `branch`, created and stored at `created_at`.
pub(crate) fn header(
    application_id: ApplicationId,
    branch_name: &str,
    created_at: OffsetDateTime,
) -> BuildHeader {
    BuildHeader {
        id: BuildId::random(),
        application_id,
        application_name: "contract-app".to_owned(),
        application_kind: ApplicationKind::Application,
        workspace_id: None,
        application_version_id: VersionId::random(),
        branch: branch(branch_name),
        name: "contract build".to_owned(),
        version_tag: Some("1.0.0".to_owned()),
        description: None,
        checksum: checksum(),
        origin: BuildOrigin::Imported,
        created_at,
        created_by: "contracts".to_owned(),
        stored_at: created_at,
    }
}

/// A whole build around `header`, with one manifest entry per resource in `resources`.
pub(crate) fn build(header: BuildHeader, resources: &[BuildResource]) -> Build {
    Build {
        header,
        settings: BuildSettings {
            platforms: Platforms::Omnichannel,
            theme_id: None,
            date_format: "short".to_owned(),
            number_format: NumberFormat::new(0, 2).expect("valid number format"),
            currency_format: "isoCode".to_owned(),
            languages: vec!["en".to_owned()],
            default_language_code: "en".to_owned(),
        },
        dependencies: Vec::new(),
        config_params: Vec::new(),
        manifest: resources.iter().map(|resource| resource.entry.clone()).collect(),
    }
}

/// A resource of `build_id` with a fresh definition id.
pub(crate) fn resource(build_id: BuildId, type_name: &str, name: &str) -> BuildResource {
    let definition_id = Uuid::new_v4().to_string();
    BuildResource {
        build_id,
        entry: ManifestEntry {
            resource_type: resource_type(type_name),
            definition_id: ResourceDefinitionId::parse(&definition_id)
                .expect("a uuid is a valid definition id"),
            version_id: ResourceVersionId::parse(&Uuid::new_v4().to_string())
                .expect("a uuid is a valid version id"),
            name: ResourceName::parse(name).expect("valid resource name"),
        },
        content: RawJson::from_validated(format!(
            r#"{{"name":"{name}","definitionId":"{definition_id}"}}"#
        )),
    }
}

pub(crate) fn policy(application_id: ApplicationId, target: PolicyTarget) -> ActivePolicy {
    ActivePolicy { application_id, target, updated_by: "contracts".to_owned(), updated_at: now() }
}

pub(crate) fn policy_override(
    application_id: ApplicationId,
    subject_type: SubjectType,
    subject_id: &str,
    target: PolicyTarget,
) -> PolicyOverride {
    PolicyOverride {
        id: PolicyOverrideId::random(),
        application_id,
        subject_type,
        subject_id: subject_id.to_owned(),
        target,
        updated_by: "contracts".to_owned(),
        updated_at: now(),
    }
}

pub(crate) fn config_override(
    application_id: ApplicationId,
    key_name: &str,
    value: &str,
) -> ConfigOverride {
    ConfigOverride {
        application_id,
        key: key(key_name),
        param_type: ConfigParamType::Value,
        value: value.to_owned(),
        updated_by: "contracts".to_owned(),
        updated_at: now(),
    }
}

/// One event about `application_id`, to tell which outbox records a check wrote.
pub(crate) fn event(application_id: ApplicationId) -> DomainEvent {
    DomainEvent::ActivePolicyUpdated { application_id }
}

/// `len` bytes of a repeating pattern.
pub(crate) fn bytes(len: usize) -> Bytes {
    (0..len).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into()
}
