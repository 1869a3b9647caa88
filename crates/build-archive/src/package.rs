//! [`ArchivePackager`]: the archive of a build made from a committed version, written in
//! the layout an operator would pack by hand and read back with every check of an import,
//! so that a created build is byte for byte what its exported archive imports as elsewhere.
//! The archive is written to a temporary file as the version's resources are read, a page
//! at a time, and read back through the import's bounded path.

use std::collections::HashSet;
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write as _};

use async_trait::async_trait;
use domain::builds::{BuildImport, ImportedBinary};
use domain::model::{BuildResource, ValidationError};
use domain::ports::{ArchiveWriter, BuildDraft, BuildPackager, PortError};
use domain::{DomainError, DomainResult};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::error::ArchiveError;
use crate::layout::{BINARIES_PREFIX, BUILD_JSON, CONFIG_PARAMS_JSON, MANIFEST_JSON};
use crate::limits::ArchiveLimits;
use crate::manifest::{FORMAT_VERSION, Manifest, ManifestFile};
use crate::pack::entry_options;
use crate::read::check_archive;
use crate::spool::SpooledArchive;
use zip::ZipWriter;

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
    async fn start(&self, draft: BuildDraft) -> DomainResult<Box<dyn ArchiveWriter>> {
        let limits = self.limits;
        // The archive goes to an unlinked temporary file (in `TMPDIR`), never whole in memory.
        let file = tokio::task::spawn_blocking(tempfile::tempfile)
            .await
            .map_err(|err| internal(format!("the packing task failed: {err}")))?
            .map_err(|err| internal(format!("no temporary file for the archive: {err}")))?;
        let zip = ZipWriter::new(BufWriter::new(file));
        Ok(Box::new(PackageWriter {
            draft,
            limits,
            state: Some(Writing { zip, listed: Vec::new() }),
            binaries: HashSet::new(),
        }))
    }
}

/// The archive of one build, being written to its temporary file.
struct PackageWriter {
    draft: BuildDraft,
    limits: ArchiveLimits,
    /// `None` only while a blocking task writes, or after a failure.
    state: Option<Writing>,
    binaries: HashSet<String>,
}

/// What a blocking task writes with: moved into the task and back.
struct Writing {
    zip: ZipWriter<BufWriter<File>>,
    /// The manifest line of every entry written so far.
    listed: Vec<ManifestFile>,
}

impl Writing {
    /// Writes one entry, deflated at the fastest level: packing is on the request path of a
    /// build creation (tens of megabytes of JSON for a large version), and level 1
    /// compresses JSON nearly as well as the default at a fraction of its CPU. The archive
    /// stays deterministic for its content.
    fn add(&mut self, name: String, bytes: &[u8]) -> DomainResult<()> {
        let options = entry_options().compression_level(Some(1));
        self.zip
            .start_file(name.as_str(), options)
            .map_err(|err| internal(format!("zip: {err}")))?;
        self.zip.write_all(bytes).map_err(|err| internal(format!("zip: {err}")))?;
        self.listed.push(ManifestFile::of(&name, bytes));
        Ok(())
    }
}

impl fmt::Debug for PackageWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackageWriter").field("build", &self.draft.build_id).finish_non_exhaustive()
    }
}

impl PackageWriter {
    /// Runs `write` on the archive in a blocking task (deflating and hashing is CPU work,
    /// and the archive is a file).
    async fn write<T: Send + 'static>(
        &mut self,
        write: impl FnOnce(&mut Writing) -> DomainResult<T> + Send + 'static,
    ) -> DomainResult<T> {
        let mut state = self
            .state
            .take()
            .ok_or_else(|| internal("an earlier write of the archive failed".to_owned()))?;
        let (state, written) = tokio::task::spawn_blocking(move || {
            let written = write(&mut state);
            (state, written)
        })
        .await
        .map_err(|err| internal(format!("the packing task failed: {err}")))?;
        if written.is_ok() {
            self.state = Some(state);
        }
        written
    }
}

