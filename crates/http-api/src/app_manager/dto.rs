//! Wire shapes the Application Manager's routes share: applications, branches, versions
//! and their settings, camelCase as in the original's DTOs.

use domain::design::ApplicationDetails;
use domain::design::model::{
    Application, Branch, ResourceStatus, Version, VersionManifestEntry, VersionStatus,
};
use domain::model::{ApplicationKind, BuildSettings, NumberFormat, Platforms, ValidationError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::dto::rfc3339;
use crate::word::Word;

/// An application or library.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ApplicationDto {
    id: String,
    name: String,
    #[serde(rename = "type")]
    #[schema(schema_with = Word::<ApplicationKind>::words)]
    kind: Word<ApplicationKind>,
    description: Option<String>,
    workspace_id: Option<String>,
    created_by: String,
    /// RFC 3339.
    created_at: String,
    updated_by: String,
    /// RFC 3339.
    updated_at: String,
    /// Present on a single application: its branches.
    #[serde(skip_serializing_if = "Option::is_none")]
    branches: Option<Vec<BranchDto>>,
}

impl From<&Application> for ApplicationDto {
    fn from(application: &Application) -> Self {
        Self {
            id: application.id.to_string(),
            name: application.name.to_string(),
            kind: application.kind.into(),
            description: application.description.clone(),
            workspace_id: application.workspace_id.map(|id| id.to_string()),
            created_by: application.created_by.clone(),
            created_at: rfc3339(application.created_at),
            updated_by: application.updated_by.clone(),
            updated_at: rfc3339(application.updated_at),
            branches: None,
        }
    }
}

impl From<&ApplicationDetails> for ApplicationDto {
    fn from(details: &ApplicationDetails) -> Self {
        Self {
            branches: Some(details.branches.iter().map(BranchDto::from).collect()),
            ..Self::from(&details.application)
        }
    }
}

/// A branch.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BranchDto {
    name: String,
    /// The committed version it was created from; absent for `main`.
    created_from_version_id: Option<String>,
    created_by: String,
    /// RFC 3339.
    created_at: String,
}

impl From<&Branch> for BranchDto {
    fn from(branch: &Branch) -> Self {
        Self {
            name: branch.name.to_string(),
            created_from_version_id: branch.created_from.map(|id| id.to_string()),
            created_by: branch.created_by.clone(),
            created_at: rfc3339(branch.created_at),
        }
    }
}

/// A version; `settings` only where one version is shown.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VersionDto {
    id: String,
    branch: String,
    #[schema(schema_with = Word::<VersionStatus>::words)]
    status: Word<VersionStatus>,
    parent_version_id: Option<String>,
    commit_message: Option<String>,
    created_by: String,
    /// RFC 3339.
    created_at: String,
    committed_by: Option<String>,
    /// RFC 3339.
    committed_at: Option<String>,
    /// RFC 3339.
    last_changed_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    settings: Option<SettingsDto>,
}

impl VersionDto {
    /// The version in a list.
    pub(crate) fn summary(version: &Version) -> Self {
        Self {
            id: version.id.to_string(),
            branch: version.branch.to_string(),
            status: version.status.into(),
            parent_version_id: version.parent_id.map(|id| id.to_string()),
            commit_message: version.commit_message.as_ref().map(|message| message.to_string()),
            created_by: version.created_by.clone(),
            created_at: rfc3339(version.created_at),
            committed_by: version.committed_by.clone(),
            committed_at: version.committed_at.map(rfc3339),
            last_changed_at: rfc3339(version.last_changed_at),
            settings: None,
        }
    }

    /// The version with its settings.
    pub(crate) fn full(version: &Version) -> Self {
        Self { settings: Some(SettingsDto::from(&version.settings)), ..Self::summary(version) }
    }
}

/// The settings of a version, as shown and as a PATCH gives them; a PATCH gives every
/// field (the settings are replaced whole, so a version never holds half of two settings).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SettingsDto {
    #[schema(schema_with = Word::<Platforms>::words)]
    platforms: Word<Platforms>,
    theme_id: Option<String>,
    date_display_format: FormatDto,
    number_display_format: NumberFormatDto,
    currency_display_format: FormatDto,
    languages: Vec<String>,
    default_language_code: String,
}

/// `{format}`, such as `short` or `isoCode`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FormatDto {
    format: String,
}

/// `{minDecimals, maxDecimals}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NumberFormatDto {
    min_decimals: u8,
    max_decimals: u8,
}

impl From<&BuildSettings> for SettingsDto {
    fn from(settings: &BuildSettings) -> Self {
        Self {
            platforms: settings.platforms.into(),
            theme_id: settings.theme_id.clone(),
            date_display_format: FormatDto { format: settings.date_format.clone() },
            number_display_format: NumberFormatDto {
                min_decimals: settings.number_format.min_decimals(),
                max_decimals: settings.number_format.max_decimals(),
            },
            currency_display_format: FormatDto { format: settings.currency_format.clone() },
            languages: settings.languages.clone(),
            default_language_code: settings.default_language_code.clone(),
        }
    }
}

impl SettingsDto {
    pub(crate) fn into_settings(self) -> Result<BuildSettings, ValidationError> {
        let settings = BuildSettings {
            platforms: self.platforms.0,
            theme_id: self.theme_id,
            date_format: self.date_display_format.format,
            number_format: NumberFormat::new(
                self.number_display_format.min_decimals,
                self.number_display_format.max_decimals,
            )?,
            currency_format: self.currency_display_format.format,
            languages: self.languages,
            default_language_code: self.default_language_code,
        };
        settings.validate()?;
        Ok(settings)
    }
}

/// `?type=&name=&page=&size=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ApplicationQuery {
    /// `APPLICATION` or `LIBRARY`.
    #[serde(rename = "type")]
    #[param(value_type = Option<String>)]
    pub(crate) kind: Option<Word<ApplicationKind>>,
    /// Only names containing this text, ignoring case.
    pub(crate) name: Option<String>,
    /// Only this workspace.
    #[serde(rename = "workspaceId")]
    pub(crate) workspace_id: Option<String>,
    /// Page number, from 0.
    pub(crate) page: Option<u32>,
    /// Page size, 1 to 500 (default 20).
    pub(crate) size: Option<u32>,
}

/// `?branch=&page=&size=`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct VersionQuery {
    /// Only this branch's versions.
    pub(crate) branch: Option<String>,
    /// Page number, from 0.
    pub(crate) page: Option<u32>,
    /// Page size, 1 to 500 (default 20).
    pub(crate) size: Option<u32>,
}

/// One line of a version's manifest.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ManifestEntryDto {
    resource_type: String,
    resource_definition_id: String,
    resource_version_id: String,
    name: String,
    #[schema(schema_with = Word::<ResourceStatus>::words)]
    status: Word<ResourceStatus>,
    /// RFC 3339.
    last_changed_at: String,
    /// RFC 3339; absent for a resource never committed.
    last_committed_at: Option<String>,
}

impl From<&VersionManifestEntry> for ManifestEntryDto {
    fn from(entry: &VersionManifestEntry) -> Self {
        Self {
            resource_type: entry.resource_type.to_string(),
            resource_definition_id: entry.definition_id.to_string(),
            resource_version_id: entry.resource_version_id.to_string(),
            name: entry.name.to_string(),
            status: entry.status.into(),
            last_changed_at: rfc3339(entry.last_changed_at),
            last_committed_at: entry.last_committed_at.map(rfc3339),
        }
    }
}
