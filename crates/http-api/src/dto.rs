//! Wire shapes shared by both APIs: camelCase JSON as in the original platform's DTOs, and
//! conversions from and to the domain model. Requests deny unknown fields.

use domain::DomainError;
use domain::model::{
    ApplicationKind, BuildHeader, BuildOrigin, BuildSettings, ConfigKey, ConfigParam,
    ConfigParamType, ManifestEntry, Page, PageRequest, Platforms, ValidationError,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::ApiError;
use crate::word::Word;

/// `?page=&size=` of every list; pages count from 0.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Page number, from 0.
    page: Option<u32>,
    /// Page size, 1 to 500 (default 20).
    size: Option<u32>,
}

impl PageQuery {
    /// The paging fields of a query that has filters of its own (serde cannot flatten into
    /// a struct that denies unknown fields).
    pub(crate) fn new(page: Option<u32>, size: Option<u32>) -> Self {
        Self { page, size }
    }

    pub(crate) fn to_request(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::new(self.page.unwrap_or(0), self.size.unwrap_or(PageRequest::DEFAULT_SIZE))
            .map_err(DomainError::from)?)
    }
}

/// One page of a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageDto<T> {
    /// The items.
    content: Vec<T>,
    /// Page number, from 0.
    page: u32,
    /// Page size.
    size: u32,
    /// Items in the whole list.
    total_elements: u64,
    /// Pages in the whole list.
    total_pages: u64,
}

impl<T> PageDto<T> {
    pub(crate) fn from_page<U>(page: Page<U>, f: impl FnMut(U) -> T) -> Self {
        let total_pages = page.total_pages();
        let request = page.request;
        let total_elements = page.total;
        Self {
            content: page.items.into_iter().map(f).collect(),
            page: request.page(),
            size: request.size(),
            total_elements,
            total_pages,
        }
    }
}

pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

/// A display format by name.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FormatDto {
    /// Format name, such as `short` or `isoCode`.
    format: String,
}

/// Minimum and maximum decimals.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NumberFormatDto {
    min_decimals: u8,
    max_decimals: u8,
}

/// The settings of a build, as the original's `buildSettings`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BuildSettingsDto {
    /// The committed version the build was made from.
    application_version_id: String,
    #[schema(schema_with = Word::<Platforms>::words)]
    platforms: Word<Platforms>,
    theme_id: Option<String>,
    date_display_format: FormatDto,
    number_display_format: NumberFormatDto,
    currency_display_format: FormatDto,
    default_language_code: String,
}

impl BuildSettingsDto {
    pub(crate) fn new(header: &BuildHeader, settings: &BuildSettings) -> Self {
        Self {
            application_version_id: header.application_version_id.to_string(),
            platforms: settings.platforms.into(),
            theme_id: settings.theme_id.clone(),
            date_display_format: FormatDto { format: settings.date_format.clone() },
            number_display_format: NumberFormatDto {
                min_decimals: settings.number_format.min_decimals(),
                max_decimals: settings.number_format.max_decimals(),
            },
            currency_display_format: FormatDto { format: settings.currency_format.clone() },
            default_language_code: settings.default_language_code.clone(),
        }
    }
}

/// A build in a list: identity and origin.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BuildSummaryDto {
    build_id: String,
    application_id: String,
    application_name: String,
    #[schema(schema_with = Word::<ApplicationKind>::words)]
    application_type: Word<ApplicationKind>,
    workspace_id: Option<String>,
    application_version_id: String,
    branch: String,
    name: String,
    version_tag: Option<String>,
    description: Option<String>,
    checksum: String,
    #[schema(schema_with = Word::<BuildOrigin>::words)]
    origin: Word<BuildOrigin>,
    /// RFC 3339.
    created_at: String,
    created_by: String,
    /// RFC 3339: when this installation stored it.
    stored_at: String,
}

impl From<&BuildHeader> for BuildSummaryDto {
    fn from(header: &BuildHeader) -> Self {
        Self {
            build_id: header.id.to_string(),
            application_id: header.application_id.to_string(),
            application_name: header.application_name.clone(),
            application_type: header.application_kind.into(),
            workspace_id: header.workspace_id.map(|id| id.to_string()),
            application_version_id: header.application_version_id.to_string(),
            branch: header.branch.to_string(),
            name: header.name.clone(),
            version_tag: header.version_tag.clone(),
            description: header.description.clone(),
            checksum: header.checksum.to_string(),
            origin: header.origin.into(),
            created_at: rfc3339(header.created_at),
            created_by: header.created_by.clone(),
            stored_at: rfc3339(header.stored_at),
        }
    }
}

/// One line of a manifest.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ManifestEntryDto {
    resource_type: String,
    resource_definition_id: String,
    resource_version_id: String,
    name: String,
}

impl From<&ManifestEntry> for ManifestEntryDto {
    fn from(entry: &ManifestEntry) -> Self {
        Self {
            resource_type: entry.resource_type.to_string(),
            resource_definition_id: entry.definition_id.to_string(),
            resource_version_id: entry.version_id.to_string(),
            name: entry.name.to_string(),
        }
    }
}

/// A default parameter of a build or a version. For `ENV` and `ENV_SECRET` the value is the
/// name of an environment variable, never a secret itself.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ConfigParamDto {
    key: String,
    #[serde(rename = "type")]
    #[schema(schema_with = Word::<ConfigParamType>::words)]
    param_type: Word<ConfigParamType>,
    value: String,
    description: Option<String>,
}

impl ConfigParamDto {
    /// The parameter this body describes.
    pub(crate) fn into_param(self) -> Result<ConfigParam, ValidationError> {
        let param = ConfigParam {
            key: ConfigKey::parse(&self.key)?,
            param_type: self.param_type.0,
            value: self.value,
            description: self.description,
        };
        param.validate()?;
        Ok(param)
    }
}

impl From<&ConfigParam> for ConfigParamDto {
    fn from(param: &ConfigParam) -> Self {
        Self {
            key: param.key.to_string(),
            param_type: param.param_type.into(),
            value: param.value.clone(),
            description: param.description.clone(),
        }
    }
}
