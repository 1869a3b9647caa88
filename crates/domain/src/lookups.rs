//! Reads that several use cases share: builds and resolution snapshots through the cache.
//! A cache failure is logged and treated as a miss, never as a failure of the request.
//! Every read of a build goes through [`build`], which sees only committed builds.

use crate::error::{Conflict, NotFound};
use crate::model::{ApplicationId, Build, BuildHeader, BuildId, PolicySnapshot};
use crate::ports::Ports;
use crate::telemetry::{self, CacheName, CacheResult};
use crate::{DomainError, DomainResult};

/// A committed build, from the cache when it has it.
///
/// The header in the application data is the commit point: a build the runtime store has
/// published but whose header was never written (its importer died in between) is no build
/// at all. So on a miss the header is read first, and the runtime store is read (and the
/// cache filled) only for a build that has one: the cache only ever holds committed builds,
/// and a delete evicts them.
pub(crate) async fn build(ports: &Ports, build_id: BuildId) -> DomainResult<Option<Build>> {
    match ports.cache.get_build(build_id).await {
        Ok(Some(build)) => {
            telemetry::cache_get(CacheName::Build, CacheResult::Hit);
            return Ok(Some(build));
        }
        Ok(None) => telemetry::cache_get(CacheName::Build, CacheResult::Miss),
        Err(err) => {
            telemetry::cache_get(CacheName::Build, CacheResult::Error);
            tracing::warn!(error = %err, build.id = %build_id, "cache read failed; reading the store")
        }
    }
    if ports.app_data.find_build_header(build_id).await?.is_none() {
        return Ok(None);
    }
    let Some(build) = ports.runtime_data.find_build(build_id).await? else {
        tracing::error!(build.id = %build_id, "a committed build is missing from the runtime store");
        return Ok(None);
    };
    if let Err(err) = ports.cache.put_build(&build).await {
        tracing::warn!(error = %err, build.id = %build_id, "cache write failed");
    }
    Ok(Some(build))
}

/// A committed build of `application_id`; `build_not_found` for a build of another
/// application, or one whose import never reached its commit point.
pub(crate) async fn build_of(
    ports: &Ports,
    application_id: ApplicationId,
    build_id: BuildId,
) -> DomainResult<Build> {
    match build(ports, build_id).await? {
        Some(build) if build.header.application_id == application_id => Ok(build),
        _ => Err(NotFound::Build { application_id, build_id }.into()),
    }
}

/// The header of a build of `application_id`; `build_not_found` for a build of another application.
pub(crate) async fn header_of(
    ports: &Ports,
    application_id: ApplicationId,
    build_id: BuildId,
) -> DomainResult<BuildHeader> {
    match ports.app_data.find_build_header(build_id).await? {
        Some(header) if header.application_id == application_id => Ok(header),
        _ => Err(NotFound::Build { application_id, build_id }.into()),
    }
}

/// Checks that a build a policy is to point at exists and belongs to the application.
pub(crate) async fn policy_build(
    ports: &Ports,
    application_id: ApplicationId,
    build_id: BuildId,
) -> DomainResult<()> {
    match ports.app_data.find_build_header(build_id).await? {
        None => Err(NotFound::Build { application_id, build_id }.into()),
        Some(header) if header.application_id != application_id => {
            Err(DomainError::Conflict(Conflict::ApplicationMismatch {
                build_id,
                expected: application_id,
                actual: header.application_id,
            }))
        }
        Some(_) => Ok(()),
    }
}

/// Everything resolution needs for an application, from the cache when it has it.
pub(crate) async fn policy_snapshot(
    ports: &Ports,
    application_id: ApplicationId,
) -> DomainResult<PolicySnapshot> {
    match ports.cache.get_policy_snapshot(application_id).await {
        Ok(Some(snapshot)) => {
            telemetry::cache_get(CacheName::PolicySnapshot, CacheResult::Hit);
            return Ok(snapshot);
        }
        Ok(None) => telemetry::cache_get(CacheName::PolicySnapshot, CacheResult::Miss),
        Err(err) => {
            telemetry::cache_get(CacheName::PolicySnapshot, CacheResult::Error);
            tracing::warn!(error = %err, app.id = %application_id, "cache read failed; reading the store")
        }
    }
    let global = ports.app_data.find_active_policy(application_id).await?;
    let overrides = ports.app_data.list_policy_overrides(application_id).await?;
    let mut latest_by_branch = std::collections::BTreeMap::new();
    for branch in PolicySnapshot::branches(global.as_ref(), &overrides) {
        if let Some(header) =
            ports.app_data.find_latest_build_on_branch(application_id, &branch).await?
        {
            latest_by_branch.insert(branch, header.id);
        }
    }
    // Revision 0: the snapshot carries a generation for the caches that compare them; the
    // store read here has none to give.
    let snapshot = PolicySnapshot::new(0, global, overrides, latest_by_branch);
    if let Err(err) = ports.cache.put_policy_snapshot(application_id, &snapshot).await {
        tracing::warn!(error = %err, app.id = %application_id, "cache write failed");
    }
    Ok(snapshot)
}

/// Forgets what the cache holds for resolution in an application, after a change to it.
pub(crate) async fn evict_snapshot(ports: &Ports, application_id: ApplicationId) {
    if let Err(err) = ports.cache.evict_policy_snapshot(application_id).await {
        tracing::warn!(error = %err, app.id = %application_id, "cache eviction failed; entries expire with their ttl");
    }
}
