//! Builds: the immutable, deployable package of one committed application version.

use std::collections::HashSet;
use std::fmt;

use time::OffsetDateTime;

use crate::model::{
    ApplicationId, BranchName, BuildId, ConfigParam, ResourceDefinitionId, ResourceName,
    ResourceType, ResourceVersionId, ValidationError, VersionId, WorkspaceId,
};

/// Whether the application of a build is a project or a library other projects depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationKind {
    /// A project (the default).
    Application,
    /// A library: its builds are dependencies of projects; it cannot have config overrides.
    Library,
}

crate::vocabulary!(ApplicationKind, field = "applicationType", {
    Application => "APPLICATION",
    Library => "LIBRARY",
});

/// Where a build came from in this installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuildOrigin {
    /// Created here from a committed version.
    Created,
    /// Imported from a build archive.
    Imported,
}

crate::vocabulary!(BuildOrigin, field = "origin", {
    Created => "CREATED",
    Imported => "IMPORTED",
});

/// The platforms an application targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platforms {
    /// Web and mobile.
    Omnichannel,
    /// Web only.
    Web,
    /// Mobile only.
    Mobile,
}

crate::vocabulary!(Platforms, field = "platforms", {
    Omnichannel => "OMNICHANNEL",
    Web => "WEB",
    Mobile => "MOBILE",
});

/// Minimum and maximum decimals shown for numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NumberFormat {
    min_decimals: u8,
    max_decimals: u8,
}

impl NumberFormat {
    /// Checks that `min ≤ max ≤ 20`.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `numberDisplayFormat` otherwise.
    pub fn new(min_decimals: u8, max_decimals: u8) -> Result<Self, ValidationError> {
        if min_decimals > max_decimals || max_decimals > 20 {
            return Err(ValidationError::new(
                "numberDisplayFormat",
                format!(
                    "need minDecimals ≤ maxDecimals ≤ 20, got {min_decimals} and {max_decimals}"
                ),
            ));
        }
        Ok(Self { min_decimals, max_decimals })
    }

    /// Minimum decimals.
    pub fn min_decimals(&self) -> u8 {
        self.min_decimals
    }

    /// Maximum decimals.
    pub fn max_decimals(&self) -> u8 {
        self.max_decimals
    }
}

impl Default for NumberFormat {
    /// No decimals required, two at most: what a new application starts with.
    fn default() -> Self {
        Self { min_decimals: 0, max_decimals: 2 }
    }
}

/// The settings of the version a build was made from, frozen into the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSettings {
    /// Targeted platforms.
    pub platforms: Platforms,
    /// Default theme, if any.
    pub theme_id: Option<String>,
    /// Date format name, such as `short` or `long`.
    pub date_format: String,
    /// Number formatting.
    pub number_format: NumberFormat,
    /// Currency format name, such as `isoCode` or `symbol`.
    pub currency_format: String,
    /// Languages the application is translated into.
    pub languages: Vec<String>,
    /// The default language; one of `languages`.
    pub default_language_code: String,
}

impl BuildSettings {
    /// Checks the relations between fields.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] when the default language is not one of the languages or a
    /// format name is empty.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.date_format.trim().is_empty() {
            return Err(ValidationError::new("dateDisplayFormat", "format must not be empty"));
        }
        if self.currency_format.trim().is_empty() {
            return Err(ValidationError::new("currencyDisplayFormat", "format must not be empty"));
        }
        if !self.languages.is_empty() && !self.languages.contains(&self.default_language_code) {
            return Err(ValidationError::new(
                "defaultLanguageCode",
                format!("`{}` is not one of the languages", self.default_language_code),
            ));
        }
        Ok(())
    }
}

/// A dependency of a build on one build of a library.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BuildDependency {
    /// The library.
    pub application_id: ApplicationId,
    /// The library's build.
    pub build_id: BuildId,
}

/// A lowercase hex SHA-256 that identifies a build's content.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Checksum(String);

impl Checksum {
    /// Checks that `raw` is 64 lowercase hex digits.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `checksum` otherwise.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new("checksum", "must be 64 lowercase hex digits"))
        }
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// JSON text that the domain stores and returns without looking inside. Whoever builds one
/// (an adapter or the archive reader) has already checked that it is a JSON object.
#[derive(Clone, PartialEq, Eq)]
pub struct RawJson(String);

impl RawJson {
    /// Wraps JSON text the caller has validated.
    pub fn from_validated(json: String) -> Self {
        Self(json)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty (never, for a validated value).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Resource content can be large; its size is what matters in a log.
        write!(f, "RawJson({} bytes)", self.0.len())
    }
}

/// One line of a build's manifest: which resource, in which version, under which name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ManifestEntry {
    /// Resource type.
    pub resource_type: ResourceType,
    /// Stable id.
    pub definition_id: ResourceDefinitionId,
    /// Version id.
    pub version_id: ResourceVersionId,
    /// Name, unique per type.
    pub name: ResourceName,
}

