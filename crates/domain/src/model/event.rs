//! What happened: the events every change records, delivered to other services through an
//! outbox so that a change and its events are stored together or not at all.

use time::OffsetDateTime;

use crate::model::{
    ApplicationId, BranchName, BuildId, Checksum, ConfigKey, PolicyOverrideId, Principal,
    ResourceDefinitionId, ScheduleCommand, ScheduledTimer, ValidationError, VersionId, WorkspaceId,
};

/// The kind of change an audit record describes. Its word is the exact operation; its
/// [`verb`](Self::verb) is the original platform's coarse audit action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A build was imported.
    ImportBuild,
    /// A build was exported.
    ExportBuild,
    /// A build was deleted.
    DeleteBuild,
    /// The global policy was set.
    SetActivePolicy,
    /// A policy override was added.
    CreatePolicyOverride,
    /// A policy override was changed.
    UpdatePolicyOverride,
    /// A policy override was removed.
    DeletePolicyOverride,
    /// Config overrides were set (one or many).
    SetConfigOverrides,
    /// A config override was removed.
    DeleteConfigOverride,
    /// An application or library was created.
    CreateApplication,
    /// An application was renamed or described.
    UpdateApplication,
    /// An application was (soft) deleted.
    DeleteApplication,
    /// A branch was created.
    CreateBranch,
    /// A WIP version was started on a branch.
    StartVersion,
    /// The settings or commit message of a version changed.
    UpdateVersion,
    /// A WIP version was committed.
    CommitVersion,
    /// A WIP version was discarded.
    DiscardVersion,
    /// A resource was added to a WIP version.
    CreateResource,
    /// A resource of a WIP version changed.
    UpdateResource,
    /// A resource was unlinked from a WIP version.
    DeleteResource,
    /// A dependency of a WIP version was set.
    SetDependency,
    /// A dependency of a WIP version was removed.
    DeleteDependency,
    /// Config defaults of a WIP version were set (one or many).
    SetConfigDefaults,
    /// A config default of a WIP version was removed.
    DeleteConfigDefault,
    /// A build was created from a committed version.
    CreateBuild,
    /// A media binary was uploaded.
    UploadBinary,
    /// A timer start event of a build was switched on or off.
    SwitchTimer,
}

crate::vocabulary!(AuditAction, field = "action", {
    ImportBuild => "IMPORT_BUILD",
    ExportBuild => "EXPORT_BUILD",
    DeleteBuild => "DELETE_BUILD",
    SetActivePolicy => "SET_ACTIVE_POLICY",
    CreatePolicyOverride => "CREATE_POLICY_OVERRIDE",
    UpdatePolicyOverride => "UPDATE_POLICY_OVERRIDE",
    DeletePolicyOverride => "DELETE_POLICY_OVERRIDE",
    SetConfigOverrides => "SET_CONFIG_OVERRIDES",
    DeleteConfigOverride => "DELETE_CONFIG_OVERRIDE",
    CreateApplication => "CREATE_APPLICATION",
    UpdateApplication => "UPDATE_APPLICATION",
    DeleteApplication => "DELETE_APPLICATION",
    CreateBranch => "CREATE_BRANCH",
    StartVersion => "START_VERSION",
    UpdateVersion => "UPDATE_VERSION",
    CommitVersion => "COMMIT_VERSION",
    DiscardVersion => "DISCARD_VERSION",
    CreateResource => "CREATE_RESOURCE",
    UpdateResource => "UPDATE_RESOURCE",
    DeleteResource => "DELETE_RESOURCE",
    SetDependency => "SET_DEPENDENCY",
    DeleteDependency => "DELETE_DEPENDENCY",
    SetConfigDefaults => "SET_CONFIG_DEFAULTS",
    DeleteConfigDefault => "DELETE_CONFIG_DEFAULT",
    CreateBuild => "CREATE_BUILD",
    UploadBinary => "UPLOAD_BINARY",
    SwitchTimer => "SWITCH_TIMER",
});

impl AuditAction {
    /// The coarse action of the original's audit trail (`core.trigger.save.audit`).
    pub const fn verb(self) -> AuditVerb {
        match self {
            Self::ImportBuild => AuditVerb::Import,
            Self::ExportBuild => AuditVerb::Export,
            Self::DeleteBuild
            | Self::DeletePolicyOverride
            | Self::DeleteConfigOverride
            | Self::DeleteApplication
            | Self::DiscardVersion
            | Self::DeleteResource
            | Self::DeleteDependency
            | Self::DeleteConfigDefault => AuditVerb::Delete,
            Self::SetActivePolicy => AuditVerb::Activate,
            Self::CreatePolicyOverride
            | Self::CreateApplication
            | Self::CreateBranch
            | Self::StartVersion
            | Self::CreateResource
            | Self::UploadBinary => AuditVerb::Create,
            Self::UpdatePolicyOverride
            | Self::SetConfigOverrides
            | Self::UpdateApplication
            | Self::UpdateVersion
            | Self::UpdateResource
            | Self::SetDependency
            | Self::SetConfigDefaults
            | Self::SwitchTimer => AuditVerb::Update,
            Self::CommitVersion => AuditVerb::Commit,
            Self::CreateBuild => AuditVerb::Build,
        }
    }
}

