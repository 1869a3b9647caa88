//! Errors returned by the use cases. Each refusal has a stable machine-readable code, so
//! that every edge (HTTP, CLI) reports the same rule the same way.

use crate::model::{
    ApplicationId, ApplicationName, BranchName, BuildId, Checksum, ConfigKey, ResourceDefinitionId,
    ResourceName, ResourceType, SubjectType, TimerId, ValidationError, VersionId,
};
use crate::ports::{EngineError, PortError, TokenError};

/// Result type of every use case.
pub type DomainResult<T> = Result<T, DomainError>;

/// Something the caller asked for does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotFound {
    /// No build with that id in the application.
    #[error("build {build_id} of application {application_id} not found")]
    Build {
        /// Application asked for.
        application_id: ApplicationId,
        /// Build asked for.
        build_id: BuildId,
    },
    /// No build with that id in this installation, whatever its application.
    #[error("build {0} not found")]
    InstalledBuild(BuildId),
    /// The application has no global policy and no override applies.
    #[error("application {0} has no active policy")]
    ActivePolicy(ApplicationId),
    /// The policy points at a branch without builds.
    #[error("branch `{branch}` of application {application_id} has no build")]
    BuildOnBranch {
        /// Application.
        application_id: ApplicationId,
        /// Branch.
        branch: BranchName,
    },
    /// No override with that id.
    #[error("policy override {0} not found")]
    PolicyOverride(String),
    /// No config override with that key.
    #[error("config override `{0}` not found")]
    ConfigOverride(String),
    /// No resource with that type and id or name in the build.
    #[error("{resource_type} resource `{reference}` not found in build {build_id}")]
    Resource {
        /// Build.
        build_id: BuildId,
        /// Type.
        resource_type: String,
        /// Definition id or name.
        reference: String,
    },
    /// No application with that id, or it is deleted.
    #[error("application {0} not found")]
    Application(ApplicationId),
    /// The application has no branch with that name.
    #[error("branch `{branch}` of application {application_id} not found")]
    Branch {
        /// Application.
        application_id: ApplicationId,
        /// Branch asked for.
        branch: BranchName,
    },
    /// The application has no version with that id.
    #[error("version {version_id} of application {application_id} not found")]
    Version {
        /// Application.
        application_id: ApplicationId,
        /// Version asked for.
        version_id: VersionId,
    },
    /// The version links no resource of that type and definition id.
    #[error("{resource_type} resource {definition_id} not found in version {version_id}")]
    VersionResource {
        /// Version.
        version_id: VersionId,
        /// Type.
        resource_type: ResourceType,
        /// Definition id.
        definition_id: ResourceDefinitionId,
    },
    /// The version does not depend on that library.
    #[error("version {version_id} has no dependency on library {library_id}")]
    Dependency {
        /// Version.
        version_id: VersionId,
        /// Library.
        library_id: ApplicationId,
    },
    /// The version has no config default with that key.
    #[error("config parameter `{key}` not found in version {version_id}")]
    ConfigParam {
        /// Version.
        version_id: VersionId,
        /// Key.
        key: ConfigKey,
    },
    /// The build has no PROCESS resource with that name.
    #[error("process `{process_name}` not found in build {build_id}")]
    Process {
        /// Build.
        build_id: BuildId,
        /// Process definition name asked for.
        process_name: ResourceName,
    },
    /// The build has no timer start event with that id.
    #[error("timer `{timer_id}` not found in build {build_id}")]
    Timer {
        /// Build.
        build_id: BuildId,
        /// Timer asked for.
        timer_id: TimerId,
    },
}

impl NotFound {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Build { .. } | Self::InstalledBuild(_) => "build_not_found",
            Self::ActivePolicy(_) => "no_active_policy",
            Self::BuildOnBranch { .. } => "no_build_on_branch",
            Self::PolicyOverride(_) => "policy_override_not_found",
            Self::ConfigOverride(_) => "config_override_not_found",
            Self::Resource { .. } | Self::VersionResource { .. } => "resource_not_found",
            Self::Application(_) => "application_not_found",
            Self::Branch { .. } => "branch_not_found",
            Self::Version { .. } => "version_not_found",
            Self::Dependency { .. } => "dependency_not_found",
            Self::ConfigParam { .. } => "config_param_not_found",
            Self::Process { .. } => "process_not_found",
            Self::Timer { .. } => "timer_not_found",
        }
    }
}

