//! Port for the cache of resolution snapshots and build summaries: a near cache in every
//! replica, in front of Redis when one is configured.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;

use crate::model::{ApplicationId, BuildId, BuildSummary, PolicySnapshot};
use crate::ports::{HealthCheck, PortResult};

/// A load of an application's resolution snapshot from the stores, for
/// [`Cache::load_policy_snapshot`]: `None` when it failed (the caller keeps the error).
pub type SnapshotLoad<'a> = Pin<Box<dyn Future<Output = Option<Arc<PolicySnapshot>>> + Send + 'a>>;

/// A cache: it may forget anything at any time, and the services treat each of its errors
/// as a miss, so the service works with the cache down. Values are shared behind `Arc`, so
/// a hit copies nothing.
///
/// # The generation rule
///
/// A reader fills the cache with what it read from the stores; a writer evicts after its
/// write. A reader that read *before* a write and stores *after* its eviction would put the
/// old value back for good. So every implementation keeps what evictions it has seen:
///
/// - after `evict_policy_snapshot(app, revision)`, a `put_policy_snapshot` of that
///   application whose snapshot's [`revision`](PolicySnapshot::revision) is lower than
///   `revision` is refused (silently: `Ok(())`, nothing stored), and the cached snapshot is
///   gone whatever its revision. A snapshot at `revision` or newer is accepted;
/// - after `evict_build(id)`, a `put_build_summary` of that build is refused for as long as
///   entries live (a tombstone): a summary read before a build's delete never comes back.
///
/// A cache that forgets the generation it saw may only do so when it forgets the entries
/// stored before it too (the same TTL): then the stale value has no entry to survive in.
#[async_trait]
pub trait Cache: HealthCheck + fmt::Debug + Send + Sync + 'static {
    /// The cached resolution snapshot of an application.
    async fn get_policy_snapshot(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Option<Arc<PolicySnapshot>>>;

    /// Caches the resolution snapshot of an application, unless an eviction at a higher
    /// revision was seen (the generation rule), or a newer snapshot is held already.
    async fn put_policy_snapshot(
        &self,
        application_id: ApplicationId,
        snapshot: Arc<PolicySnapshot>,
    ) -> PortResult<()>;

    /// After a miss, loads the resolution snapshot of an application with `load` and caches
    /// it (under the generation rule), once for all the callers that miss together: a
    /// cache that coalesces loads runs `load` only when no load of that application is
    /// under way, and otherwise waits for that one's snapshot (a load that began before an
    /// eviction is never joined after it). `None` when the snapshot could not be had: this
    /// caller's `load` gave `None`, or the load it waited for failed or was abandoned.
    ///
    /// The default runs every caller's `load` and puts what it gives; a put that fails is
    /// logged, as a cache error never fails a request.
    async fn load_policy_snapshot(
        &self,
        application_id: ApplicationId,
        load: SnapshotLoad<'_>,
    ) -> Option<Arc<PolicySnapshot>> {
        let snapshot = load.await?;
        if let Err(err) = self.put_policy_snapshot(application_id, snapshot.clone()).await {
            tracing::warn!(error = %err, app.id = %application_id, "cache write failed");
        }
        Some(snapshot)
    }

    /// Forgets the resolution snapshot of an application after a change at policy
    /// `revision`, and refuses later puts of snapshots older than it.
    async fn evict_policy_snapshot(
        &self,
        application_id: ApplicationId,
        revision: u64,
    ) -> PortResult<()>;

    /// The cached summary of a (committed) build.
    async fn get_build_summary(&self, build_id: BuildId) -> PortResult<Option<Arc<BuildSummary>>>;

    /// Caches the summary of a committed build, unless the build was evicted (deleted).
    async fn put_build_summary(&self, summary: Arc<BuildSummary>) -> PortResult<()>;

    /// Forgets a deleted build, and refuses later puts of its summary.
    async fn evict_build(&self, build_id: BuildId) -> PortResult<()>;
}

// Stops compiling if an edit makes the port unusable as `dyn Cache`.
const _: Option<&dyn Cache> = None;
