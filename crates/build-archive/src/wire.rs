//! The JSON shapes of `build.json`, `config-params.json` and resource entries, as written in
//! an archive. Unknown fields are refused (a typo must not pass silently), except inside a
//! resource's `content`, which belongs to the platform's services.

use domain::model::{ApplicationKind, ConfigParamType, Platforms};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_with::{DisplayFromStr, serde_as};

use crate::error::ArchiveError;

/// Parses an entry that must hold one JSON object. (Serde would also accept an array of the
/// fields' values in order; the format has no such form.)
pub(crate) fn parse_object<T: DeserializeOwned>(
    entry: &str,
    json: &[u8],
) -> Result<T, ArchiveError> {
    if json.iter().find(|byte| !byte.is_ascii_whitespace()).is_some_and(|byte| *byte != b'{') {
        return Err(ArchiveError::InvalidJson {
            entry: entry.to_owned(),
            reason: "expected a JSON object".to_owned(),
        });
    }
    serde_json::from_slice(json).map_err(|err| ArchiveError::invalid_json(entry, &err))
}

/// Just the format version of a JSON entry, read before its shape so that an archive of
/// another format is reported as such rather than as unknown fields.
#[derive(Debug, Deserialize)]
pub(crate) struct FormatProbe {
    #[serde(rename = "formatVersion")]
    pub(crate) format_version: Option<serde_json::Value>,
}

/// `build.json`.
#[serde_as]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BuildJson {
    #[expect(
        dead_code,
        reason = "checked through FormatProbe; declared so that it is a known field"
    )]
    pub(crate) format_version: u32,
    pub(crate) build_id: String,
    pub(crate) application_id: String,
    pub(crate) application_name: String,
    #[serde(default = "project")]
    #[serde_as(as = "DisplayFromStr")]
    pub(crate) application_type: ApplicationKind,
    pub(crate) workspace_id: Option<String>,
    pub(crate) application_version_id: String,
    pub(crate) branch: String,
    pub(crate) name: String,
    pub(crate) version_tag: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) settings: SettingsJson,
    #[serde(default)]
    pub(crate) dependencies: Vec<DependencyJson>,
    pub(crate) created_at: String,
    pub(crate) created_by: String,
}

/// `settings` of `build.json`.
#[serde_as]
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SettingsJson {
    #[serde_as(as = "DisplayFromStr")]
    pub(crate) platforms: Platforms,
    pub(crate) theme_id: Option<String>,
    pub(crate) date_display_format: FormatJson,
    pub(crate) number_display_format: NumberFormatJson,
    pub(crate) currency_display_format: FormatJson,
    pub(crate) languages: Vec<String>,
    pub(crate) default_language_code: String,
}

/// `dateDisplayFormat` and `currencyDisplayFormat`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FormatJson {
    pub(crate) format: String,
}

/// `numberDisplayFormat`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct NumberFormatJson {
    pub(crate) min_decimals: u8,
    pub(crate) max_decimals: u8,
}

/// One of `dependencies`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DependencyJson {
    pub(crate) application_id: String,
    pub(crate) build_id: String,
}

/// One parameter of `config-params.json`.
#[serde_as]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigParamJson {
    pub(crate) key: String,
    #[serde(rename = "type")]
    #[serde_as(as = "DisplayFromStr")]
    pub(crate) param_type: ConfigParamType,
    pub(crate) value: String,
    pub(crate) description: Option<String>,
}

/// `resources/<TYPE>/<resourceDefinitionId>.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ResourceJson {
    /// Optional; when present it must name the directory the entry is in.
    pub(crate) resource_type: Option<String>,
    pub(crate) resource_definition_id: String,
    pub(crate) resource_version_id: String,
    pub(crate) name: String,
    /// Kept as written: the platform's document, opaque here.
    pub(crate) content: Box<RawValue>,
}

/// A build.json without `applicationType` is a project's.
fn project() -> ApplicationKind {
    ApplicationKind::Application
}