/// The request collides with the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    /// A build with that id exists with other content.
    #[error("build {build_id} exists with checksum {existing}; the archive has {offered}")]
    BuildChecksum {
        /// Build.
        build_id: BuildId,
        /// Checksum stored.
        existing: Checksum,
        /// Checksum offered.
        offered: Checksum,
    },
    /// Another import of the same build is under way.
    #[error("build {0} is being imported right now; try again when that import ends")]
    ImportInProgress(BuildId),
    /// The build is named by the global policy or an override.
    #[error("build {0} is used by the active policy or an override; point them elsewhere first")]
    BuildInUse(BuildId),
    /// A dependency's build is not in this installation.
    #[error(
        "build {build_id} of library {application_id}, a dependency, is not imported; import it first"
    )]
    MissingDependency {
        /// Library.
        application_id: ApplicationId,
        /// Library build.
        build_id: BuildId,
    },
    /// A dependency's application is a project, not a library.
    #[error("dependency {0} is not a library")]
    DependencyNotALibrary(ApplicationId),
    /// The subject has an override already.
    #[error("{subject_type} `{subject_id}` has an override already")]
    OverrideExists {
        /// USER, GROUP or ROLE.
        subject_type: SubjectType,
        /// Subject.
        subject_id: String,
    },
    /// Libraries take no config overrides.
    #[error(
        "application {0} is a library; set overrides of its parameters in the projects that use it"
    )]
    LibraryOverrides(ApplicationId),
    /// The build belongs to another application than the one named.
    #[error("build {build_id} belongs to application {actual}, not {expected}")]
    ApplicationMismatch {
        /// Build.
        build_id: BuildId,
        /// Application named by the request.
        expected: ApplicationId,
        /// Application of the build.
        actual: ApplicationId,
    },
    /// Deprecated ROLE overrides may only be listed and deleted.
    #[error(
        "ROLE overrides are deprecated: they can be listed and deleted, not created or changed"
    )]
    DeprecatedRoleOverride,
    /// Another application of the workspace has the name.
    #[error("an application named `{0}` exists in the workspace")]
    ApplicationNameTaken(ApplicationName),
    /// Another application's version depends on a build of the library.
    #[error("library {0} is a dependency of another application; remove those dependencies first")]
    LibraryInUse(ApplicationId),
    /// The operation needs a committed version.
    #[error("version {0} is not committed")]
    VersionNotCommitted(VersionId),
    /// The application has a branch with that name.
    #[error("branch `{0}` exists")]
    BranchExists(BranchName),
    /// A committed version never changes.
    #[error("version {0} is committed; start a WIP version to change it")]
    VersionCommitted(VersionId),
    /// A branch has at most one WIP version.
    #[error("branch `{0}` has a WIP version already")]
    WipExists(BranchName),
    /// The WIP is identical to the version it was started from.
    #[error("version {0} has no change since its parent")]
    NothingToCommit(VersionId),
    /// A branch keeps at least one version.
    #[error("version {0} is the only version of its branch")]
    LastVersion(VersionId),
    /// Another resource of the type has the name in the version.
    #[error("a {resource_type} resource named `{name}` exists in the version")]
    ResourceNameTaken {
        /// Type.
        resource_type: ResourceType,
        /// Name.
        name: ResourceName,
    },
    /// The version links a resource of that type and definition id already.
    #[error("{resource_type} resource {definition_id} exists in the version")]
    ResourceExists {
        /// Type.
        resource_type: ResourceType,
        /// Definition id.
        definition_id: ResourceDefinitionId,
    },
    /// The resource changed since the caller read it (`If-Match`).
    #[error("the resource changed: its etag is `{current}`, not `{expected}`")]
    PreconditionFailed {
        /// The etag the caller sent.
        expected: String,
        /// The etag of the resource now.
        current: String,
    },
    /// Following the library's dependencies leads back to the application.
    #[error("depending on library {0} would make a cycle")]
    DependencyCycle(ApplicationId),
    /// Another write changed what the scheduler runs while this one was computed, again
    /// and again; nothing was written, and the request can be repeated.
    #[error("a concurrent change kept moving the timer schedule: {0}; try again")]
    ConcurrentChange(String),
    /// A storage-level conflict the use case did not foresee.
    #[error("{0}")]
    Storage(String),
}

