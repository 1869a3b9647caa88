//! The design-time model: applications, branches, versions, the resources a version links,
//! its dependencies, and the text rules of commit messages and idempotency keys.

use std::fmt;

use time::OffsetDateTime;

use crate::model::{
    ApplicationId, ApplicationKind, ApplicationName, BranchName, BuildId, BuildSettings,
    NumberFormat, Platforms, RawJson, ResourceDefinitionId, ResourceName, ResourceType,
    ResourceVersionId, ValidationError, VersionId, WorkspaceId,
};

/// An application (project) or library as the designer edits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Id, kept by every build of it.
    pub id: ApplicationId,
    /// Workspace, when the installation has workspaces.
    pub workspace_id: Option<WorkspaceId>,
    /// Name, unique per workspace among the applications not deleted.
    pub name: ApplicationName,
    /// Project or library; fixed at creation, since builds and dependencies record it.
    pub kind: ApplicationKind,
    /// Optional description.
    pub description: Option<String>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: OffsetDateTime,
    /// Who changed it last.
    pub updated_by: String,
    /// When.
    pub updated_at: OffsetDateTime,
    /// When it was deleted; a deleted application is kept (its builds keep serving) but is
    /// no longer found.
    pub deleted_at: Option<OffsetDateTime>,
}

/// The name of the branch every application starts with.
pub const MAIN_BRANCH: &str = "main";

/// A line of versions of an application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// Application.
    pub application_id: ApplicationId,
    /// Name, unique per application.
    pub name: BranchName,
    /// The committed version the branch was created from; `None` for `main`.
    pub created_from: Option<VersionId>,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: OffsetDateTime,
}

/// Whether a version can still change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VersionStatus {
    /// Work in progress: editable.
    Wip,
    /// Committed: never changes again.
    Committed,
}

crate::vocabulary!(VersionStatus, field = "status", {
    Wip => "WIP",
    Committed => "COMMITTED",
});

/// Whether a resource version can still change in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceStatus {
    /// Work in progress: changes in place.
    Wip,
    /// Committed: never changes again; an edit makes a WIP copy.
    Committed,
}

crate::vocabulary!(ResourceStatus, field = "status", {
    Wip => "WIP",
    Committed => "COMMITTED",
});

/// A commit message: 1 to 50 characters of letters, digits, space and `[]().-_/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommitMessage(String);

impl CommitMessage {
    /// Longest message accepted.
    pub const MAX_CHARS: usize = 50;

    /// Checks and wraps `raw`.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] with code `invalid_commit_message` when `raw` is empty, longer
    /// than 50 characters or has a character outside the charset.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let refuse = |reason: String| {
            ValidationError::with_code("invalid_commit_message", "message", reason)
        };
        let n_chars = raw.chars().count();
        if raw.trim().is_empty() {
            return Err(refuse("must not be empty".to_owned()));
        }
        if n_chars > Self::MAX_CHARS {
            return Err(refuse(format!(
                "must be at most {} characters, got {n_chars}",
                Self::MAX_CHARS
            )));
        }
        if let Some(bad) =
            raw.chars().find(|c| !(c.is_ascii_alphanumeric() || " []().-_/".contains(*c)))
        {
            return Err(refuse(format!(
                "character {bad:?} is not allowed; use letters, digits, space and []().-_/"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The text inside.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CommitMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The settings a new application's first version starts with.
pub fn default_settings() -> BuildSettings {
    BuildSettings {
        platforms: Platforms::Omnichannel,
        theme_id: None,
        date_format: "short".to_owned(),
        number_format: NumberFormat::default(),
        currency_format: "isoCode".to_owned(),
        languages: vec!["en".to_owned()],
        default_language_code: "en".to_owned(),
    }
}

/// A version of an application: WIP (at most one per branch) or COMMITTED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Id.
    pub id: VersionId,
    /// Application.
    pub application_id: ApplicationId,
    /// Branch.
    pub branch: BranchName,
    /// WIP or COMMITTED.
    pub status: VersionStatus,
    /// The committed version this one was copied from; `None` for the first version of `main`.
    pub parent_id: Option<VersionId>,
    /// Set when committed; may be edited afterwards.
    pub commit_message: Option<CommitMessage>,
    /// Settings, frozen into builds.
    pub settings: BuildSettings,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: OffsetDateTime,
    /// Who committed it.
    pub committed_by: Option<String>,
    /// When.
    pub committed_at: Option<OffsetDateTime>,
    /// The last change to the version's own fields (creation, settings, commit); each
    /// resource has its own in the manifest.
    pub last_changed_at: OffsetDateTime,
}

impl Version {
    /// Whether the version can still change.
    pub fn is_wip(&self) -> bool {
        self.status == VersionStatus::Wip
    }

    /// Orders versions newest first: by creation time, then by id, so that the order is
    /// total even when two share a timestamp.
    pub fn newest_first(a: &Self, b: &Self) -> std::cmp::Ordering {
        (b.created_at, b.id).cmp(&(a.created_at, a.id))
    }
}

/// One version of a resource, with its content. Versions of an application link resource
/// versions; a committed resource version may be linked from many versions, a WIP one from
/// its WIP version only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceVersion {
    /// Id of this version of the resource.
    pub id: ResourceVersionId,
    /// Stable id across versions.
    pub definition_id: ResourceDefinitionId,
    /// Type.
    pub resource_type: ResourceType,
    /// Name, unique per version and type.
    pub name: ResourceName,
    /// The definition, a JSON object.
    pub content: RawJson,
    /// WIP or COMMITTED.
    pub status: ResourceStatus,
    /// Counts the changes of a WIP resource version in place, from 1; part of the etag.
    pub revision: u64,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When its content last changed.
    pub last_changed_at: OffsetDateTime,
    /// When it was committed.
    pub committed_at: Option<OffsetDateTime>,
}

impl ResourceVersion {
    /// The `ETag` of the content: changes with every change, since an in-place change
    /// raises the revision and a copy on write has a new id. (No hash: the domain has no
    /// digest dependency, and a revision counter is exact where a hash is only likely.)
    pub fn etag(&self) -> String {
        format!("{}.{}", self.id, self.revision)
    }

    /// The manifest line of this resource version.
    pub fn manifest_entry(&self) -> VersionManifestEntry {
        VersionManifestEntry {
            resource_type: self.resource_type.clone(),
            definition_id: self.definition_id.clone(),
            resource_version_id: self.id.clone(),
            name: self.name.clone(),
            status: self.status,
            last_changed_at: self.last_changed_at,
            last_committed_at: self.committed_at,
        }
    }
}

/// One line of a version's manifest: a resource it links, without content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionManifestEntry {
    /// Type.
    pub resource_type: ResourceType,
    /// Stable id.
    pub definition_id: ResourceDefinitionId,
    /// The linked resource version.
    pub resource_version_id: ResourceVersionId,
    /// Name.
    pub name: ResourceName,
    /// Status of the linked resource version.
    pub status: ResourceStatus,
    /// When its content last changed.
    pub last_changed_at: OffsetDateTime,
    /// When it was committed.
    pub last_committed_at: Option<OffsetDateTime>,
}

/// A change to a resource linked from a WIP version, as the store applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceChange {
    /// Type of the resource.
    pub resource_type: ResourceType,
    /// Its stable id.
    pub definition_id: ResourceDefinitionId,
    /// The name it gets.
    pub name: ResourceName,
    /// The content it gets.
    pub content: RawJson,
    /// The etag the caller read (`If-Match`); `None` changes whatever is there.
    pub expected_etag: Option<String>,
    /// The id the copy gets when the linked resource version is COMMITTED (copy on write).
    pub copy_id: ResourceVersionId,
    /// When.
    pub at: OffsetDateTime,
}

