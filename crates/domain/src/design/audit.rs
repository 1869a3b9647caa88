//! The one place design-time audit records are built, so that a change to how records are
//! made (the kernel's `AuditRecord`) is a change here only.

use time::OffsetDateTime;

use crate::design::model::Application;
use crate::model::{AuditAction, AuditRecord, DomainEvent, Principal};

/// What a design-time change touched, for its audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entity {
    Application,
    Branch,
    Version,
    Resource,
    Dependency,
    ConfigParam,
}

impl Entity {
    fn as_str(self) -> &'static str {
        match self {
            Self::Application => "APPLICATION",
            Self::Branch => "APPLICATION_BRANCH",
            Self::Version => "APPLICATION_VERSION",
            Self::Resource => "RESOURCE",
            Self::Dependency => "DEPENDENCY",
            Self::ConfigParam => "CONFIG_PARAM",
        }
    }
}

/// The audit event of `action` on `entity` (named by `entity_id`) of `application`.
pub(crate) fn audit(
    action: AuditAction,
    application: &Application,
    entity: Entity,
    entity_id: String,
    principal: &Principal,
    at: OffsetDateTime,
) -> DomainEvent {
    DomainEvent::Audit(AuditRecord {
        action,
        application_id: application.id,
        workspace_id: application.workspace_id,
        entity_type: entity.as_str(),
        entity_id,
        username: principal.name().to_owned(),
        at,
    })
}
