//! The stored shapes of `builds` and `build_resources`: serde mirrors of the domain types
//! with the original platform's camelCase field names, and their conversions.
//!
//! A `builds` document:
//!
//! ```text
//! { _id: "<buildId>", status: "COMPLETE", applicationId, applicationName, applicationType,
//!   workspaceId?, applicationVersionId, branch, name, versionTag?, description?, checksum,
//!   origin, createdAt, createdBy, storedAt, publishedAt,
//!   buildSettings: { platforms, themeId?, dateDisplayFormat: { format },
//!                    numberDisplayFormat: { minDecimals, maxDecimals },
//!                    currencyDisplayFormat: { format }, languages, defaultLanguageCode },
//!   dependencies: [{ applicationId, buildId }],
//!   configParams: [{ key, type, value, description? }],
//!   manifest: [{ resourceType, resourceDefinitionId, resourceVersionId, name }] }
//! ```
//!
//! While resources are staged the document is only `{ _id, status: "STAGING", stagedAt }`;
//! readers look for `status: "COMPLETE"` only.
//!
//! A `build_resources` document: `{ _id: ObjectId, buildId, resourceType,
//! resourceDefinitionId, resourceVersionId, name, content: { ... } }`, where `content` is the
//! resource's JSON as a BSON document (see `content.rs`).

use domain::model::{
    ApplicationId, ApplicationKind, BranchName, Build, BuildDependency, BuildHeader, BuildId,
    BuildOrigin, BuildResource, BuildSettings, Checksum, ConfigKey, ConfigParam, ConfigParamType,
    ManifestEntry, NumberFormat, Platforms, RawJson, ResourceDefinitionId, ResourceName,
    ResourceType, ResourceVersionId, ValidationError, VersionId, WorkspaceId,
};
use mongodb::bson::{DateTime, RawDocumentBuf};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::content::{self, ContentError};

/// Field names used in filters, kept next to the structs that define them.
pub(crate) mod fields {
    pub(crate) const ID: &str = "_id";
    pub(crate) const STATUS: &str = "status";
    pub(crate) const STAGED_AT: &str = "stagedAt";
    pub(crate) const CHECKSUM: &str = "checksum";
    pub(crate) const APPLICATION_ID: &str = "applicationId";
    pub(crate) const CREATED_AT: &str = "createdAt";
    pub(crate) const BUILD_ID: &str = "buildId";
    pub(crate) const RESOURCE_TYPE: &str = "resourceType";
    pub(crate) const RESOURCE_DEFINITION_ID: &str = "resourceDefinitionId";
    pub(crate) const NAME: &str = "name";
}

/// Where a build document stands. Only `Complete` builds exist for readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum BuildStatus {
    /// Resources are being staged; the document holds no build yet.
    Staging,
    /// Published: the whole build, visible, never changed.
    Complete,
}

impl BuildStatus {
    pub(crate) const STAGING: &str = "STAGING";
    pub(crate) const COMPLETE: &str = "COMPLETE";
}

/// What `publish_build` and `stage_resources` need to know about an existing document.
#[derive(Debug, Deserialize)]
pub(crate) struct BuildState {
    pub(crate) status: BuildStatus,
    pub(crate) checksum: Option<String>,
}

