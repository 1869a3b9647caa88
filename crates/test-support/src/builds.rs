//! Valid builds for every crate's tests: one place to learn a new field of `Build`.
//!
//! [`BuildFixture`] starts from a project build on `main`, created now, with a fresh id and
//! checksum, and changes only what a test says:
//!
//! ```
//! use domain::model::ApplicationId;
//! use test_support::BuildFixture;
//!
//! let application_id = ApplicationId::random();
//! let library = BuildFixture::new(ApplicationId::random()).library().resources(1).build();
//! let build = BuildFixture::new(application_id)
//!     .resources(3)
//!     .on_branch("dev")
//!     .depending_on(&library)
//!     .build();
//! assert_eq!(build.manifest.len(), 3);
//! assert_eq!(test_support::resources_of(&build).len(), 3);
//! ```
//!
//! Values are valid for the domain (`Build::validate`) and exact on every backend:
//! timestamps are whole milliseconds, ids are random, so tests on shared backends never meet.

use domain::model::{
    ApplicationId, ApplicationKind, BranchName, Build, BuildDependency, BuildHeader, BuildId,
    BuildOrigin, BuildResource, BuildSettings, BuildTimer, Checksum, ConfigKey, ConfigParam,
    ConfigParamType, ManifestEntry, NumberFormat, Platforms, RawJson, ResourceDefinitionId,
    ResourceName, ResourceType, ResourceVersionId, TimerExpression, TimerNodeId, TimerType,
    VersionId, WorkspaceId,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// A build under construction; [`BuildFixture::build`] or [`BuildFixture::header`] ends it.
#[derive(Debug, Clone)]
#[must_use]
pub struct BuildFixture {
    header: BuildHeader,
    /// `None`: the creation time, whatever it ends up being.
    stored_at: Option<OffsetDateTime>,
    settings: BuildSettings,
    dependencies: Vec<BuildDependency>,
    config_params: Vec<ConfigParam>,
    manifest: Vec<ManifestEntry>,
}

impl BuildFixture {
    /// An imported project build of `application_id` on `main`, tagged `1.0.0`, created and
    /// stored now, with [`settings`] and no workspace, dependency, parameter or resource.
    pub fn new(application_id: ApplicationId) -> Self {
        let created_at = now();
        Self {
            header: BuildHeader {
                id: BuildId::random(),
                application_id,
                application_name: "test-app".to_owned(),
                application_kind: ApplicationKind::Application,
                workspace_id: None,
                application_version_id: VersionId::random(),
                branch: branch("main"),
                name: "test build".to_owned(),
                version_tag: Some("1.0.0".to_owned()),
                description: None,
                checksum: checksum(),
                origin: BuildOrigin::Imported,
                created_at,
                created_by: "tests".to_owned(),
                stored_at: created_at,
            },
            stored_at: None,
            settings: settings(),
            dependencies: Vec::new(),
            config_params: Vec::new(),
            manifest: Vec::new(),
        }
    }

    /// This build id instead of a random one.
    pub fn id(mut self, id: BuildId) -> Self {
        self.header.id = id;
        self
    }

    /// A build of a library instead of a project.
    pub fn library(mut self) -> Self {
        self.header.application_kind = ApplicationKind::Library;
        self
    }

    /// On `branch` instead of `main`.
    ///
    /// # Panics
    /// When `branch` is not a valid branch name.
    pub fn on_branch(mut self, branch_name: &str) -> Self {
        self.header.branch = branch(branch_name);
        self
    }

    /// Created at `created_at`; also stored then, unless [`BuildFixture::stored_at`] says.
    pub fn created_at(mut self, created_at: OffsetDateTime) -> Self {
        self.header.created_at = created_at;
        self
    }

    /// Stored at `stored_at` instead of its creation time.
    pub fn stored_at(mut self, stored_at: OffsetDateTime) -> Self {
        self.stored_at = Some(stored_at);
        self
    }

    /// In `workspace_id` instead of none.
    pub fn in_workspace(mut self, workspace_id: WorkspaceId) -> Self {
        self.header.workspace_id = Some(workspace_id);
        self
    }

    /// Tagged `version_tag` instead of `1.0.0`.
    pub fn version_tag(mut self, version_tag: &str) -> Self {
        self.header.version_tag = Some(version_tag.to_owned());
        self
    }

    /// With a description.
    pub fn description(mut self, description: &str) -> Self {
        self.header.description = Some(description.to_owned());
        self
    }

    /// This checksum instead of a random one.
    pub fn checksum(mut self, checksum: Checksum) -> Self {
        self.header.checksum = checksum;
        self
    }

    /// For `platforms` instead of the web only.
    pub fn platforms(mut self, platforms: Platforms) -> Self {
        self.settings.platforms = platforms;
        self
    }

    /// These settings instead of [`settings`]; start from `..settings()`.
    pub fn settings(mut self, settings: BuildSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Depending on the build `build_id` of the library `application_id`.
    pub fn dependency(mut self, application_id: ApplicationId, build_id: BuildId) -> Self {
        self.dependencies.push(BuildDependency { application_id, build_id });
        self
    }

    /// Depending on the library build `library`.
    pub fn depending_on(self, library: &Build) -> Self {
        self.dependency(library.header.application_id, library.id())
    }

    /// With the config parameter `param` (see [`param`]), after those given before.
    pub fn param(mut self, param: ConfigParam) -> Self {
        self.config_params.push(param);
        self
    }

    /// `count` more PROCESS resources in the manifest: the `i`-th of the build is named
    /// `resource-<i>`, with definition id `def-<i>` and version id `version-<i>`.
    ///
    /// # Panics
    /// Never, for any count: the names are all valid.
    pub fn resources(mut self, count: usize) -> Self {
        let first = self.manifest.len();
        self.manifest.extend((first..first + count).map(|i| ManifestEntry {
            version_id:
                ResourceVersionId::parse(&format!("version-{i}")).expect("a valid version id"),
            ..entry("PROCESS", &format!("def-{i}"), &format!("resource-{i}"))
        }));
        self
    }

    /// One more resource of `type_name` called `name` in the manifest, with fresh ids.
    ///
    /// # Panics
    /// When `type_name` or `name` is not valid.
    pub fn resource(self, type_name: &str, name: &str) -> Self {
        self.entry(entry(type_name, &Uuid::new_v4().to_string(), name))
    }

    /// One more line in the manifest, as given (see [`entry`]).
    pub fn entry(mut self, entry: ManifestEntry) -> Self {
        self.manifest.push(entry);
        self
    }

    /// The entries of `resources` in the manifest, in their order, after those before.
    pub fn manifest_of(mut self, resources: &[BuildResource]) -> Self {
        self.manifest.extend(resources.iter().map(|resource| resource.entry.clone()));
        self
    }

    /// The header alone, as the app-data store keeps it.
    pub fn header(self) -> BuildHeader {
        self.build().header
    }

    /// The build.
    pub fn build(self) -> Build {
        let mut header = self.header;
        header.stored_at = self.stored_at.unwrap_or(header.created_at);
        Build {
            header,
            settings: self.settings,
            dependencies: self.dependencies,
            config_params: self.config_params,
            manifest: self.manifest,
        }
    }
}

/// Settings every backend accepts: web, `short` dates, 0–2 decimals, ISO currency codes,
/// English only, no theme.
///
/// # Panics
/// Never: the number format is valid.
#[must_use]
pub fn settings() -> BuildSettings {
    BuildSettings {
        platforms: Platforms::Web,
        theme_id: None,
        date_format: "short".to_owned(),
        number_format: NumberFormat::new(0, 2).expect("a valid number format"),
        currency_format: "isoCode".to_owned(),
        languages: vec!["en".to_owned()],
        default_language_code: "en".to_owned(),
    }
}

/// A manifest line with a fresh version id.
///
/// # Panics
/// When `type_name`, `definition_id` or `name` is not valid.
#[must_use]
pub fn entry(type_name: &str, definition_id: &str, name: &str) -> ManifestEntry {
    ManifestEntry {
        resource_type: resource_type(type_name),
        definition_id: ResourceDefinitionId::parse(definition_id).expect("a valid definition id"),
        version_id: ResourceVersionId::parse(&Uuid::new_v4().to_string())
            .expect("a uuid is a valid version id"),
        name: ResourceName::parse(name).expect("a valid resource name"),
    }
}

/// A resource of `build_id` of `type_name` called `name`, with fresh ids and the content
/// `{"name":…,"definitionId":…}`.
///
/// # Panics
/// When `type_name` or `name` is not valid.
#[must_use]
pub fn resource(build_id: BuildId, type_name: &str, name: &str) -> BuildResource {
    resource_of(build_id, entry(type_name, &Uuid::new_v4().to_string(), name))
}

/// One resource per manifest entry of `build`, each with [`resource`]'s content.
#[must_use]
pub fn resources_of(build: &Build) -> Vec<BuildResource> {
    build.manifest.iter().map(|entry| resource_of(build.id(), entry.clone())).collect()
}

fn resource_of(build_id: BuildId, entry: ManifestEntry) -> BuildResource {
    let content = format!(
        r#"{{"name":"{}","definitionId":"{}"}}"#,
        entry.name.as_str(),
        entry.definition_id.as_str()
    );
    BuildResource { build_id, entry, content: RawJson::from_validated(content) }
}

/// An activated timer start event of the process `entry`, node `node_id`, firing on the
/// Spring cron `cron`, named `Timer <node_id>`, in swimlane `Default`.
///
/// # Panics
/// When `node_id` or `cron` is not valid.
#[must_use]
pub fn timer(entry: &ManifestEntry, node_id: &str, cron: &str) -> BuildTimer {
    BuildTimer {
        process: entry.definition_id.clone(),
        process_name: entry.name.clone(),
        node_id: TimerNodeId::parse(node_id).expect("a valid node id"),
        name: Some(format!("Timer {node_id}")),
        swimlane: Some("Default".to_owned()),
        expression: TimerExpression::new(TimerType::Cron, cron).expect("a valid cron"),
        activated: true,
    }
}

/// A config parameter without a description.
///
/// # Panics
/// When `key` is not a valid config key.
#[must_use]
pub fn param(key: &str, param_type: ConfigParamType, value: &str) -> ConfigParam {
    ConfigParam { key: config_key(key), param_type, value: value.to_owned(), description: None }
}

/// Now, cut to whole milliseconds so that every backend stores it exactly.
///
/// # Panics
/// Never: a millisecond of a valid instant is valid.
#[must_use]
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_millisecond(now.millisecond()).expect("a millisecond of a valid instant is valid")
}

/// A random checksum.
///
/// # Panics
/// Never: two simple uuids are 64 lowercase hex digits.
#[must_use]
pub fn checksum() -> Checksum {
    let hex = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    Checksum::parse(&hex).expect("two simple uuids are 64 lowercase hex digits")
}

/// # Panics
/// When `raw` is not a valid branch name.
#[must_use]
pub fn branch(raw: &str) -> BranchName {
    BranchName::parse(raw).expect("a valid branch name")
}

/// # Panics
/// When `raw` is not a valid resource type.
#[must_use]
pub fn resource_type(raw: &str) -> ResourceType {
    ResourceType::parse(raw).expect("a valid resource type")
}

/// # Panics
/// When `raw` is not a valid config key.
#[must_use]
pub fn config_key(raw: &str) -> ConfigKey {
    ConfigKey::parse(raw).expect("a valid config key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_build_is_valid_and_stored_when_it_was_created() {
        let created_at = now() - time::Duration::minutes(5);
        let build = BuildFixture::new(ApplicationId::random())
            .resources(3)
            .resource("ENUMERATION", "colours")
            .created_at(created_at)
            .build();

        build.validate().expect("a fixture build is valid");
        assert_eq!(build.header.stored_at, created_at);
        assert_eq!(build.manifest[2].definition_id.as_str(), "def-2");
        assert_eq!(resources_of(&build).len(), 4);
    }

    #[test]
    fn resources_added_later_continue_the_numbering() {
        let build = BuildFixture::new(ApplicationId::random()).resources(2).resources(1).build();

        let names: Vec<&str> = build.manifest.iter().map(|entry| entry.name.as_str()).collect();
        assert_eq!(names, ["resource-0", "resource-1", "resource-2"]);
    }

    #[test]
    fn a_library_with_every_optional_part_is_valid() {
        let dependency = BuildFixture::new(ApplicationId::random()).library().build();
        let build = BuildFixture::new(ApplicationId::random())
            .library()
            .on_branch("hotfix-1.2")
            .in_workspace(WorkspaceId::random())
            .description("spring release")
            .stored_at(now())
            .platforms(Platforms::Omnichannel)
            .depending_on(&dependency)
            .param(param("api.baseUrl", ConfigParamType::Value, "https://x.example"))
            .resources(1)
            .build();

        build.validate().expect("a fixture build is valid");
        assert_eq!(build.header.application_kind, ApplicationKind::Library);
        assert_eq!(build.dependencies[0].build_id, dependency.id());
    }
}
