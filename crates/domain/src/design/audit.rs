//! The one place design-time audit records are built: every change of this context is
//! recorded against its application, with the application's workspace.

use time::OffsetDateTime;

use crate::design::model::Application;
use crate::model::{AuditAction, AuditRecord, DomainEvent, EntityRef, Principal};

/// The audit event of `principal` doing `action` to `entity` of `application` at `at`.
pub(crate) fn audit(
    action: AuditAction,
    application: &Application,
    entity: EntityRef,
    principal: &Principal,
    at: OffsetDateTime,
) -> DomainEvent {
    AuditRecord::event(action, entity, application.id, application.workspace_id, principal, at)
}
