//! What happened: the events every change records, delivered to other services through an
//! outbox so that a change and its events are stored together or not at all.

use time::OffsetDateTime;

use crate::model::{ApplicationId, BuildId, Checksum, ConfigKey, WorkspaceId};

/// The kind of change an audit record describes.
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
}

/// One entry of the audit trail (`core.trigger.save.audit`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// What was done.
    pub action: AuditAction,
    /// The application concerned.
    pub application_id: ApplicationId,
    /// Its workspace, when known.
    pub workspace_id: Option<WorkspaceId>,
    /// Type of the changed entity (`BUILD`, `ACTIVE_POLICY`, …).
    pub entity_type: &'static str,
    /// Id of the changed entity.
    pub entity_id: String,
    /// Who did it.
    pub username: String,
    /// When.
    pub at: OffsetDateTime,
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
    /// An audit record.
    Audit(AuditRecord),
}

impl DomainEvent {
    /// The application the event is about; the key that orders its delivery.
    pub fn application_id(&self) -> ApplicationId {
        match self {
            Self::BuildImported { application_id, .. }
            | Self::BuildDeleted { application_id, .. }
            | Self::ActivePolicyUpdated { application_id }
            | Self::ConfigOverridesUpdated { application_id, .. } => *application_id,
            Self::Audit(record) => record.application_id,
        }
    }
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