/// The original platform's audit actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditVerb {
    /// Something was created.
    Create,
    /// Something was changed.
    Update,
    /// Something was removed.
    Delete,
    /// A version was committed.
    Commit,
    /// A build was created.
    Build,
    /// What is live changed.
    Activate,
    /// Something arrived from another installation.
    Import,
    /// Something left for another installation.
    Export,
}

crate::vocabulary!(AuditVerb, field = "action", {
    Create => "CREATE",
    Update => "UPDATE",
    Delete => "DELETE",
    Commit => "COMMIT",
    Build => "BUILD",
    Activate => "ACTIVATE",
    Import => "IMPORT",
    Export => "EXPORT",
});

/// What an audit record is about: the entity's kind and its typed id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityRef {
    /// A build.
    Build(BuildId),
    /// The global active policy of an application.
    ActivePolicy(ApplicationId),
    /// One override of an active policy.
    PolicyOverride(PolicyOverrideId),
    /// Config overrides of an application, by key.
    ConfigOverrides(Vec<ConfigKey>),
    /// An application or library.
    Application(ApplicationId),
    /// A branch of an application.
    Branch(BranchName),
    /// A version of an application.
    Version(VersionId),
    /// A resource of a version, by its stable id.
    Resource(ResourceDefinitionId),
    /// A version's dependency on a library, by the library.
    Dependency(ApplicationId),
    /// Config defaults of a version, by key.
    ConfigDefaults(Vec<ConfigKey>),
    /// A media binary, by its SHA-256.
    Binary(Checksum),
}

/// The kind of an [`EntityRef`], as the audit trail names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    /// [`EntityRef::Build`].
    Build,
    /// [`EntityRef::ActivePolicy`].
    ActivePolicy,
    /// [`EntityRef::PolicyOverride`].
    PolicyOverride,
    /// [`EntityRef::ConfigOverrides`].
    ConfigOverrides,
    /// [`EntityRef::Application`].
    Application,
    /// [`EntityRef::Branch`].
    Branch,
    /// [`EntityRef::Version`].
    Version,
    /// [`EntityRef::Resource`].
    Resource,
    /// [`EntityRef::Dependency`].
    Dependency,
    /// [`EntityRef::ConfigDefaults`].
    ConfigDefaults,
    /// [`EntityRef::Binary`].
    Binary,
}

crate::vocabulary!(EntityKind, field = "entityType", {
    Build => "BUILD",
    ActivePolicy => "ACTIVE_POLICY",
    PolicyOverride => "ACTIVE_POLICY_OVERRIDE",
    ConfigOverrides => "CONFIG_PARAM_OVERRIDE",
    Application => "APPLICATION",
    Branch => "APPLICATION_BRANCH",
    Version => "APPLICATION_VERSION",
    Resource => "RESOURCE",
    Dependency => "DEPENDENCY",
    ConfigDefaults => "CONFIG_PARAM",
    Binary => "MEDIA_BINARY",
});

impl EntityRef {
    /// The kind of entity.
    pub fn kind(&self) -> EntityKind {
        match self {
            Self::Build(_) => EntityKind::Build,
            Self::ActivePolicy(_) => EntityKind::ActivePolicy,
            Self::PolicyOverride(_) => EntityKind::PolicyOverride,
            Self::ConfigOverrides(_) => EntityKind::ConfigOverrides,
            Self::Application(_) => EntityKind::Application,
            Self::Branch(_) => EntityKind::Branch,
            Self::Version(_) => EntityKind::Version,
            Self::Resource(_) => EntityKind::Resource,
            Self::Dependency(_) => EntityKind::Dependency,
            Self::ConfigDefaults(_) => EntityKind::ConfigDefaults,
            Self::Binary(_) => EntityKind::Binary,
        }
    }

    /// The entity's id as text (several config keys are joined by `,`).
    pub fn id(&self) -> String {
        match self {
            Self::Build(id) => id.to_string(),
            Self::ActivePolicy(id) | Self::Application(id) | Self::Dependency(id) => id.to_string(),
            Self::PolicyOverride(id) => id.to_string(),
            Self::Branch(name) => name.to_string(),
            Self::Version(id) => id.to_string(),
            Self::Resource(id) => id.to_string(),
            Self::Binary(sha256) => sha256.to_string(),
            Self::ConfigOverrides(keys) | Self::ConfigDefaults(keys) => {
                keys.iter().map(ConfigKey::as_str).collect::<Vec<_>>().join(",")
            }
        }
    }