/// What identifies a build and where it came from: the part of a build that lists, policies
/// and the application registry need, without settings, parameters or manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildHeader {
    /// Build id, unique in an installation and kept across installations.
    pub id: BuildId,
    /// The application (or library) the build belongs to.
    pub application_id: ApplicationId,
    /// Name of the application.
    pub application_name: String,
    /// Project or library.
    pub application_kind: ApplicationKind,
    /// Workspace, when the installation has workspaces.
    pub workspace_id: Option<WorkspaceId>,
    /// The committed version the build was made from.
    pub application_version_id: VersionId,
    /// The branch of that version.
    pub branch: BranchName,
    /// Build name (defaults to the application name where it was created).
    pub name: String,
    /// Optional version tag, such as `1.4.0`.
    pub version_tag: Option<String>,
    /// Optional description.
    pub description: Option<String>,
    /// Identifies the content; two builds with one id and different checksums conflict.
    pub checksum: Checksum,
    /// Created here or imported.
    pub origin: BuildOrigin,
    /// When the build was created (in its original installation).
    pub created_at: OffsetDateTime,
    /// Who created it.
    pub created_by: String,
    /// When this installation stored it.
    pub stored_at: OffsetDateTime,
}

impl BuildHeader {
    /// Orders builds newest first: by creation time, then by storage time, then by id, so
    /// that "the newest build of a branch" is one build even when two share a timestamp.
    pub fn newest_first(a: &Self, b: &Self) -> std::cmp::Ordering {
        (b.created_at, b.stored_at, b.id).cmp(&(a.created_at, a.stored_at, a.id))
    }
}

/// What build info and the application-scoped checks need of a build: its header, settings
/// and dependencies, never its config parameters or manifest. The caches hold this instead of
/// the whole [`Build`], so an entry stays small whatever the size of the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildSummary {
    /// Identity and origin.
    pub header: BuildHeader,
    /// Settings frozen from the version.
    pub settings: BuildSettings,
    /// Library builds this build depends on.
    pub dependencies: Vec<BuildDependency>,
}

impl BuildSummary {
    /// The build id.
    pub fn id(&self) -> BuildId {
        self.header.id
    }
}

/// A whole build: header, settings, dependencies, default config parameters and manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Build {
    /// Identity and origin.
    pub header: BuildHeader,
    /// Settings frozen from the version.
    pub settings: BuildSettings,
    /// Library builds this build depends on.
    pub dependencies: Vec<BuildDependency>,
    /// Default configuration parameters.
    pub config_params: Vec<ConfigParam>,
    /// Every resource of the build.
    pub manifest: Vec<ManifestEntry>,
}

impl Build {
    /// The build id.
    pub fn id(&self) -> BuildId {
        self.header.id
    }

    /// The header, settings and dependencies of the build.
    pub fn summary(&self) -> BuildSummary {
        BuildSummary {
            header: self.header.clone(),
            settings: self.settings.clone(),
            dependencies: self.dependencies.clone(),
        }
    }

    /// Checks the invariants that span fields: settings, one dependency per library, no
    /// dependency on itself, valid and unique config keys, and names and ids unique per type.
    ///
    /// # Errors
    ///
    /// The first broken invariant as a [`ValidationError`].
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.settings.validate()?;
        if self.header.name.trim().is_empty() {
            return Err(ValidationError::new("name", "must not be empty"));
        }
        let mut libraries = HashSet::new();
        for dependency in &self.dependencies {
            if dependency.application_id == self.header.application_id {
                return Err(ValidationError::new(
                    "dependencies",
                    "a build cannot depend on its own application",
                ));
            }
            if !libraries.insert(dependency.application_id) {
                return Err(ValidationError::new(
                    "dependencies",
                    format!("library {} appears more than once", dependency.application_id),
                ));
            }
        }
        let mut keys = HashSet::new();
        for param in &self.config_params {
            param.validate()?;
            if !keys.insert(param.key.as_str()) {
                return Err(ValidationError::new(
                    "key",
                    format!("config parameter `{}` appears more than once", param.key),
                ));
            }
        }
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        for entry in &self.manifest {
            if !ids.insert((&entry.resource_type, &entry.definition_id)) {
                return Err(ValidationError::new(
                    "resourceDefinitionId",
                    format!(
                        "{} {} appears more than once",
                        entry.resource_type, entry.definition_id
                    ),
                ));
            }
            if !names.insert((&entry.resource_type, &entry.name)) {
                return Err(ValidationError::new(
                    "name",
                    format!("two {} resources are named `{}`", entry.resource_type, entry.name),
                ));
            }
        }
        Ok(())
    }
}

/// One resource snapshot of a build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildResource {
    /// The build it belongs to.
    pub build_id: BuildId,
    /// Type, id, version and name, as in the manifest.
    pub entry: ManifestEntry,
    /// The resource definition, a JSON object.
    pub content: RawJson,
}
