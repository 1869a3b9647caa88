//! The stored form of cached values: JSON of mirror structs that this crate owns.
//!
//! The domain has no serde, and its types may change shape; these mirrors pin the format.
//! The format version lives in the key (see `RedisCache`), so a changed format is written
//! under new keys and never reads an old entry; the old ones expire with their TTL.
//! Decoding goes through the domain's validating constructors, so a cached value can never
//! smuggle in a value the domain would refuse.

use std::collections::BTreeMap;

use domain::model::{
    ActivePolicy, ApplicationId, ApplicationKind, BranchName, BuildDependency, BuildHeader,
    BuildId, BuildOrigin, BuildSettings, BuildSummary, Checksum, NumberFormat, Platforms,
    PolicyOverride, PolicyOverrideId, PolicySnapshot, PolicyTarget, SubjectType, ValidationError,
    VersionId, WorkspaceId,
};
use serde::{Deserialize, Serialize};
use serde_with::{DisplayFromStr, serde_as};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::CacheError;

/// Version of the stored format; part of every key.
pub(crate) const FORMAT_VERSION: u32 = 2;

/// The JSON text of `snapshot`.
pub(crate) fn encode_snapshot(snapshot: &PolicySnapshot) -> Result<String, CacheError> {
    Ok(serde_json::to_string(&SnapshotDoc::from_domain(snapshot))?)
}

/// The snapshot in `json`.
pub(crate) fn decode_snapshot(json: &str) -> Result<PolicySnapshot, CacheError> {
    serde_json::from_str::<SnapshotDoc>(json)?.into_domain()
}

/// The JSON text of `summary`.
pub(crate) fn encode_summary(summary: &BuildSummary) -> Result<String, CacheError> {
    Ok(serde_json::to_string(&SummaryDoc::from_domain(summary))?)
}