impl Conflict {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BuildChecksum { .. } => "build_checksum_conflict",
            Self::ImportInProgress(_) => "import_in_progress",
            Self::BuildInUse(_) => "build_in_use",
            Self::MissingDependency { .. } => "missing_dependency",
            Self::DependencyNotALibrary(_) => "dependency_not_a_library",
            Self::OverrideExists { .. } => "override_exists",
            Self::LibraryOverrides(_) => "library_overrides_forbidden",
            Self::ApplicationMismatch { .. } => "application_mismatch",
            Self::DeprecatedRoleOverride => "role_override_deprecated",
            Self::ApplicationNameTaken(_) => "application_name_taken",
            Self::LibraryInUse(_) => "library_in_use",
            Self::VersionNotCommitted(_) => "version_not_committed",
            Self::BranchExists(_) => "branch_exists",
            Self::VersionCommitted(_) => "version_committed",
            Self::WipExists(_) => "wip_exists",
            Self::NothingToCommit(_) => "nothing_to_commit",
            Self::LastVersion(_) => "last_version",
            Self::ResourceNameTaken { .. } => "resource_name_taken",
            Self::ResourceExists { .. } => "resource_exists",
            Self::PreconditionFailed { .. } => "precondition_failed",
            Self::DependencyCycle(_) => "dependency_cycle",
            Self::ConcurrentChange(_) => "concurrent_change",
            Self::Storage(_) => "conflict",
        }
    }
}

/// Failure of a use case.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The input breaks a rule of the model.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// What the request names does not exist.
    #[error(transparent)]
    NotFound(#[from] NotFound),
    /// The request collides with the current state.
    #[error(transparent)]
    Conflict(#[from] Conflict),
    /// A backend could not be reached; nothing was changed, retrying may help.
    #[error("a dependency is unavailable")]
    Unavailable(#[source] PortError),
    /// A backend failed.
    #[error("internal failure")]
    Internal(#[source] PortError),
    /// The process engine did not start the process (refused, failed, unreachable, slow).
    #[error(transparent)]
    ProcessEngine(#[from] EngineError),
    /// No process engine is configured, so no process can be started.
    #[error("no process engine is configured: set RTM_PROCESS_ENGINE_URL")]
    ProcessEngineNotConfigured,
    /// The token a message carries gives no principal (channels other than HTTP, whose
    /// bearer check refuses before any use case runs).
    #[error(transparent)]
    Unauthenticated(#[from] TokenError),
}

impl DomainError {
    /// Stable, machine-readable code of the failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(invalid) => invalid.code(),
            Self::NotFound(not_found) => not_found.code(),
            Self::Conflict(conflict) => conflict.code(),
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
            Self::ProcessEngine(EngineError::Refused { .. }) => "process_engine_refused",
            Self::ProcessEngine(_) => "process_engine_unavailable",
            Self::ProcessEngineNotConfigured => "process_engine_not_configured",
            Self::Unauthenticated(token) => token.code(),
        }
    }
}

impl From<PortError> for DomainError {
    fn from(err: PortError) -> Self {
        match err {
            PortError::Conflict(message) => Self::Conflict(Conflict::Storage(message)),
            PortError::Outdated(message) => Self::Conflict(Conflict::ConcurrentChange(message)),
            err @ PortError::Unavailable(_) => Self::Unavailable(err),
            err @ PortError::Backend(_) => Self::Internal(err),
        }
    }
}
