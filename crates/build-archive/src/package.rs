//! [`ArchivePackager`]: the archive of a build made from a committed version, written in
//! the layout an operator would pack by hand and read back with every check of an import,
//! so that a created build is byte for byte what its exported archive imports as elsewhere.

use std::collections::BTreeMap;

use async_trait::async_trait;
use bytes::Bytes;
use domain::builds::ImportRequest;
use domain::model::ValidationError;
use domain::ports::{BuildDraft, BuildPackager, PortError};
use domain::{DomainError, DomainResult};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::error::ArchiveError;
use crate::layout::{BINARIES_PREFIX, BUILD_JSON, CONFIG_PARAMS_JSON, MANIFEST_JSON};
use crate::limits::ArchiveLimits;
use crate::manifest::{FORMAT_VERSION, Manifest, ManifestFile};
use crate::pack::{entry_options, write_zip};
use crate::read::read_archive;

/// `resources/<TYPE>/<resourceDefinitionId>.json`. A struct, not a `json!` value: the
/// content must stay a raw fragment, written byte for byte.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceFile<'a> {
    resource_definition_id: &'a str,
    resource_version_id: &'a str,
    name: &'a str,
    content: &'a RawValue,
}

/// Packs drafts into archives within `limits` (those of this installation's imports: a
/// build that could not be imported here is not made here either).
#[derive(Debug, Clone, Copy)]
pub struct ArchivePackager {
    limits: ArchiveLimits,
}

impl ArchivePackager {
    /// A packager whose archives pass `limits`.
    pub fn new(limits: ArchiveLimits) -> Self {
        Self { limits }
    }
}

#[async_trait]
impl BuildPackager for ArchivePackager {
    async fn package(&self, draft: BuildDraft) -> DomainResult<ImportRequest> {
        let limits = self.limits;
        // Deflating and hashing thousands of resources is CPU work: off the async workers.
        tokio::task::spawn_blocking(move || package(&draft, &limits))
            .await
            .map_err(|err| internal(format!("the packing task failed: {err}")))?
    }
}

/// The archive of `draft`, read back as an import reads it.
pub(crate) fn package(draft: &BuildDraft, limits: &ArchiveLimits) -> DomainResult<ImportRequest> {
    let mut files = BTreeMap::new();
    files.insert(BUILD_JSON.to_owned(), pretty(&build_json(draft)?)?);
    let params: Vec<Value> = draft
        .config_params
        .iter()
        .map(|param| {
            let mut json = json!({
                "key": param.key.as_str(),
                "type": param.param_type.as_str(),
                "value": param.value,
            });
            if let Some(description) = &param.description {
                json["description"] = Value::from(description.as_str());
            }
            json
        })
        .collect();
    files.insert(CONFIG_PARAMS_JSON.to_owned(), pretty(&Value::Array(params))?);
    for resource in &draft.resources {
        let entry = &resource.entry;
        // The content goes in as the designer stored it, byte for byte.
        let content = RawValue::from_string(resource.content.as_str().to_owned())
            .map_err(|err| internal(format!("stored content is not JSON: {err}")))?;
        let file = ResourceFile {
            resource_definition_id: entry.definition_id.as_str(),
            resource_version_id: entry.version_id.as_str(),
            name: entry.name.as_str(),
            content: &content,
        };
        let mut text = serde_json::to_vec_pretty(&file).map_err(|err| internal(err.to_string()))?;
        text.push(b'\n');
        let name = format!("resources/{}/{}.json", entry.resource_type, entry.definition_id);
        files.insert(name, text);
    }
    for binary in &draft.binaries {
        files.insert(format!("{BINARIES_PREFIX}{}", binary.sha256), binary.bytes.to_vec());
    }
    let manifest =
        Manifest::new(files.iter().map(|(name, bytes)| ManifestFile::of(name, bytes)).collect());
    files.insert(MANIFEST_JSON.to_owned(), manifest.to_json());
    // The fastest deflate level: packing is on the request path of a build creation (tens of
    // megabytes of JSON for a large version), and level 1 compresses JSON nearly as well as
    // the default at a fraction of its CPU. The archive stays deterministic for its content.
    let options = entry_options().compression_level(Some(1));
    let archive = write_zip(&files, options).map_err(|err| internal(format!("zip: {err}")))?;
    let mut request = read_archive(Bytes::from(archive), limits).map_err(|err| match err {
        // A refused timer keeps its own code: the designer fixes the process it names.
        ArchiveError::InvalidTimer { entry, mut error } => {
            error.reason = format!("{entry}: {}", error.reason);
            DomainError::Invalid(error)
        }
        err => DomainError::Invalid(ValidationError::new(
            "build",
            format!("the build cannot be packed: {err}"),
        )),
    })?;
    request.expected_application = Some(draft.application_id);
    Ok(request)
}

fn build_json(draft: &BuildDraft) -> DomainResult<Value> {
    let settings = &draft.settings;
    let created_at =
        draft.created_at.format(&Rfc3339).map_err(|err| internal(format!("createdAt: {err}")))?;
    let mut json = json!({
        "formatVersion": FORMAT_VERSION,
        "buildId": draft.build_id.to_string(),
        "applicationId": draft.application_id.to_string(),
        "applicationName": draft.application_name,
        "applicationType": draft.application_kind.as_str(),
        "applicationVersionId": draft.application_version_id.to_string(),
        "branch": draft.branch.as_str(),
        "name": draft.name,
        "settings": {
            "platforms": settings.platforms.as_str(),
            "dateDisplayFormat": { "format": settings.date_format },
            "numberDisplayFormat": {
                "minDecimals": settings.number_format.min_decimals(),
                "maxDecimals": settings.number_format.max_decimals(),
            },
            "currencyDisplayFormat": { "format": settings.currency_format },
            "languages": settings.languages,
            "defaultLanguageCode": settings.default_language_code,
        },
        "dependencies": draft.dependencies.iter().map(|dependency| json!({
            "applicationId": dependency.application_id.to_string(),
            "buildId": dependency.build_id.to_string(),
        })).collect::<Vec<_>>(),
        "createdAt": created_at,
        "createdBy": draft.created_by,
    });
    let optional = [
        ("workspaceId", draft.workspace_id.map(|id| id.to_string())),
        ("versionTag", draft.version_tag.clone()),
        ("description", draft.description.clone()),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            json[key] = Value::from(value);
        }
    }
    if let Some(theme_id) = &settings.theme_id {
        json["settings"]["themeId"] = Value::from(theme_id.as_str());
    }
    Ok(json)
}

fn pretty(json: &Value) -> DomainResult<Vec<u8>> {
    let mut text = serde_json::to_vec_pretty(json).map_err(|err| internal(err.to_string()))?;
    text.push(b'\n');
    Ok(text)
}

fn internal(reason: String) -> DomainError {
    DomainError::Internal(PortError::Backend(reason.into()))
}
