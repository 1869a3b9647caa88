//! Port for the build archive codec: how a build made here becomes exactly what an
//! imported archive of it decodes to. Implemented by `build_archive::ArchivePackager`; a
//! port so that the domain knows no zip and no JSON, and so that a created build goes
//! through the one read path every import takes.

use std::fmt;

use async_trait::async_trait;

use crate::DomainResult;
use crate::builds::{ImportRequest, ImportedBinary};
use crate::model::{
    ApplicationId, ApplicationKind, BranchName, BuildDependency, BuildId, BuildResource,
    BuildSettings, ConfigParam, VersionId, WorkspaceId,
};
use time::OffsetDateTime;

/// Everything a build is made of, before it has an archive (and so a checksum).
#[derive(Debug, Clone)]
pub struct BuildDraft {
    /// The new build's id.
    pub build_id: BuildId,
    /// Its application (or library).
    pub application_id: ApplicationId,
    /// The application's name.
    pub application_name: String,
    /// Project or library.
    pub application_kind: ApplicationKind,
    /// The application's workspace, when it has one.
    pub workspace_id: Option<WorkspaceId>,
    /// The committed version the build is made from.
    pub application_version_id: VersionId,
    /// Its branch.
    pub branch: BranchName,
    /// Build name.
    pub name: String,
    /// Optional version tag.
    pub version_tag: Option<String>,
    /// Optional description.
    pub description: Option<String>,
    /// When the build was made.
    pub created_at: OffsetDateTime,
    /// Who made it.
    pub created_by: String,
    /// The version's settings.
    pub settings: BuildSettings,
    /// The version's library builds.
    pub dependencies: Vec<BuildDependency>,
    /// The version's config defaults.
    pub config_params: Vec<ConfigParam>,
    /// Every resource of the version, with its content (`build_id` is the new build's).
    pub resources: Vec<BuildResource>,
    /// The binaries the resources name.
    pub binaries: Vec<ImportedBinary>,
}

/// Packs builds into archives.
#[async_trait]
pub trait BuildPackager: fmt::Debug + Send + Sync + 'static {
    /// The archive of `draft`, read back with the import's own checks into the request an
    /// import of that archive would make (its `expected_application` is the draft's).
    ///
    /// # Errors
    ///
    /// `invalid_request` when the archive breaks a rule or limit an import checks (such a
    /// build could not be imported anywhere); `internal_error` when packing itself fails.
    async fn package(&self, draft: BuildDraft) -> DomainResult<ImportRequest>;
}

// Stops compiling if an edit makes the port unusable as `dyn BuildPackager`.
const _: Option<&dyn BuildPackager> = None;
