//! Errors returned by the use cases. Each refusal has a stable machine-readable code, so
//! that every edge (HTTP, CLI) reports the same rule the same way.

use crate::model::{ApplicationId, BranchName, BuildId, Checksum, SubjectType, ValidationError};
use crate::ports::PortError;

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
}

impl NotFound {
    /// Stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Build { .. } => "build_not_found",
            Self::ActivePolicy(_) => "no_active_policy",
            Self::BuildOnBranch { .. } => "no_build_on_branch",
            Self::PolicyOverride(_) => "policy_override_not_found",
            Self::ConfigOverride(_) => "config_override_not_found",
            Self::Resource { .. } => "resource_not_found",
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
}

impl DomainError {
    /// Stable, machine-readable code of the failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_request",
            Self::NotFound(not_found) => not_found.code(),
            Self::Conflict(conflict) => conflict.code(),
            Self::Unavailable(_) => "service_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }
}

impl From<PortError> for DomainError {
    fn from(err: PortError) -> Self {
        match err {
            PortError::Conflict(message) => Self::Conflict(Conflict::Storage(message)),
            err @ PortError::Unavailable(_) => Self::Unavailable(err),
            err @ PortError::Backend(_) => Self::Internal(err),
        }
    }
}
