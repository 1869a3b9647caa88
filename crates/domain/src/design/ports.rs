//! The role traits of the app-data port that only design time uses. They join the kernel's
//! [`AppDataRepository`](crate::ports::AppDataRepository).
//!
//! The rules that two writers could break together (one WIP per branch, one name per type,
//! a commit that happens once, an etag that still matches) are the store's to keep: each
//! write checks its rule and changes state in one transaction, and reports a broken rule as
//! [`PortError::Conflict`](crate::ports::PortError::Conflict). The services check the same
//! rules first only to name the refusal well. Every write that changes state records its
//! `events` in the same transaction (the outbox); a write that fails changes nothing and
//! records nothing.

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::design::model::{
    Application, ApplicationFilter, Branch, IdempotencyKey, ResourceChange, ResourceUpdate,
    ResourceVersion, Version, VersionDependency, VersionManifestEntry,
};
use crate::model::{
    ApplicationId, BranchName, BuildId, ConfigKey, ConfigParam, DomainEvent, Page, PageRequest,
    ResourceDefinitionId, ResourceType, VersionId,
};
use crate::ports::PortResult;

/// Applications and libraries.
#[async_trait]
pub trait ApplicationRepository {
    /// Creates an application with its branch `main` and that branch's first version (a
    /// WIP with no resource, dependency or parameter), and records `events`, in one write.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when an application with
    /// that id exists, or an application of the same workspace that is not deleted has the
    /// same name (compared exactly); nothing is stored then.
    async fn create_application(
        &self,
        application: &Application,
        main: &Branch,
        first_version: &Version,
        events: &[DomainEvent],
    ) -> PortResult<()>;

    /// An application that is not deleted; `Ok(None)` when there is none or it is deleted.
    async fn find_application(&self, id: ApplicationId) -> PortResult<Option<Application>>;

    /// The applications that are not deleted and pass `filter`, ordered by name, then id.
    async fn list_applications(
        &self,
        filter: &ApplicationFilter,
        page: PageRequest,
    ) -> PortResult<Page<Application>>;

    /// Replaces the name, description and `updated_*` fields of an application that is not
    /// deleted and records `events`; `Ok(false)` when there is none.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when another application
    /// of the workspace that is not deleted has the new name; nothing is changed then.
    async fn update_application(
        &self,
        application: &Application,
        events: &[DomainEvent],
    ) -> PortResult<bool>;

    /// Marks an application deleted at `deleted_at` and records `events`; `Ok(false)` when
    /// there is none or it is deleted already. Its versions and builds stay.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when a version of another
    /// application that is not deleted depends on the application (as a library); nothing
    /// is changed then.
    async fn delete_application(
        &self,
        id: ApplicationId,
        deleted_at: OffsetDateTime,
        events: &[DomainEvent],
    ) -> PortResult<bool>;
}

/// Branches.
#[async_trait]
pub trait BranchRepository {
    /// The branches of an application, oldest first (`main` first), then by name.
    async fn list_branches(&self, application_id: ApplicationId) -> PortResult<Vec<Branch>>;

    /// One branch; `Ok(None)` when the application has none of that name.
    async fn find_branch(
        &self,
        application_id: ApplicationId,
        name: &BranchName,
    ) -> PortResult<Option<Branch>>;

    /// Creates a branch and its first version `wip` (a WIP whose parent is the branch's
    /// `created_from`), copying the parent's resource links, dependencies and config
    /// defaults (never resource contents), and records `events`, in one write.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the application has
    /// a branch of that name, or the parent is not a COMMITTED version of the application;
    /// nothing is stored then.
    async fn create_branch(
        &self,
        branch: &Branch,
        wip: &Version,
        events: &[DomainEvent],
    ) -> PortResult<()>;
}

/// Versions: starting, changing, committing and discarding them.
#[async_trait]
pub trait VersionRepository {
    /// A version; `Ok(None)` when there is none.
    async fn find_version(&self, id: VersionId) -> PortResult<Option<Version>>;

