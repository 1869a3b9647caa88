//! Reads every design-time use case starts with: the application, the version of it the
//! request names, and whether that version may still change.

use time::OffsetDateTime;

use crate::design::model::{Application, Version};
use crate::error::{Conflict, NotFound};
use crate::model::{ApplicationId, VersionId};
use crate::ports::{PortError, Ports};
use crate::{DomainError, DomainResult};

/// Now, in whole microseconds: the precision of PostgreSQL, so that a value the service
/// returns equals the value a later read returns from any store.
pub(crate) fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_microsecond(now.microsecond()).unwrap_or(now)
}

/// The application, unless it does not exist or is deleted.
pub(crate) async fn application(
    ports: &Ports,
    application_id: ApplicationId,
) -> DomainResult<Application> {
    ports
        .app_data
        .find_application(application_id)
        .await?
        .ok_or_else(|| NotFound::Application(application_id).into())
}

/// A version of `application`; a version of another application is not found, so that ids
/// never leak across applications.
pub(crate) async fn version(
    ports: &Ports,
    application: &Application,
    version_id: VersionId,
) -> DomainResult<Version> {
    match ports.app_data.find_version(version_id).await? {
        Some(version) if version.application_id == application.id => Ok(version),
        _ => Err(NotFound::Version { application_id: application.id, version_id }.into()),
    }
}

/// A WIP version of `application`; `version_committed` for a committed one.
pub(crate) async fn wip(
    ports: &Ports,
    application: &Application,
    version_id: VersionId,
) -> DomainResult<Version> {
    let version = version(ports, application, version_id).await?;
    if version.is_wip() { Ok(version) } else { Err(Conflict::VersionCommitted(version_id).into()) }
}

/// Names a `Conflict` from a write to a WIP version. The version was WIP when the use case
/// read it; if it is not any more, a commit or discard came in between and that is the
/// refusal; otherwise the write broke the rule `otherwise` names.
pub(crate) async fn wip_write_conflict(
    ports: &Ports,
    application: &Application,
    version_id: VersionId,
    err: PortError,
    otherwise: impl FnOnce() -> DomainError,
) -> DomainError {
    if !matches!(err, PortError::Conflict(_)) {
        return err.into();
    }
    match wip(ports, application, version_id).await {
        Ok(_) => otherwise(),
        Err(refusal) => refusal,
    }
}