    /// The reference written as `kind` and `id` by [`kind`](Self::kind) and [`id`](Self::id).
    ///
    /// # Errors
    ///
    /// A [`ValidationError`] for an unknown kind or an id that is not one of that kind.
    pub fn parse(kind: &str, id: &str) -> Result<Self, ValidationError> {
        Ok(match EntityKind::parse(kind)? {
            EntityKind::Build => Self::Build(BuildId::parse(id)?),
            EntityKind::ActivePolicy => Self::ActivePolicy(ApplicationId::parse(id)?),
            EntityKind::PolicyOverride => Self::PolicyOverride(PolicyOverrideId::parse(id)?),
            EntityKind::ConfigOverrides => Self::ConfigOverrides(keys(id)?),
            EntityKind::Application => Self::Application(ApplicationId::parse(id)?),
            EntityKind::Branch => Self::Branch(BranchName::parse(id)?),
            EntityKind::Version => Self::Version(VersionId::parse(id)?),
            EntityKind::Resource => Self::Resource(ResourceDefinitionId::parse(id)?),
            EntityKind::Dependency => Self::Dependency(ApplicationId::parse(id)?),
            EntityKind::ConfigDefaults => Self::ConfigDefaults(keys(id)?),
            EntityKind::Binary => Self::Binary(Checksum::parse(id)?),
        })
    }

    /// The build the record is about, if it is about one.
    pub fn build_id(&self) -> Option<BuildId> {
        match self {
            Self::Build(id) => Some(*id),
            _ => None,
        }
    }
}

fn keys(joined: &str) -> Result<Vec<ConfigKey>, ValidationError> {
    if joined.is_empty() {
        return Ok(Vec::new());
    }
    joined.split(',').map(ConfigKey::parse).collect()
}

/// One entry of the audit trail (`core.trigger.save.audit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// What was done.
    pub action: AuditAction,
    /// What it was done to.
    pub entity: EntityRef,
    /// The application concerned.
    pub application_id: ApplicationId,
    /// Its workspace, when known.
    pub workspace_id: Option<WorkspaceId>,
    /// Who did it: the caller's username, else its subject.
    pub username: String,
    /// When it was done.
    pub at: OffsetDateTime,
}

impl AuditRecord {
    /// The record of `principal` doing `action` to `entity` of an application at `at`,
    /// as the event to record with the change: the one way every use case audits.
    pub fn event(
        action: AuditAction,
        entity: EntityRef,
        application_id: ApplicationId,
        workspace_id: Option<WorkspaceId>,
        principal: &Principal,
        at: OffsetDateTime,
    ) -> DomainEvent {
        DomainEvent::Audit(Self {
            action,
            entity,
            application_id,
            workspace_id,
            username: principal.name().to_owned(),
            at,
        })
    }
}

/// An event recorded with a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    /// A build was imported and is visible to readers.
    BuildImported {
        /// The application.
        application_id: ApplicationId,
        /// Its workspace, when known.
        workspace_id: Option<WorkspaceId>,
        /// The build.
        build_id: BuildId,
        /// Its checksum.
        checksum: Checksum,
    },
    /// A build was created here from a committed version and is visible to readers
    /// (`build.create`).
    BuildCreated {
        /// The application.
        application_id: ApplicationId,
        /// Its workspace, when known.
        workspace_id: Option<WorkspaceId>,
        /// The build.
        build_id: BuildId,
        /// The committed version it was made from.
        application_version_id: VersionId,
        /// Its checksum.
        checksum: Checksum,
    },
    /// A build was deleted.
    BuildDeleted {
        /// The application.
        application_id: ApplicationId,
        /// The build.
        build_id: BuildId,
    },
    /// The global policy or an override of an application changed: every replica evicts
    /// what it cached for the application.
    ActivePolicyUpdated {
        /// The application.
        application_id: ApplicationId,
    },
    /// Config overrides of an application changed.
    ConfigOverridesUpdated {
        /// The application.
        application_id: ApplicationId,
        /// The keys set or removed.
        keys: Vec<ConfigKey>,
    },
    /// The scheduler is told to set or stop one timer (`core.trigger.set.timer-event-schedule`
    /// / `core.trigger.stop.timer-event-schedule`): the global build changed, or a timer of
    /// it was switched.
    Timer {
        /// Set or stop.
        command: ScheduleCommand,
        /// Which timer of which build, and when it fires.
        timer: ScheduledTimer,
    },
    /// An audit record.
    Audit(AuditRecord),
}

impl DomainEvent {
    /// The application the event is about; the key that orders its delivery.
    pub fn application_id(&self) -> ApplicationId {
        match self {
            Self::BuildImported { application_id, .. }
            | Self::BuildCreated { application_id, .. }
            | Self::BuildDeleted { application_id, .. }
            | Self::ActivePolicyUpdated { application_id }
            | Self::ConfigOverridesUpdated { application_id, .. } => *application_id,
            Self::Timer { timer, .. } => timer.application_id,
            Self::Audit(record) => record.application_id,
        }
    }
}

/// What the outbox holds undelivered: how far the relay is behind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxBacklog {
    /// Events recorded and not yet marked sent.
    pub pending: u64,
    /// When the oldest of them was recorded; `None` when nothing is pending.
    pub oldest_recorded_at: Option<OffsetDateTime>,
}

/// An event waiting in the outbox, numbered in the order it was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRecord {
    /// Position in the outbox; increases with every recorded event.
    pub sequence: u64,
    /// The event.
    pub event: DomainEvent,
    /// When it was recorded.
    pub recorded_at: OffsetDateTime,
}
