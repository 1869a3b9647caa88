//! Reads that several use cases share: builds and resolution snapshots through the cache.
//! A cache failure is logged and treated as a miss, never as a failure of the request.
//! Every read of a build goes through [`summary`], which sees only committed builds.

use std::sync::Arc;

use crate::error::{Conflict, NotFound};
use crate::model::{ApplicationId, Build, BuildHeader, BuildId, BuildSummary, PolicySnapshot};
use crate::ports::Ports;
use crate::telemetry::{self, CacheName, CacheResult};
use crate::{DomainError, DomainResult};

/// The summary of a committed build, from the cache when it has it.
///
/// The header in the application data is the commit point: a build the runtime store has
/// published but whose header was never written (its importer died in between) is no build
/// at all. So on a miss the header is read first, and the runtime store is read (and the
/// cache filled) only for a build that has one: the cache only ever holds committed builds,
/// and a delete evicts them (and refuses a summary read before it, the generation rule).
pub(crate) async fn summary(
    ports: &Ports,
    build_id: BuildId,
) -> DomainResult<Option<Arc<BuildSummary>>> {
    match ports.cache.get_build_summary(build_id).await {
        Ok(Some(summary)) => {
            telemetry::cache_get(CacheName::Build, CacheResult::Hit);
            return Ok(Some(summary));
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
    let summary = Arc::new(build.summary());
    if let Err(err) = ports.cache.put_build_summary(summary.clone()).await {
        tracing::warn!(error = %err, build.id = %build_id, "cache write failed");
    }
    Ok(Some(summary))
}

/// The summary of a committed build of `application_id`; `build_not_found` for a build of
/// another application, or one whose import never reached its commit point.
pub(crate) async fn summary_of(
    ports: &Ports,
    application_id: ApplicationId,
    build_id: BuildId,
) -> DomainResult<Arc<BuildSummary>> {
    match summary(ports, build_id).await? {
        Some(summary) if summary.header.application_id == application_id => Ok(summary),
        _ => Err(NotFound::Build { application_id, build_id }.into()),
    }
}

/// A whole committed build (config parameters and manifest included), always from the
/// runtime store, once [`summary`] has found it committed: only the small summary is cached.
pub(crate) async fn build(ports: &Ports, build_id: BuildId) -> DomainResult<Option<Build>> {
    if summary(ports, build_id).await?.is_none() {
        return Ok(None);
    }
    Ok(ports.runtime_data.find_build(build_id).await?)
}

/// A whole committed build of `application_id`; `build_not_found` for a build of another
/// application, or one whose import never reached its commit point.
pub(crate) async fn build_of(
    ports: &Ports,
    application_id: ApplicationId,
    build_id: BuildId,
) -> DomainResult<Build> {
    summary_of(ports, application_id, build_id).await?;
    match ports.runtime_data.find_build(build_id).await? {
        Some(build) => Ok(build),
        None => Err(NotFound::Build { application_id, build_id }.into()),
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
///
/// On a miss the cache runs the load
/// ([`Cache::load_policy_snapshot`](crate::ports::Cache::load_policy_snapshot)) once for every caller
/// that missed together: right after a change, a large application's snapshot (0.4 s for
/// 100 000 overrides) is read once per replica, not once per waiting request.
pub(crate) async fn policy_snapshot(
    ports: &Ports,
    application_id: ApplicationId,
) -> DomainResult<Arc<PolicySnapshot>> {
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
    // The load's error stays here: the cache only learns that there is no snapshot.
    let failure = std::sync::Mutex::new(None);
    let load = async {
        match load_policy_snapshot(ports, application_id).await {
            Ok(snapshot) => Some(snapshot),
            Err(err) => {
                *failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(err);
                None
            }
        }
    };
    if let Some(snapshot) = ports.cache.load_policy_snapshot(application_id, Box::pin(load)).await {
        return Ok(snapshot);
    }
    match failure.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
        Some(err) => Err(err),
        // The load this caller waited for failed: it tries on its own, so its error (or its
        // snapshot) is its own.
        None => load_policy_snapshot(ports, application_id).await,
    }
}

/// Reads an application's snapshot from the stores.
///
/// The policy revision is read first, then the policy, overrides and branches: a change
/// committed in between is in the content but not in the label, so the snapshot is never
/// labelled newer than what it holds, and the cache's generation rule (see
/// [`Cache`](crate::ports::Cache)) refuses it only when an eviction says it is old.
async fn load_policy_snapshot(
    ports: &Ports,
    application_id: ApplicationId,
) -> DomainResult<Arc<PolicySnapshot>> {
    let revision = ports.app_data.policy_revision(application_id).await?;
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
    Ok(Arc::new(PolicySnapshot::new(revision, global, overrides, latest_by_branch)))
}

/// Forgets what the cache holds for resolution in an application, after a change to it.
///
/// The eviction carries the policy revision read after the write (its own or a later one),
/// so the cache refuses a snapshot read before the write and stored after this eviction.
/// A revision that cannot be read evicts at 0: the entry goes, without the guard.
pub(crate) async fn evict_snapshot(ports: &Ports, application_id: ApplicationId) {
    let revision = match ports.app_data.policy_revision(application_id).await {
        Ok(revision) => revision,
        Err(err) => {
            tracing::warn!(error = %err, app.id = %application_id, "could not read the policy revision; evicting without it");
            0
        }
    };
    if let Err(err) = ports.cache.evict_policy_snapshot(application_id, revision).await {
        tracing::warn!(error = %err, app.id = %application_id, "cache eviction failed; entries expire with their ttl");
    }
}