    /// The versions of an application, of one branch when `branch` is given, newest first
    /// ([`Version::newest_first`]).
    async fn list_versions(
        &self,
        application_id: ApplicationId,
        branch: Option<&BranchName>,
        page: PageRequest,
    ) -> PortResult<Page<Version>>;

    /// The WIP version of a branch; `Ok(None)` when it has none.
    async fn find_wip(
        &self,
        application_id: ApplicationId,
        branch: &BranchName,
    ) -> PortResult<Option<Version>>;

    /// The newest COMMITTED version of a branch; `Ok(None)` when it has none.
    async fn find_latest_committed(
        &self,
        application_id: ApplicationId,
        branch: &BranchName,
    ) -> PortResult<Option<Version>>;

    /// Stores `wip`, a new WIP version of its branch, copying its parent's resource links,
    /// dependencies and config defaults (never resource contents), and records `events`, in
    /// one write. Of two racing starts on one branch, one wins.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the branch has a WIP
    /// version already, or `wip` has no parent that is a COMMITTED version of the same
    /// application and branch; nothing is stored then.
    async fn start_wip(&self, wip: &Version, events: &[DomainEvent]) -> PortResult<()>;

    /// Replaces the settings, commit message and `last_changed_at` of a version and records
    /// `events`; `Ok(false)` when there is none.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the stored version's
    /// status is not `version.status` (a commit came first); nothing is changed then.
    async fn update_version(&self, version: &Version, events: &[DomainEvent]) -> PortResult<bool>;

    /// Commits a WIP version: stores `committed` (status COMMITTED, with message and
    /// `committed_*`), marks every WIP resource version it links COMMITTED at
    /// `committed.committed_at`, and records `events`, in one write; `Ok(false)` when there
    /// is no such version. Of two racing commits, one wins.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the stored version is
    /// not WIP; nothing is changed then.
    async fn commit_version(&self, committed: &Version, events: &[DomainEvent])
    -> PortResult<bool>;

    /// Removes a WIP version with its links, dependencies, config defaults and the WIP
    /// resource versions it links, and records `events`, in one write; `Ok(false)` when
    /// there is no such version.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the version is not
    /// WIP; nothing is removed then.
    async fn discard_wip(&self, id: VersionId, events: &[DomainEvent]) -> PortResult<bool>;
}

/// The resources a version links (its manifest) and their contents.
#[async_trait]
pub trait ResourceRepository {
    /// The manifest of a version, ordered by type, then name; empty for an unknown version.
    async fn list_manifest(&self, version_id: VersionId) -> PortResult<Vec<VersionManifestEntry>>;

    /// The resource version a version links for a type and definition id, with content;
    /// `Ok(None)` when it links none.
    async fn find_resource(
        &self,
        version_id: VersionId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
    ) -> PortResult<Option<ResourceVersion>>;

    /// The resource versions a version links, with content, ordered by type, then
    /// definition id: how a build reads up to thousands of resources a page at a time.
    async fn list_resource_contents(
        &self,
        version_id: VersionId,
        page: PageRequest,
    ) -> PortResult<Page<ResourceVersion>>;

    /// Stores `resource` (a WIP resource version), links it from the version and records
    /// `events`, in one write. Of two racing creates with one name, one wins.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the version is not a
    /// WIP version, links a resource of the type with the same name or definition id
    /// already, or a resource version with that id exists; nothing is stored then.
    async fn create_resource(
        &self,
        version_id: VersionId,
        resource: &ResourceVersion,
        events: &[DomainEvent],
    ) -> PortResult<()>;