#[async_trait]
impl ArchiveWriter for PackageWriter {
    async fn add_resources(&mut self, resources: Vec<BuildResource>) -> DomainResult<()> {
        self.write(move |state| {
            for resource in &resources {
                let (name, text) = resource_file(resource)?;
                state.add(name, &text)?;
            }
            Ok(())
        })
        .await
    }

    async fn add_binary(&mut self, binary: ImportedBinary) -> DomainResult<()> {
        if !self.binaries.insert(binary.sha256.clone()) {
            return Ok(());
        }
        self.write(move |state| {
            state.add(format!("{BINARIES_PREFIX}{}", binary.sha256), &binary.bytes)
        })
        .await
    }

    fn has_binary(&self, sha256: &str) -> bool {
        self.binaries.contains(sha256)
    }

    async fn finish(mut self: Box<Self>) -> DomainResult<BuildImport> {
        let build = pretty(&build_json(&self.draft)?)?;
        let params = pretty(&config_params_json(&self.draft))?;
        let application_id = self.draft.application_id;
        let limits = self.limits;
        let mut state = self
            .state
            .take()
            .ok_or_else(|| internal("an earlier write of the archive failed".to_owned()))?;
        tokio::task::spawn_blocking(move || {
            state.add(BUILD_JSON.to_owned(), &build)?;
            state.add(CONFIG_PARAMS_JSON.to_owned(), &params)?;
            let Writing { mut zip, listed } = state;
            let manifest = Manifest::new(listed);
            zip.start_file(MANIFEST_JSON, entry_options().compression_level(Some(1)))
                .map_err(|err| internal(format!("zip: {err}")))?;
            zip.write_all(&manifest.to_json()).map_err(|err| internal(format!("zip: {err}")))?;
            drop(manifest);
            let file = zip
                .finish()
                .map_err(|err| internal(format!("zip: {err}")))?
                .into_inner()
                .map_err(|err| internal(format!("the archive cannot be written: {err}")))?;
            let archive = SpooledArchive::file(file)
                .map_err(|err| internal(format!("the archive cannot be read back: {err}")))?;
            let checked = check_archive(archive, &limits).map_err(refused)?;
            Ok(checked.into_import(Some(application_id)))
        })
        .await
        .map_err(|err| internal(format!("the packing task failed: {err}")))?
    }
}

/// How a created build's archive refused by the import's checks is reported.
fn refused(err: ArchiveError) -> DomainError {
    match err {
        // A refused timer keeps its own code: the designer fixes the process it names.
        ArchiveError::InvalidTimer { entry, mut error } => {
            error.reason = format!("{entry}: {}", error.reason);
            DomainError::Invalid(error)
        }
        err => DomainError::Invalid(ValidationError::new(
            "build",
            format!("the build cannot be packed: {err}"),
        )),
    }
}

/// `resources/<TYPE>/<resourceDefinitionId>.json` of a resource, and its text.
fn resource_file(resource: &BuildResource) -> DomainResult<(String, Vec<u8>)> {
    let entry = &resource.entry;
    // The content goes in as the designer stored it, byte for byte.
    let content: &RawValue = serde_json::from_str(resource.content.as_str())
        .map_err(|err| internal(format!("stored content is not JSON: {err}")))?;
    let file = ResourceFile {
        resource_definition_id: entry.definition_id.as_str(),
        resource_version_id: entry.version_id.as_str(),
        name: entry.name.as_str(),
        content,
    };
    let mut text = serde_json::to_vec_pretty(&file).map_err(|err| internal(err.to_string()))?;
    text.push(b'\n');
    Ok((format!("resources/{}/{}.json", entry.resource_type, entry.definition_id), text))
}

fn config_params_json(draft: &BuildDraft) -> Value {
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
    Value::Array(params)
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