/// A published build as stored in `builds`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BuildDoc {
    #[serde(rename = "_id")]
    id: String,
    status: BuildStatus,
    application_id: String,
    application_name: String,
    application_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
    application_version_id: String,
    branch: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    version_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    checksum: String,
    origin: String,
    created_at: DateTime,
    created_by: String,
    stored_at: DateTime,
    published_at: DateTime,
    build_settings: SettingsDoc,
    dependencies: Vec<DependencyDoc>,
    config_params: Vec<ConfigParamDoc>,
    manifest: Vec<ManifestDoc>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingsDoc {
    platforms: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    theme_id: Option<String>,
    date_display_format: FormatDoc,
    number_display_format: NumberFormatDoc,
    currency_display_format: FormatDoc,
    languages: Vec<String>,
    default_language_code: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct FormatDoc {
    format: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NumberFormatDoc {
    min_decimals: u8,
    max_decimals: u8,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DependencyDoc {
    application_id: String,
    build_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct ConfigParamDoc {
    key: String,
    #[serde(rename = "type")]
    param_type: String,
    value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc {
    resource_type: String,
    resource_definition_id: String,
    resource_version_id: String,
    name: String,
}

/// A stored document that does not make a valid domain value.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DocumentError {
    #[error("stored build {id} is invalid: {source}")]
    Build {
        id: String,
        #[source]
        source: ValidationError,
    },
    #[error("stored resource of build {build_id} is invalid: {source}")]
    Resource {
        build_id: String,
        #[source]
        source: ValidationError,
    },
    #[error("stored date {0} is out of range")]
    Date(i64),
    #[error(transparent)]
    Content(#[from] ContentError),
}

impl BuildDoc {
    /// The document that publishes `build` at `published_at`.
    pub(crate) fn complete(build: &Build, published_at: OffsetDateTime) -> Self {
        let header = &build.header;
        let settings = &build.settings;
        Self {
            id: header.id.to_string(),
            status: BuildStatus::Complete,
            application_id: header.application_id.to_string(),
            application_name: header.application_name.clone(),
            application_type: header.application_kind.as_str().to_owned(),
            workspace_id: header.workspace_id.map(|id| id.to_string()),
            application_version_id: header.application_version_id.to_string(),
            branch: header.branch.to_string(),
            name: header.name.clone(),
            version_tag: header.version_tag.clone(),
            description: header.description.clone(),
            checksum: header.checksum.to_string(),
            origin: header.origin.as_str().to_owned(),
            created_at: to_bson_date(header.created_at),
            created_by: header.created_by.clone(),
            stored_at: to_bson_date(header.stored_at),
            published_at: to_bson_date(published_at),
            build_settings: SettingsDoc {
                platforms: settings.platforms.as_str().to_owned(),
                theme_id: settings.theme_id.clone(),
                date_display_format: FormatDoc { format: settings.date_format.clone() },
                number_display_format: NumberFormatDoc {
                    min_decimals: settings.number_format.min_decimals(),
                    max_decimals: settings.number_format.max_decimals(),
                },
                currency_display_format: FormatDoc { format: settings.currency_format.clone() },
                languages: settings.languages.clone(),
                default_language_code: settings.default_language_code.clone(),
            },
            dependencies: build
                .dependencies
                .iter()
                .map(|dependency| DependencyDoc {
                    application_id: dependency.application_id.to_string(),
                    build_id: dependency.build_id.to_string(),
                })
                .collect(),
            config_params: build
                .config_params
                .iter()
                .map(|param| ConfigParamDoc {
                    key: param.key.to_string(),
                    param_type: param.param_type.as_str().to_owned(),
                    value: param.value.clone(),
                    description: param.description.clone(),
                })
                .collect(),
            manifest: build
                .manifest
                .iter()
                .map(|entry| ManifestDoc {
                    resource_type: entry.resource_type.to_string(),
                    resource_definition_id: entry.definition_id.to_string(),
                    resource_version_id: entry.version_id.to_string(),
                    name: entry.name.to_string(),
                })
                .collect(),
        }
    }

    /// The domain build; stored values are checked again, as other services share the store.
    pub(crate) fn into_domain(self) -> Result<Build, DocumentError> {
        let id = self.id.clone();
        let invalid = |source| DocumentError::Build { id: id.clone(), source };
        let settings = self.build_settings;
        let header = BuildHeader {
            id: BuildId::parse(&self.id).map_err(invalid)?,
            application_id: ApplicationId::parse(&self.application_id).map_err(invalid)?,
            application_name: self.application_name,
            application_kind: ApplicationKind::parse(&self.application_type).map_err(invalid)?,
            workspace_id: self
                .workspace_id
                .as_deref()
                .map(WorkspaceId::parse)
                .transpose()
                .map_err(invalid)?,
            application_version_id: VersionId::parse(&self.application_version_id)
                .map_err(invalid)?,
            branch: BranchName::parse(&self.branch).map_err(invalid)?,
            name: self.name,
            version_tag: self.version_tag,
            description: self.description,
            checksum: Checksum::parse(&self.checksum).map_err(invalid)?,
            origin: BuildOrigin::parse(&self.origin).map_err(invalid)?,
            created_at: from_bson_date(self.created_at)?,
            created_by: self.created_by,
            stored_at: from_bson_date(self.stored_at)?,
        };
        let settings = BuildSettings {
            platforms: Platforms::parse(&settings.platforms).map_err(invalid)?,
            theme_id: settings.theme_id,
            date_format: settings.date_display_format.format,
            number_format: NumberFormat::new(
                settings.number_display_format.min_decimals,
                settings.number_display_format.max_decimals,
            )
            .map_err(invalid)?,
            currency_format: settings.currency_display_format.format,
            languages: settings.languages,
            default_language_code: settings.default_language_code,
        };
        let dependencies = self
            .dependencies
            .into_iter()
            .map(|dependency| {
                Ok(BuildDependency {
                    application_id: ApplicationId::parse(&dependency.application_id)?,
                    build_id: BuildId::parse(&dependency.build_id)?,
                })
            })
            .collect::<Result<_, ValidationError>>()
            .map_err(invalid)?;
        let config_params = self
            .config_params
            .into_iter()
            .map(|param| {
                Ok(ConfigParam {
                    key: ConfigKey::parse(&param.key)?,
                    param_type: ConfigParamType::parse(&param.param_type)?,
                    value: param.value,
                    description: param.description,
                })
            })
            .collect::<Result<_, ValidationError>>()
            .map_err(invalid)?;
        let manifest = self
            .manifest
            .into_iter()
            .map(|entry| {
                Ok(ManifestEntry {
                    resource_type: ResourceType::parse(&entry.resource_type)?,
                    definition_id: ResourceDefinitionId::parse(&entry.resource_definition_id)?,
                    version_id: ResourceVersionId::parse(&entry.resource_version_id)?,
                    name: ResourceName::parse(&entry.name)?,
                })
            })
            .collect::<Result<_, ValidationError>>()
            .map_err(invalid)?;
        Ok(Build { header, settings, dependencies, config_params, manifest })
    }
}

/// One resource snapshot as stored in `build_resources`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourceDoc {
    build_id: String,
    resource_type: String,
    resource_definition_id: String,
    resource_version_id: String,
    name: String,
    /// Kept as raw bytes on both ways: serde never reinterprets what is inside.
    content: RawDocumentBuf,
}

impl ResourceDoc {
    /// The document of `resource`, filed under `build_id`.
    pub(crate) fn from_domain(
        build_id: BuildId,
        resource: &BuildResource,
    ) -> Result<Self, ContentError> {
        let entry = &resource.entry;
        Ok(Self {
            build_id: build_id.to_string(),
            resource_type: entry.resource_type.to_string(),
            resource_definition_id: entry.definition_id.to_string(),
            resource_version_id: entry.version_id.to_string(),
            name: entry.name.to_string(),
            content: content::json_to_bson(resource.content.as_str())?,
        })
    }

    pub(crate) fn build_id(&self) -> &str {
        &self.build_id
    }

    pub(crate) fn resource_type(&self) -> &str {
        &self.resource_type
    }

    pub(crate) fn resource_definition_id(&self) -> &str {
        &self.resource_definition_id
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The domain resource, its content as compact JSON text.
    pub(crate) fn into_domain(self) -> Result<BuildResource, DocumentError> {
        let build_id = self.build_id.clone();
        let invalid = |source| DocumentError::Resource { build_id: build_id.clone(), source };
        Ok(BuildResource {
            build_id: BuildId::parse(&self.build_id).map_err(invalid)?,
            entry: ManifestEntry {
                resource_type: ResourceType::parse(&self.resource_type).map_err(invalid)?,
                definition_id: ResourceDefinitionId::parse(&self.resource_definition_id)
                    .map_err(invalid)?,
                version_id: ResourceVersionId::parse(&self.resource_version_id).map_err(invalid)?,
                name: ResourceName::parse(&self.name).map_err(invalid)?,
            },
            content: RawJson::from_validated(content::bson_to_json(&self.content)?),
        })
    }
}

/// BSON dates hold milliseconds: finer parts of `at` are cut (towards the past).
pub(crate) fn to_bson_date(at: OffsetDateTime) -> DateTime {
    let millis = at.unix_timestamp_nanos().div_euclid(1_000_000);
    // Every `OffsetDateTime` (years ±9999) is within i64 milliseconds.
    DateTime::from_millis(i64::try_from(millis).unwrap_or(i64::MAX))
}

fn from_bson_date(date: DateTime) -> Result<OffsetDateTime, DocumentError> {
    let millis = date.timestamp_millis();
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map_err(|_| DocumentError::Date(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_keep_their_milliseconds_and_cut_the_rest() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let back = from_bson_date(to_bson_date(at)).unwrap();
        assert_eq!(back.unix_timestamp_nanos(), 1_700_000_000_123_000_000);
        let before_1970 = OffsetDateTime::from_unix_timestamp_nanos(-1_500_000).unwrap();
        assert_eq!(to_bson_date(before_1970).timestamp_millis(), -2);
    }
}
