//! The stored shapes of `builds`, `build_manifests` and `build_resources`: serde mirrors of
//! the domain types with the original platform's camelCase field names, and their
//! conversions.
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
//!   manifestChunks: N }
//! ```
//!
//! While resources are staged the document is only `{ _id, status: "STAGING", stagedAt }`;
//! readers look for `status: "COMPLETE"` only.
//!
//! The manifest is in `build_manifests`, in `N` chunks of at most [`MANIFEST_CHUNK_ENTRIES`]
//! entries, `seq` 0 to `N - 1` in manifest order:
//!
//! ```text
//! { _id: "<buildId>:<checksum>:<seq>", buildId, checksum, seq,
//!   entries: [{ resourceType, resourceDefinitionId, resourceVersionId, name }] }
//! ```
//!
//! It lives outside the build document because MongoDB refuses a document over 16 MiB, which
//! a manifest of about 80 000 entries of typical size passes. The checksum is part of a chunk's key so that
//! a publisher of other content under the same id, racing the one that wins, writes beside
//! the winner's chunks and never over them. Documents written before the manifest moved out
//! have no `manifestChunks` and carry it inline instead, as
//! `manifest: [{ resourceType, resourceDefinitionId, resourceVersionId, name }]`; they still
//! read.
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
use mongodb::bson::{DateTime, RawArrayBuf, RawDocumentBuf};
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
    pub(crate) const RESOURCE_VERSION_ID: &str = "resourceVersionId";
    pub(crate) const NAME: &str = "name";
    pub(crate) const SEQ: &str = "seq";
    pub(crate) const ENTRIES: &str = "entries";
}

/// Entries per `build_manifests` chunk. One entry takes about 200 bytes of BSON with
/// typical ids and names, so a chunk is about 1 MB: few round trips for a large manifest,
/// and little held at once. The longest entry the domain allows (64-character type and ids,
/// a 255-character name of 4-byte characters) takes about 1.3 KB, so even a chunk of those
/// (about 6.5 MB) stays well below MongoDB's 16 MiB document limit.
pub(crate) const MANIFEST_CHUNK_ENTRIES: usize = 5_000;

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
    /// How many `build_manifests` chunks hold the manifest; absent in documents written
    /// before the manifest moved out of this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    manifest_chunks: Option<i32>,
    /// The inline manifest of those older documents: read, never written.
    #[serde(default, skip_serializing)]
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc {
    resource_type: String,
    resource_definition_id: String,
    resource_version_id: String,
    name: String,
}

impl ManifestDoc {
    fn into_domain(self) -> Result<ManifestEntry, ValidationError> {
        Ok(ManifestEntry {
            resource_type: ResourceType::parse(&self.resource_type)?,
            definition_id: ResourceDefinitionId::parse(&self.resource_definition_id)?,
            version_id: ResourceVersionId::parse(&self.resource_version_id)?,
            name: ResourceName::parse(&self.name)?,
        })
    }
}

/// What a reader needs of a `build_manifests` chunk (the rest is its key).
#[derive(Debug, Deserialize)]
pub(crate) struct ManifestChunkDoc {
    seq: i32,
    entries: Vec<ManifestDoc>,
}

impl ManifestChunkDoc {
    pub(crate) fn seq(&self) -> i32 {
        self.seq
    }

    /// The chunk's entries, in order; stored values are checked again, as in a build.
    pub(crate) fn into_domain(self, build_id: &str) -> Result<Vec<ManifestEntry>, DocumentError> {
        self.entries
            .into_iter()
            .map(ManifestDoc::into_domain)
            .collect::<Result<_, _>>()
            .map_err(|source| DocumentError::Build { id: build_id.to_owned(), source })
    }
}

/// The `_id` of chunk `seq` of the manifest of `build_id` published with `checksum`.
pub(crate) fn manifest_chunk_id(build_id: &str, checksum: &str, seq: i32) -> String {
    format!("{build_id}:{checksum}:{seq}")
}

/// The `build_manifests` document of chunk `seq`, holding `entries`. Built as raw BSON
/// straight from the borrowed entries: encoding cannot fail, and only this chunk's bytes
/// are held, never the whole manifest's.
pub(crate) fn manifest_chunk(
    build_id: &str,
    checksum: &str,
    seq: i32,
    entries: &[ManifestEntry],
) -> RawDocumentBuf {
    let mut lines = RawArrayBuf::new();
    for entry in entries {
        let mut line = RawDocumentBuf::new();
        line.append_ref(fields::RESOURCE_TYPE, entry.resource_type.as_str());
        line.append_ref(fields::RESOURCE_DEFINITION_ID, entry.definition_id.as_str());
        line.append_ref(fields::RESOURCE_VERSION_ID, entry.version_id.as_str());
        line.append_ref(fields::NAME, entry.name.as_str());
        lines.push(line);
    }
    let mut chunk = RawDocumentBuf::new();
    chunk.append(fields::ID, manifest_chunk_id(build_id, checksum, seq));
    chunk.append_ref(fields::BUILD_ID, build_id);
    chunk.append_ref(fields::CHECKSUM, checksum);
    chunk.append(fields::SEQ, seq);
    chunk.append(fields::ENTRIES, lines);
    chunk
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
    #[error("stored build {id} lacks chunk {seq} of its {count} manifest chunks")]
    MissingManifestChunk { id: String, seq: i32, count: i32 },
    #[error("stored date {0} is out of range")]
    Date(i64),
    #[error(transparent)]
    Content(#[from] ContentError),
}

impl BuildDoc {
    /// The document that publishes `build` at `published_at`, its manifest in
    /// `manifest_chunks` chunks written before it.
    pub(crate) fn complete(
        build: &Build,
        published_at: OffsetDateTime,
        manifest_chunks: i32,
    ) -> Self {
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
            manifest_chunks: Some(manifest_chunks),
            manifest: Vec::new(),
        }
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn checksum(&self) -> &str {
        &self.checksum
    }

    /// How many `build_manifests` chunks hold the manifest; `None` for a document written
    /// before the manifest moved out, which carries it inline.
    pub(crate) fn manifest_chunks(&self) -> Option<i32> {
        self.manifest_chunks
    }

    /// The inline manifest of a document written before the manifest moved out (empty for
    /// a newer one), taken out of the document.
    pub(crate) fn take_inline_manifest(&mut self) -> Result<Vec<ManifestEntry>, DocumentError> {
        std::mem::take(&mut self.manifest)
            .into_iter()
            .map(ManifestDoc::into_domain)
            .collect::<Result<_, _>>()
            .map_err(|source| DocumentError::Build { id: self.id.clone(), source })
    }

    /// The domain build with `manifest`; stored values are checked again, as other services
    /// share the store.
    pub(crate) fn into_domain(self, manifest: Vec<ManifestEntry>) -> Result<Build, DocumentError> {
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