    /// Changes a resource linked from a WIP version, compare-and-set on
    /// `change.expected_etag`: a WIP resource version changes in place (its revision goes
    /// up), a COMMITTED one is copied to a WIP resource version `change.copy_id` (same
    /// definition id, revision 1) and the version links the copy (copy on write). Records
    /// `events` only when it changes something.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the version is not a
    /// WIP version, or another resource of the type in the version has `change.name`;
    /// nothing is changed then.
    async fn update_resource(
        &self,
        version_id: VersionId,
        change: &ResourceChange,
        events: &[DomainEvent],
    ) -> PortResult<ResourceUpdate>;

    /// Unlinks a resource from a WIP version (removing the resource version when it is
    /// WIP, since no other version links it) and records `events`; `Ok(false)` when the
    /// version links no such resource.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the version is not a
    /// WIP version; nothing is changed then.
    async fn unlink_resource(
        &self,
        version_id: VersionId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
        events: &[DomainEvent],
    ) -> PortResult<bool>;
}

/// Dependencies of versions on library builds.
#[async_trait]
pub trait DependencyRepository {
    /// The dependencies of a version, ordered by library id; empty for an unknown version.
    async fn list_dependencies(&self, version_id: VersionId) -> PortResult<Vec<VersionDependency>>;

    /// Sets the version's dependency on `dependency.library_id` (replacing the build it
    /// named: one build per library) and records `events`.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the version is not a
    /// WIP version, or when the library is an application of this store that is deleted
    /// (checked in the same write, so that a concurrent deletion of the library either sees
    /// this dependency and refuses, or is seen by it); nothing is changed then. A library
    /// known only by its imported builds has no application here and is not refused.
    async fn put_dependency(
        &self,
        version_id: VersionId,
        dependency: &VersionDependency,
        events: &[DomainEvent],
    ) -> PortResult<()>;

    /// Removes the version's dependency on a library and records `events`; `Ok(false)`
    /// when there is none.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the version is not a
    /// WIP version; nothing is changed then.
    async fn delete_dependency(
        &self,
        version_id: VersionId,
        library_id: ApplicationId,
        events: &[DomainEvent],
    ) -> PortResult<bool>;
}

/// Default config parameters of versions.
#[async_trait]
pub trait ConfigDefaultsRepository {
    /// The config defaults of a version, ordered by key; empty for an unknown version.
    async fn list_config_defaults(&self, version_id: VersionId) -> PortResult<Vec<ConfigParam>>;

    /// Sets every parameter of `params` (creating or replacing by key) and records
    /// `events`, all at once: either all are stored or none.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the version is not a
    /// WIP version; nothing is changed then.
    async fn put_config_defaults(
        &self,
        version_id: VersionId,
        params: &[ConfigParam],
        events: &[DomainEvent],
    ) -> PortResult<()>;

    /// Removes one config default and records `events`; `Ok(false)` when there is none.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the version is not a
    /// WIP version; nothing is changed then.
    async fn delete_config_default(
        &self,
        version_id: VersionId,
        key: &ConfigKey,
        events: &[DomainEvent],
    ) -> PortResult<bool>;
}

/// Which build a request with an `Idempotency-Key` created first, per application, so
/// that a retry returns the first answer and creates nothing.
#[async_trait]
pub trait IdempotencyLedger {
    /// The build first recorded under the key; `Ok(None)` when the key is unused.
    async fn find_idempotent_build(
        &self,
        application_id: ApplicationId,
        key: &IdempotencyKey,
    ) -> PortResult<Option<BuildId>>;

    /// Records that the key created `build_id`. Of two racing records of one key, one wins.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the key is recorded
    /// already for the application (with any build); nothing is changed then.
    async fn record_idempotent_build(
        &self,
        application_id: ApplicationId,
        key: &IdempotencyKey,
        build_id: BuildId,
    ) -> PortResult<()>;

    /// Forgets a key, after the build it was to create failed; forgetting an unused key
    /// is not an error.
    async fn forget_idempotency_key(
        &self,
        application_id: ApplicationId,
        key: &IdempotencyKey,
    ) -> PortResult<()>;
}
