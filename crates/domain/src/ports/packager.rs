//! Port for the build archive codec: how a build made here becomes exactly what an
//! imported archive of it decodes to. Implemented by `build_archive::ArchivePackager`; a
//! port so that the domain knows no zip and no JSON, and so that a created build goes
//! through the one read path every import takes. The archive is written piece by piece (a
//! page of resources at a time), so that making a build never holds all of it in memory.

use std::fmt;

use async_trait::async_trait;

use crate::DomainResult;
use crate::builds::{BuildImport, ImportedBinary};
use crate::model::{
    ApplicationId, ApplicationKind, BranchName, BuildDependency, BuildId, BuildResource,
    BuildSettings, ConfigParam, VersionId, WorkspaceId,
};
use time::OffsetDateTime;

/// What a build is made of besides its resources and binaries, before it has an archive
/// (and so a checksum).
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
}

/// Packs builds into archives.
#[async_trait]
pub trait BuildPackager: fmt::Debug + Send + Sync + 'static {
    /// Starts the archive of `draft`; its resources and binaries are added to the
    /// [`ArchiveWriter`] as they are read.
    ///
    /// # Errors
    ///
    /// `internal_error` when the archive cannot be started (no temporary file).
    async fn start(&self, draft: BuildDraft) -> DomainResult<Box<dyn ArchiveWriter>>;
}

/// The archive of one build, being written.
#[async_trait]
pub trait ArchiveWriter: Send {
    /// Adds resources (their `build_id` is the draft's).
    ///
    /// # Errors
    ///
    /// `internal_error` when writing fails or a stored content is not JSON.
    async fn add_resources(&mut self, resources: Vec<BuildResource>) -> DomainResult<()>;

    /// Adds a binary a resource names; the same binary twice is written once.
    ///
    /// # Errors
    ///
    /// `internal_error` when writing fails.
    async fn add_binary(&mut self, binary: ImportedBinary) -> DomainResult<()>;

    /// Whether a binary with this SHA-256 was added already.
    fn has_binary(&self, sha256: &str) -> bool;

    /// Finishes the archive and reads it back with the import's own checks into what an
    /// import of that archive would store (its `expected_application` is the draft's).
    ///
    /// # Errors
    ///
    /// `invalid_request` when the archive breaks a rule or limit an import checks (such a
    /// build could not be imported anywhere); `internal_error` when packing itself fails.
    async fn finish(self: Box<Self>) -> DomainResult<BuildImport>;
}

// Stops compiling if an edit makes the ports unusable as trait objects.
const _: Option<&dyn BuildPackager> = None;
const _: Option<&dyn ArchiveWriter> = None;
