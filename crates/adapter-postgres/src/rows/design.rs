//! Rows of the design-time tables and their conversions to and from the design model.

use diesel::prelude::*;
use domain::design::model::{
    Application, Branch, CommitMessage, ResourceStatus, ResourceVersion, Version,
    VersionDependency, VersionManifestEntry, VersionStatus,
};
use domain::model::{
    ApplicationId, ApplicationName, BranchName, BuildId, BuildSettings, ConfigKey, ConfigParam,
    NumberFormat, RawJson, ResourceDefinitionId, ResourceName, ResourceType, ResourceVersionId,
    VersionId, WorkspaceId,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::PgError;
use crate::rows::parse_word;
use crate::schema::{
    applications, branches, manifest_links, resource_versions, version_config_defaults,
    version_dependencies, versions,
};

/// A text column holding a validated domain value; what fails the check is a row this
/// version did not write.
fn parse_text<T, E: ToString>(
    what: &'static str,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, PgError> {
    parse(text).map_err(|err| PgError::invalid_row(what, err))
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = applications, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ApplicationRow {
    id: Uuid,
    workspace_id: Option<Uuid>,
    name: String,
    kind: String,
    description: Option<String>,
    created_by: String,
    created_at: OffsetDateTime,
    updated_by: String,
    updated_at: OffsetDateTime,
    deleted_at: Option<OffsetDateTime>,
}

impl From<&Application> for ApplicationRow {
    fn from(application: &Application) -> Self {
        Self {
            id: *application.id.as_uuid(),
            workspace_id: application.workspace_id.map(|id| *id.as_uuid()),
            name: application.name.as_str().to_owned(),
            kind: application.kind.as_str().to_owned(),
            description: application.description.clone(),
            created_by: application.created_by.clone(),
            created_at: application.created_at,
            updated_by: application.updated_by.clone(),
            updated_at: application.updated_at,
            deleted_at: application.deleted_at,
        }
    }
}

impl TryFrom<ApplicationRow> for Application {
    type Error = PgError;

    fn try_from(row: ApplicationRow) -> Result<Self, PgError> {
        Ok(Self {
            id: ApplicationId::from_uuid(row.id),
            workspace_id: row.workspace_id.map(WorkspaceId::from_uuid),
            name: parse_text("application", &row.name, ApplicationName::parse)?,
            kind: parse_word("application", &row.kind)?,
            description: row.description,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_by: row.updated_by,
            updated_at: row.updated_at,
            deleted_at: row.deleted_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = branches, check_for_backend(diesel::pg::Pg))]
pub(crate) struct BranchRow {
    application_id: Uuid,
    name: String,
    created_from: Option<Uuid>,
    created_by: String,
    created_at: OffsetDateTime,
}

impl From<&Branch> for BranchRow {
    fn from(branch: &Branch) -> Self {
        Self {
            application_id: *branch.application_id.as_uuid(),
            name: branch.name.as_str().to_owned(),
            created_from: branch.created_from.map(|id| *id.as_uuid()),
            created_by: branch.created_by.clone(),
            created_at: branch.created_at,
        }
    }
}

impl TryFrom<BranchRow> for Branch {
    type Error = PgError;

    fn try_from(row: BranchRow) -> Result<Self, PgError> {
        Ok(Self {
            application_id: ApplicationId::from_uuid(row.application_id),
            name: parse_text("branch", &row.name, BranchName::parse)?,
            created_from: row.created_from.map(VersionId::from_uuid),
            created_by: row.created_by,
            created_at: row.created_at,
        })
    }
}

/// `versions.settings`: this adapter's JSON of `BuildSettings`, camelCase, read back through
/// the model's validating constructors.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SettingsJson {
    platforms: String,
    #[serde(default)]
    theme_id: Option<String>,
    date_format: String,
    min_decimals: u8,
    max_decimals: u8,
    currency_format: String,
    languages: Vec<String>,
    default_language_code: String,
}

impl SettingsJson {
    fn encode(settings: &BuildSettings) -> Result<serde_json::Value, PgError> {
        let json = Self {
            platforms: settings.platforms.as_str().to_owned(),
            theme_id: settings.theme_id.clone(),
            date_format: settings.date_format.clone(),
            min_decimals: settings.number_format.min_decimals(),
            max_decimals: settings.number_format.max_decimals(),
            currency_format: settings.currency_format.clone(),
            languages: settings.languages.clone(),
            default_language_code: settings.default_language_code.clone(),
        };
        serde_json::to_value(json).map_err(PgError::EncodeSettings)
    }

    fn decode(value: serde_json::Value) -> Result<BuildSettings, PgError> {
        let json: Self =
            serde_json::from_value(value).map_err(|err| PgError::invalid_row("version", err))?;
        Ok(BuildSettings {
            platforms: parse_word("version", &json.platforms)?,
            theme_id: json.theme_id,
            date_format: json.date_format,
            number_format: NumberFormat::new(json.min_decimals, json.max_decimals)
                .map_err(|err| PgError::invalid_row("version", err))?,
            currency_format: json.currency_format,
            languages: json.languages,
            default_language_code: json.default_language_code,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = versions, check_for_backend(diesel::pg::Pg))]
pub(crate) struct VersionRow {
    id: Uuid,
    application_id: Uuid,
    branch: String,
    status: String,
    parent_id: Option<Uuid>,
    commit_message: Option<String>,
    settings: serde_json::Value,
    created_by: String,
    created_at: OffsetDateTime,
    committed_by: Option<String>,
    committed_at: Option<OffsetDateTime>,
    last_changed_at: OffsetDateTime,
}

impl VersionRow {
    /// The row of `version`; fails only if its settings cannot be encoded.
    pub(crate) fn new(version: &Version) -> Result<Self, PgError> {
        Ok(Self {
            id: *version.id.as_uuid(),
            application_id: *version.application_id.as_uuid(),
            branch: version.branch.as_str().to_owned(),
            status: version.status.as_str().to_owned(),
            parent_id: version.parent_id.map(|id| *id.as_uuid()),
            commit_message: version.commit_message.as_ref().map(|m| m.as_str().to_owned()),
            settings: SettingsJson::encode(&version.settings)?,
            created_by: version.created_by.clone(),
            created_at: version.created_at,
            committed_by: version.committed_by.clone(),
            committed_at: version.committed_at,
            last_changed_at: version.last_changed_at,
        })
    }

    /// The stored settings column of `settings`.
    pub(crate) fn settings(settings: &BuildSettings) -> Result<serde_json::Value, PgError> {
        SettingsJson::encode(settings)
    }
}

impl TryFrom<VersionRow> for Version {
    type Error = PgError;

    fn try_from(row: VersionRow) -> Result<Self, PgError> {
        Ok(Self {
            id: VersionId::from_uuid(row.id),
            application_id: ApplicationId::from_uuid(row.application_id),
            branch: parse_text("version", &row.branch, BranchName::parse)?,
            status: parse_text("version", &row.status, VersionStatus::parse)?,
            parent_id: row.parent_id.map(VersionId::from_uuid),
            commit_message: row
                .commit_message
                .as_deref()
                .map(|message| parse_text("version", message, CommitMessage::parse))
                .transpose()?,
            settings: SettingsJson::decode(row.settings)?,
            created_by: row.created_by,
            created_at: row.created_at,
            committed_by: row.committed_by,
            committed_at: row.committed_at,
            last_changed_at: row.last_changed_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = resource_versions, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ResourceVersionRow {
    id: String,
    definition_id: String,
    resource_type: String,
    name: String,
    content: String,
    status: String,
    revision: i64,
    created_at: OffsetDateTime,
    last_changed_at: OffsetDateTime,
    committed_at: Option<OffsetDateTime>,
}

impl From<&ResourceVersion> for ResourceVersionRow {
    fn from(resource: &ResourceVersion) -> Self {
        Self {
            id: resource.id.as_str().to_owned(),
            definition_id: resource.definition_id.as_str().to_owned(),
            resource_type: resource.resource_type.as_str().to_owned(),
            name: resource.name.as_str().to_owned(),
            content: resource.content.as_str().to_owned(),
            status: resource.status.as_str().to_owned(),
            // A revision counts edits by hand; it never nears i64::MAX.
            revision: i64::try_from(resource.revision).unwrap_or(i64::MAX),
            created_at: resource.created_at,
            last_changed_at: resource.last_changed_at,
            committed_at: resource.committed_at,
        }
    }
}

impl TryFrom<ResourceVersionRow> for ResourceVersion {
    type Error = PgError;

    fn try_from(row: ResourceVersionRow) -> Result<Self, PgError> {
        let what = "resource version";
        Ok(Self {
            id: parse_text(what, &row.id, ResourceVersionId::parse)?,
            definition_id: parse_text(what, &row.definition_id, ResourceDefinitionId::parse)?,
            resource_type: parse_text(what, &row.resource_type, ResourceType::parse)?,
            name: parse_text(what, &row.name, ResourceName::parse)?,
            // Stored as text, so it is byte for byte what was validated when written.
            content: RawJson::from_validated(row.content),
            status: parse_text(what, &row.status, ResourceStatus::parse)?,
            revision: u64::try_from(row.revision).map_err(|err| PgError::invalid_row(what, err))?,
            created_at: row.created_at,
            last_changed_at: row.last_changed_at,
            committed_at: row.committed_at,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = manifest_links, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ManifestLinkRow {
    version_id: Uuid,
    resource_type: String,
    definition_id: String,
    name: String,
    resource_version_id: String,
}

impl ManifestLinkRow {
    /// The link from `version_id` to `resource`.
    pub(crate) fn new(version_id: VersionId, resource: &ResourceVersion) -> Self {
        Self {
            version_id: *version_id.as_uuid(),
            resource_type: resource.resource_type.as_str().to_owned(),
            definition_id: resource.definition_id.as_str().to_owned(),
            name: resource.name.as_str().to_owned(),
            resource_version_id: resource.id.as_str().to_owned(),
        }
    }
}

/// A manifest line: the link's columns and the linked resource version's status and times,
/// in the order of [`MANIFEST_COLUMNS`].
#[derive(Debug, Queryable)]
pub(crate) struct ManifestEntryRow {
    resource_type: String,
    definition_id: String,
    resource_version_id: String,
    name: String,
    status: String,
    last_changed_at: OffsetDateTime,
    committed_at: Option<OffsetDateTime>,
}

/// What a manifest query selects from `manifest_links` joined with `resource_versions`.
pub(crate) const MANIFEST_COLUMNS: (
    manifest_links::resource_type,
    manifest_links::definition_id,
    manifest_links::resource_version_id,
    manifest_links::name,
    resource_versions::status,
    resource_versions::last_changed_at,
    resource_versions::committed_at,
) = (
    manifest_links::resource_type,
    manifest_links::definition_id,
    manifest_links::resource_version_id,
    manifest_links::name,
    resource_versions::status,
    resource_versions::last_changed_at,
    resource_versions::committed_at,
);

impl TryFrom<ManifestEntryRow> for VersionManifestEntry {
    type Error = PgError;

    fn try_from(row: ManifestEntryRow) -> Result<Self, PgError> {
        let what = "manifest link";
        Ok(Self {
            resource_type: parse_text(what, &row.resource_type, ResourceType::parse)?,
            definition_id: parse_text(what, &row.definition_id, ResourceDefinitionId::parse)?,
            resource_version_id: parse_text(
                what,
                &row.resource_version_id,
                ResourceVersionId::parse,
            )?,
            name: parse_text(what, &row.name, ResourceName::parse)?,
            status: parse_text(what, &row.status, ResourceStatus::parse)?,
            last_changed_at: row.last_changed_at,
            last_committed_at: row.committed_at,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = version_dependencies, check_for_backend(diesel::pg::Pg))]
pub(crate) struct DependencyRow {
    version_id: Uuid,
    library_id: Uuid,
    build_id: Uuid,
}

impl DependencyRow {
    /// The row of `version_id`'s dependency.
    pub(crate) fn new(version_id: VersionId, dependency: &VersionDependency) -> Self {
        Self {
            version_id: *version_id.as_uuid(),
            library_id: *dependency.library_id.as_uuid(),
            build_id: *dependency.build_id.as_uuid(),
        }
    }
}

impl From<DependencyRow> for VersionDependency {
    fn from(row: DependencyRow) -> Self {
        Self {
            library_id: ApplicationId::from_uuid(row.library_id),
            build_id: BuildId::from_uuid(row.build_id),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = version_config_defaults, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ConfigDefaultRow {
    version_id: Uuid,
    pub(crate) key: String,
    param_type: String,
    value: String,
    description: Option<String>,
}

impl ConfigDefaultRow {
    /// The row of one of `version_id`'s config defaults.
    pub(crate) fn new(version_id: VersionId, param: &ConfigParam) -> Self {
        Self {
            version_id: *version_id.as_uuid(),
            key: param.key.as_str().to_owned(),
            param_type: param.param_type.as_str().to_owned(),
            value: param.value.clone(),
            description: param.description.clone(),
        }
    }
}

impl TryFrom<ConfigDefaultRow> for ConfigParam {
    type Error = PgError;

    fn try_from(row: ConfigDefaultRow) -> Result<Self, PgError> {
        Ok(Self {
            key: parse_text("config default", &row.key, ConfigKey::parse)?,
            param_type: parse_word("config default", &row.param_type)?,
            value: row.value,
            description: row.description,
        })
    }
}