/// What a resource update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceUpdate {
    /// The resource changed; here it is as stored now.
    Updated(ResourceVersion),
    /// The version links no such resource; nothing changed.
    Missing,
    /// The resource changed since the caller read it; nothing changed.
    StaleEtag {
        /// The etag of the resource now.
        current: String,
    },
}

/// A version's dependency on one build of a library.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionDependency {
    /// The library.
    pub library_id: ApplicationId,
    /// The library's build.
    pub build_id: BuildId,
}

/// Which applications a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationFilter {
    /// Only names that contain this text, ignoring case.
    pub name_contains: Option<String>,
    /// Only projects or only libraries.
    pub kind: Option<ApplicationKind>,
    /// Only this workspace.
    pub workspace_id: Option<WorkspaceId>,
}

impl ApplicationFilter {
    /// Whether `application` passes the filter (deletion aside).
    pub fn matches(&self, application: &Application) -> bool {
        let name_ok = self.name_contains.as_ref().is_none_or(|part| {
            application.name.as_str().to_lowercase().contains(&part.to_lowercase())
        });
        let kind_ok = self.kind.is_none_or(|kind| kind == application.kind);
        let workspace_ok =
            self.workspace_id.is_none_or(|workspace| Some(workspace) == application.workspace_id);
        name_ok && kind_ok && workspace_ok
    }
}

/// The `Idempotency-Key` of a request: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks and wraps `raw`.
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] on `Idempotency-Key` when `raw` is empty, longer than 255
    /// characters or not visible ASCII.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() || raw.len() > 255 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::new(
                "Idempotency-Key",
                "must be 1 to 255 visible ascii characters",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The text inside.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_messages_follow_the_platform_charset_and_length() {
        assert!(CommitMessage::parse("Fix [JIRA-12] (part 1/2) v1.0_final").is_ok());
        for bad in ["", "   ", "no: colons", "ümlaut", &"x".repeat(51)] {
            let err = CommitMessage::parse(bad).expect_err("refused");
            assert_eq!(err.code(), "invalid_commit_message", "{bad:?}");
        }
        assert!(CommitMessage::parse(&"x".repeat(50)).is_ok());
    }

    #[test]
    fn statuses_read_back_their_own_spelling() {
        assert_eq!(VersionStatus::parse("COMMITTED"), Ok(VersionStatus::Committed));
        assert_eq!(ResourceStatus::Wip.as_str(), "WIP");
        assert!(VersionStatus::parse("wip").is_err());
    }

    #[test]
    fn the_default_settings_are_valid() {
        assert_eq!(default_settings().validate(), Ok(()));
    }
}