/// The build summary in `json`.
pub(crate) fn decode_summary(json: &str) -> Result<BuildSummary, CacheError> {
    serde_json::from_str::<SummaryDoc>(json)?.into_domain()
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SnapshotDoc {
    revision: u64,
    global: Option<PolicyDoc>,
    overrides: Vec<OverrideDoc>,
    latest_by_branch: BTreeMap<String, Uuid>,
}

impl SnapshotDoc {
    fn from_domain(snapshot: &PolicySnapshot) -> Self {
        Self {
            revision: snapshot.revision(),
            global: snapshot.global.as_ref().map(PolicyDoc::from_domain),
            overrides: snapshot.overrides().iter().map(OverrideDoc::from_domain).collect(),
            latest_by_branch: snapshot
                .latest_by_branch
                .iter()
                .map(|(branch, build)| (branch.as_str().to_owned(), *build.as_uuid()))
                .collect(),
        }
    }

    fn into_domain(self) -> Result<PolicySnapshot, CacheError> {
        Ok(PolicySnapshot::new(
            self.revision,
            self.global.map(PolicyDoc::into_domain).transpose()?,
            self.overrides.into_iter().map(OverrideDoc::into_domain).collect::<Result<_, _>>()?,
            self.latest_by_branch
                .into_iter()
                .map(|(branch, build)| Ok((BranchName::parse(&branch)?, BuildId::from_uuid(build))))
                .collect::<Result<_, ValidationError>>()?,
        ))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PolicyDoc {
    application_id: Uuid,
    target: TargetDoc,
    updated_by: String,
    #[serde(with = "rfc3339")]
    updated_at: OffsetDateTime,
}

impl PolicyDoc {
    fn from_domain(policy: &ActivePolicy) -> Self {
        Self {
            application_id: *policy.application_id.as_uuid(),
            target: TargetDoc::from_domain(&policy.target),
            updated_by: policy.updated_by.clone(),
            updated_at: policy.updated_at,
        }
    }

    fn into_domain(self) -> Result<ActivePolicy, CacheError> {
        Ok(ActivePolicy {
            application_id: ApplicationId::from_uuid(self.application_id),
            target: self.target.into_domain()?,
            updated_by: self.updated_by,
            updated_at: self.updated_at,
        })
    }
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OverrideDoc {
    id: Uuid,
    application_id: Uuid,
    #[serde_as(as = "DisplayFromStr")]
    subject_type: SubjectType,
    subject_id: String,
    target: TargetDoc,
    updated_by: String,
    #[serde(with = "rfc3339")]
    updated_at: OffsetDateTime,
}

impl OverrideDoc {
    fn from_domain(policy: &PolicyOverride) -> Self {
        Self {
            id: *policy.id.as_uuid(),
            application_id: *policy.application_id.as_uuid(),
            subject_type: policy.subject_type,
            subject_id: policy.subject_id.clone(),
            target: TargetDoc::from_domain(&policy.target),
            updated_by: policy.updated_by.clone(),
            updated_at: policy.updated_at,
        }
    }

    fn into_domain(self) -> Result<PolicyOverride, CacheError> {
        PolicyOverride::validate_subject(&self.subject_id)?;
        Ok(PolicyOverride {
            id: PolicyOverrideId::from_uuid(self.id),
            application_id: ApplicationId::from_uuid(self.application_id),
            subject_type: self.subject_type,
            subject_id: self.subject_id,
            target: self.target.into_domain()?,
            updated_by: self.updated_by,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields)]
enum TargetDoc {
    Build {
        #[serde(rename = "buildId")]
        build_id: Uuid,
    },
    LatestOnBranch {
        branch: String,
    },
}

impl TargetDoc {
    fn from_domain(target: &PolicyTarget) -> Self {
        match target {
            PolicyTarget::Build(build_id) => Self::Build { build_id: *build_id.as_uuid() },
            PolicyTarget::LatestOnBranch(branch) => {
                Self::LatestOnBranch { branch: branch.as_str().to_owned() }
            }
        }
    }

    fn into_domain(self) -> Result<PolicyTarget, CacheError> {
        Ok(match self {
            Self::Build { build_id } => PolicyTarget::Build(BuildId::from_uuid(build_id)),
            Self::LatestOnBranch { branch } => {
                PolicyTarget::LatestOnBranch(BranchName::parse(&branch)?)
            }
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SummaryDoc {
    header: HeaderDoc,
    settings: SettingsDoc,
    dependencies: Vec<DependencyDoc>,
}

impl SummaryDoc {
    fn from_domain(summary: &BuildSummary) -> Self {
        Self {
            header: HeaderDoc::from_domain(&summary.header),
            settings: SettingsDoc::from_domain(&summary.settings),
            dependencies: summary.dependencies.iter().map(DependencyDoc::from_domain).collect(),
        }
    }

    fn into_domain(self) -> Result<BuildSummary, CacheError> {
        Ok(BuildSummary {
            header: self.header.into_domain()?,
            settings: self.settings.into_domain()?,
            dependencies: self.dependencies.into_iter().map(DependencyDoc::into_domain).collect(),
        })
    }
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HeaderDoc {
    id: Uuid,
    application_id: Uuid,
    application_name: String,
    #[serde_as(as = "DisplayFromStr")]
    application_kind: ApplicationKind,
    workspace_id: Option<Uuid>,
    application_version_id: Uuid,
    branch: String,
    name: String,
    version_tag: Option<String>,
    description: Option<String>,
    checksum: String,
    #[serde_as(as = "DisplayFromStr")]
    origin: BuildOrigin,
    #[serde(with = "rfc3339")]
    created_at: OffsetDateTime,
    created_by: String,
    #[serde(with = "rfc3339")]
    stored_at: OffsetDateTime,
}

impl HeaderDoc {
    fn from_domain(header: &BuildHeader) -> Self {
        Self {
            id: *header.id.as_uuid(),
            application_id: *header.application_id.as_uuid(),
            application_name: header.application_name.clone(),
            application_kind: header.application_kind,
            workspace_id: header.workspace_id.map(|id| *id.as_uuid()),
            application_version_id: *header.application_version_id.as_uuid(),
            branch: header.branch.as_str().to_owned(),
            name: header.name.clone(),
            version_tag: header.version_tag.clone(),
            description: header.description.clone(),
            checksum: header.checksum.as_str().to_owned(),
            origin: header.origin,
            created_at: header.created_at,
            created_by: header.created_by.clone(),
            stored_at: header.stored_at,
        }
    }

    fn into_domain(self) -> Result<BuildHeader, CacheError> {
        Ok(BuildHeader {
            id: BuildId::from_uuid(self.id),
            application_id: ApplicationId::from_uuid(self.application_id),
            application_name: self.application_name,
            application_kind: self.application_kind,
            workspace_id: self.workspace_id.map(WorkspaceId::from_uuid),
            application_version_id: VersionId::from_uuid(self.application_version_id),
            branch: BranchName::parse(&self.branch)?,
            name: self.name,
            version_tag: self.version_tag,
            description: self.description,
            checksum: Checksum::parse(&self.checksum)?,
            origin: self.origin,
            created_at: self.created_at,
            created_by: self.created_by,
            stored_at: self.stored_at,
        })
    }
}

#[serde_as]
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SettingsDoc {
    #[serde_as(as = "DisplayFromStr")]
    platforms: Platforms,
    theme_id: Option<String>,
    date_format: String,
    min_decimals: u8,
    max_decimals: u8,
    currency_format: String,
    languages: Vec<String>,
    default_language_code: String,
}

impl SettingsDoc {
    fn from_domain(settings: &BuildSettings) -> Self {
        Self {
            platforms: settings.platforms,
            theme_id: settings.theme_id.clone(),
            date_format: settings.date_format.clone(),
            min_decimals: settings.number_format.min_decimals(),
            max_decimals: settings.number_format.max_decimals(),
            currency_format: settings.currency_format.clone(),
            languages: settings.languages.clone(),
            default_language_code: settings.default_language_code.clone(),
        }
    }

    fn into_domain(self) -> Result<BuildSettings, CacheError> {
        Ok(BuildSettings {
            platforms: self.platforms,
            theme_id: self.theme_id,
            date_format: self.date_format,
            number_format: NumberFormat::new(self.min_decimals, self.max_decimals)?,
            currency_format: self.currency_format,
            languages: self.languages,
            default_language_code: self.default_language_code,
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DependencyDoc {
    application_id: Uuid,
    build_id: Uuid,
}

impl DependencyDoc {
    fn from_domain(dependency: &BuildDependency) -> Self {
        Self {
            application_id: *dependency.application_id.as_uuid(),
            build_id: *dependency.build_id.as_uuid(),
        }
    }

    fn into_domain(self) -> BuildDependency {
        BuildDependency {
            application_id: ApplicationId::from_uuid(self.application_id),
            build_id: BuildId::from_uuid(self.build_id),
        }
    }
}

/// Timestamps as RFC 3339 text: exact to the nanosecond, offset kept, readable in
/// `redis-cli`. (The workspace's `time` has no serde feature.)
mod rfc3339 {
    use serde::{Deserialize as _, Deserializer, Serializer, de, ser};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub(super) fn serialize<S: Serializer>(
        at: &OffsetDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let text = at.format(&Rfc3339).map_err(ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let text = <&str>::deserialize(deserializer)?;
        OffsetDateTime::parse(text, &Rfc3339).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn snapshot() -> PolicySnapshot {
        let application_id = ApplicationId::random();
        PolicySnapshot::new(
            42,
            Some(ActivePolicy {
                application_id,
                target: PolicyTarget::LatestOnBranch(BranchName::parse("main").unwrap()),
                updated_by: "alice".to_owned(),
                updated_at: datetime!(2026-11-24 10:15:30.123 +02:00),
            }),
            vec![
                PolicyOverride {
                    id: PolicyOverrideId::random(),
                    application_id,
                    subject_type: SubjectType::User,
                    subject_id: "bob".to_owned(),
                    target: PolicyTarget::Build(BuildId::random()),
                    updated_by: "alice".to_owned(),
                    updated_at: datetime!(2026-11-24 10:15:30.123456789 UTC),
                },
                PolicyOverride {
                    id: PolicyOverrideId::random(),
                    application_id,
                    subject_type: SubjectType::Role,
                    subject_id: "ROLE_ADMIN".to_owned(),
                    target: PolicyTarget::LatestOnBranch(BranchName::parse("dev").unwrap()),
                    updated_by: "carol".to_owned(),
                    updated_at: datetime!(2026-11-24 10:15:30 UTC),
                },
            ],
            BTreeMap::from([
                (BranchName::parse("main").unwrap(), BuildId::random()),
                (BranchName::parse("dev").unwrap(), BuildId::random()),
            ]),
        )
    }

    #[test]
    fn a_snapshot_survives_the_round_trip_with_offsets_and_nanoseconds() {
        let snapshot = snapshot();

        let json = encode_snapshot(&snapshot).unwrap();
        let decoded = decode_snapshot(&json).unwrap();

        assert_eq!(decoded, snapshot);
        assert_eq!(decoded.revision(), 42);
        let global = decoded.global.unwrap();
        assert_eq!(global.updated_at.offset(), time::macros::offset!(+02:00));
    }

    #[test]
    fn an_empty_snapshot_survives_the_round_trip() {
        let snapshot = PolicySnapshot::new(0, None, vec![], BTreeMap::new());

        let decoded = decode_snapshot(&encode_snapshot(&snapshot).unwrap()).unwrap();

        assert_eq!(decoded, snapshot);
    }

    #[test]
    fn the_stored_form_is_plain_json_with_named_enums() {
        let json = encode_snapshot(&snapshot()).unwrap();

        assert!(json.contains(r#""kind":"LATEST_ON_BRANCH""#), "{json}");
        assert!(json.contains(r#""subjectType":"ROLE""#), "{json}");
        assert!(json.contains(r#""updatedAt":"2026-11-24T10:15:30.123+02:00""#), "{json}");
    }

    #[test]
    fn a_value_the_domain_would_refuse_does_not_decode() {
        let json = encode_snapshot(&snapshot()).unwrap().replace(r#""main""#, r#""no/slashes""#);

        let err = decode_snapshot(&json).unwrap_err();

        assert!(matches!(err, CacheError::Invalid(_)), "{err:?}");
    }

    #[test]
    fn text_that_is_not_a_snapshot_does_not_decode() {
        assert!(matches!(decode_snapshot("{}"), Err(CacheError::Json(_))));
        assert!(matches!(decode_summary("[1,2]"), Err(CacheError::Json(_))));
    }
}
