//! From the checked entries of an archive to the model: every value goes through the
//! domain's constructors, and the build through [`Build::validate`].

use std::collections::{BTreeMap, HashMap};

use domain::model::{
    ApplicationId, BranchName, Build, BuildDependency, BuildHeader, BuildId, BuildOrigin,
    BuildResource, BuildSettings, BuildTimer, Checksum, ConfigKey, ConfigParam, ManifestEntry,
    NumberFormat, RawJson, ResourceDefinitionId, ResourceName, ResourceType, ResourceVersionId,
    ValidationError, VersionId, WorkspaceId,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::content::ArchiveContent;
use crate::error::ArchiveError;
use crate::layout::{
    self, BUILD_JSON, CONFIG_PARAMS_JSON, EntryKind, MANIFEST_JSON, SCHEDULE_JSON,
};
use crate::read::check_format_version;
use crate::timers;
use crate::wire::{self, BuildJson, ConfigParamJson, ResourceJson, SettingsJson};

/// Decodes the entries of an archive whose container checks passed: the documents in
/// memory, the resources one at a time from `content`, each dropped once checked. Returns the
/// build (its manifest sorted by type and definition id) and its timers, switches applied.
pub(crate) fn checked_build(
    documents: &BTreeMap<String, Vec<u8>>,
    checksum: &str,
    content: &mut ArchiveContent,
) -> Result<(Build, Vec<BuildTimer>), ArchiveError> {
    let build_json =
        documents.get(BUILD_JSON).ok_or(ArchiveError::MissingEntry { entry: BUILD_JSON })?;
    check_format_version(BUILD_JSON, build_json)?;
    let build_json: BuildJson = wire::parse_object(BUILD_JSON, build_json)?;
    let config_params = match documents.get(CONFIG_PARAMS_JSON) {
        Some(json) => config_params(json)?,
        None => Vec::new(),
    };
    let checksum =
        Checksum::parse(checksum).map_err(|err| ArchiveError::invalid_build(MANIFEST_JSON, err))?;
    let (header, settings, dependencies) =
        header(build_json, checksum).map_err(|err| ArchiveError::invalid_build(BUILD_JSON, err))?;
    let Resources { manifest, timers } = resources(content, header.id)?;
    let build = Build { header, settings, dependencies, config_params, manifest };
    build.validate().map_err(|err| {
        let entry =
            if matches!(err.field, "key" | "value") { CONFIG_PARAMS_JSON } else { BUILD_JSON };
        ArchiveError::invalid_build(entry, err)
    })?;
    // A process's timers are refused after the build's own rules, in resource order.
    let mut found = Vec::new();
    for timers in timers.into_values() {
        found.extend(timers?);
    }
    let mut timers = found;
    if let Some(json) = documents.get(SCHEDULE_JSON) {
        timers::apply_schedule(json, &mut timers)?;
    }
    Ok((build, timers))
}

/// What the resources contribute to the build's metadata.
struct Resources {
    /// Every resource's entry, sorted by type and definition id.
    manifest: Vec<ManifestEntry>,
    /// The timers of each PROCESS (or why they are refused), by type and definition id.
    timers: BTreeMap<(ResourceType, ResourceDefinitionId), Result<Vec<BuildTimer>, ArchiveError>>,
}

fn header(
    json: BuildJson,
    checksum: Checksum,
) -> Result<(BuildHeader, BuildSettings, Vec<BuildDependency>), ValidationError> {
    if json.application_name.trim().is_empty() {
        return Err(ValidationError::new("applicationName", "must not be empty"));
    }
    let created_at = OffsetDateTime::parse(&json.created_at, &Rfc3339).map_err(|err| {
        ValidationError::new(
            "createdAt",
            format!("`{}` is not an RFC 3339 date-time: {err}", json.created_at),
        )
    })?;
    let header = BuildHeader {
        id: BuildId::parse(&json.build_id)?,
        application_id: ApplicationId::parse(&json.application_id)?,
        application_name: json.application_name,
        application_kind: json.application_type,
        workspace_id: json.workspace_id.as_deref().map(WorkspaceId::parse).transpose()?,
        application_version_id: VersionId::parse(&json.application_version_id)?,
        branch: BranchName::parse(&json.branch)?,
        name: json.name,
        version_tag: json.version_tag,
        description: json.description,
        checksum,
        origin: BuildOrigin::Imported,
        created_at,
        created_by: json.created_by,
        stored_at: OffsetDateTime::now_utc(),
    };
    let dependencies = json
        .dependencies
        .iter()
        .map(|dependency| {
            Ok(BuildDependency {
                application_id: ApplicationId::parse(&dependency.application_id)?,
                build_id: BuildId::parse(&dependency.build_id)?,
            })
        })
        .collect::<Result<_, ValidationError>>()?;
    Ok((header, settings(json.settings)?, dependencies))
}

fn settings(json: SettingsJson) -> Result<BuildSettings, ValidationError> {
    let settings = BuildSettings {
        platforms: json.platforms,
        theme_id: json.theme_id,
        date_format: json.date_display_format.format,
        number_format: NumberFormat::new(
            json.number_display_format.min_decimals,
            json.number_display_format.max_decimals,
        )?,
        currency_format: json.currency_display_format.format,
        languages: json.languages,
        default_language_code: json.default_language_code,
    };
    settings.validate()?;
    Ok(settings)
}

fn config_params(json: &[u8]) -> Result<Vec<ConfigParam>, ArchiveError> {
    let params: Vec<ConfigParamJson> = serde_json::from_slice(json)
        .map_err(|err| ArchiveError::invalid_json(CONFIG_PARAMS_JSON, &err))?;
    params
        .into_iter()
        .map(|param| {
            let param = ConfigParam {
                key: ConfigKey::parse(&param.key)?,
                param_type: param.param_type,
                value: param.value,
                description: param.description,
            };
            param.validate()?;
            Ok(param)
        })
        .collect::<Result<_, ValidationError>>()
        .map_err(|err| ArchiveError::invalid_build(CONFIG_PARAMS_JSON, err))
}

/// Every resource entry, decoded, checked against its path and for ids and names unique per
/// type, and dropped: only its manifest entry and its timers are kept.
fn resources(content: &mut ArchiveContent, build_id: BuildId) -> Result<Resources, ArchiveError> {
    let mut by_id: HashMap<(ResourceType, ResourceDefinitionId), String> = HashMap::new();
    let mut by_name: HashMap<(ResourceType, ResourceName), String> = HashMap::new();
    let mut manifest = Vec::new();
    let mut timers = BTreeMap::new();
    content.for_each(|path, json| {
        let Some(EntryKind::Resource { resource_type, definition_id }) = layout::classify(path)
        else {
            return Ok(());
        };
        let resource = resource(path, json, resource_type, definition_id, build_id)?;
        let ManifestEntry { resource_type, definition_id, name, .. } = &resource.entry;
        if let Some(first) =
            by_id.insert((resource_type.clone(), definition_id.clone()), path.to_owned())
        {
            return Err(ArchiveError::DuplicateResource {
                resource_type: resource_type.to_string(),
                definition_id: definition_id.to_string(),
                first,
                second: path.to_owned(),
            });
        }
        if let Some(first) = by_name.insert((resource_type.clone(), name.clone()), path.to_owned())
        {
            return Err(ArchiveError::DuplicateResourceName {
                resource_type: resource_type.to_string(),
                name: name.to_string(),
                first,
                second: path.to_owned(),
            });
        }
        if resource_type.as_str() == domain::runtime::PROCESS {
            let found = timers::timers_of(std::slice::from_ref(&resource));
            if !matches!(&found, Ok(found) if found.is_empty()) {
                timers.insert((resource_type.clone(), definition_id.clone()), found);
            }
        }
        manifest.push(resource.entry);
        Ok(())
    })?;
    manifest.sort_by(|a, b| {
        (&a.resource_type, &a.definition_id).cmp(&(&b.resource_type, &b.definition_id))
    });
    Ok(Resources { manifest, timers })
}

/// One resource entry, decoded and checked against its path.
pub(crate) fn resource(
    path: &str,
    json: &[u8],
    type_of_path: &str,
    id_of_path: &str,
    build_id: BuildId,
) -> Result<BuildResource, ArchiveError> {
    let json: ResourceJson = wire::parse_object(path, json)?;
    let mismatch =
        |reason: String| ArchiveError::ResourcePathMismatch { entry: path.to_owned(), reason };
    if let Some(resource_type) =
        json.resource_type.as_deref().filter(|declared| *declared != type_of_path)
    {
        return Err(mismatch(format!(
            "its resourceType is `{resource_type}`, its directory says `{type_of_path}`"
        )));
    }
    if json.resource_definition_id != id_of_path {
        return Err(mismatch(format!(
            "its resourceDefinitionId is `{}`, its file name says `{id_of_path}`",
            json.resource_definition_id
        )));
    }
    let content = json.content.get();
    if !content.starts_with('{') {
        return Err(ArchiveError::InvalidJson {
            entry: path.to_owned(),
            reason: "`content` must be a JSON object".to_owned(),
        });
    }
    let entry = (|| {
        Ok::<_, ValidationError>(ManifestEntry {
            resource_type: ResourceType::parse(type_of_path)?,
            definition_id: ResourceDefinitionId::parse(&json.resource_definition_id)?,
            version_id: ResourceVersionId::parse(&json.resource_version_id)?,
            name: ResourceName::parse(&json.name)?,
        })
    })()
    .map_err(|err| ArchiveError::invalid_build(path, err))?;
    Ok(BuildResource { build_id, entry, content: RawJson::from_validated(content.to_owned()) })
}
