//! `NearCache`: the `Cache` port in every replica's memory, in front of an optional shared
//! second level (Redis).
//!
//! Resolution asks the cache on every request, so a hit must cost a hash lookup and an `Arc`
//! clone, not a network round trip and a JSON decode. The near level is a bounded (by an
//! estimate of bytes), TTL'd [`moka`] cache of decoded values behind `Arc`. On a near miss
//! the second level is asked and its answer kept near; puts and evictions go to both.
//!
//! The port's generation rule is kept here too, so a value read before a change and stored
//! after its eviction never survives in the near level:
//!
//! - the highest revision each application was evicted at is kept in a small map (one
//!   `u64` per application, never dropped: a floor the cache forgot could let a stale put
//!   in, and moka may refuse to admit or may drop any entry, so the floors live outside it);
//! - a deleted build leaves a tombstone for the entries' TTL (after that, no summary read
//!   before the delete can still be on its way in: a read takes milliseconds).
//!
//! Checks and writes of one kind run under one mutex (puts and evictions only: misses and
//! changes, never the hot path of a hit), so a put cannot slip between an eviction's floor
//! and its invalidation.
//!
//! Misses of one application that happen together load its snapshot once (single flight):
//! the first caller loads, the others wait for its snapshot. An eviction removes the flight
//! under way, so a caller that misses after a change never waits for a load begun before it.
//!
//! It also keeps the highest policy revision it has applied, evictions and loaded snapshots
//! alike ([`NearCache::applied_revision`]): revisions are outbox sequences, global and
//! commit-ordered, so replicas that show the same value have heard of the same changes.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use domain::model::{ApplicationId, BuildId, BuildSummary, PolicySnapshot};
use domain::ports::{Cache, HealthCheck, PortResult, SnapshotLoad};
use tokio::sync::watch;

/// Metric: near-level lookups, by cache (`policy_snapshot`, `build`) and level that answered
/// (`near`, `shared`, `none`).
pub const NEAR_CACHE_LOOKUPS_TOTAL: &str = "rtm_near_cache_lookups_total";

/// Metric: loads of resolution snapshots after a miss, by `result`: `loaded` (this caller
/// read the stores), `joined` (it waited for another caller's load), `failed` (the load it
/// ran or waited for gave nothing).
pub const SNAPSHOT_LOADS_TOTAL: &str = "rtm_policy_snapshot_loads_total";

/// How big and how fresh the near level is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NearCacheConfig {
    /// Most bytes (estimated) the near level holds; 0 disables it (every read goes to the
    /// second level or the stores).
    pub max_bytes: u64,
    /// How long an entry (and a build's tombstone) lives.
    pub ttl: Duration,
}

impl NearCacheConfig {
    /// `max_mb` mebibytes, entries living `ttl`.
    pub fn new(max_mb: u64, ttl: Duration) -> Self {
        Self { max_bytes: max_mb.saturating_mul(1024 * 1024), ttl }
    }
}

/// Most deleted builds remembered at once: far more than can be deleted within one TTL.
const MAX_TOMBSTONES: u64 = 100_000;

/// The bounded in-process levels.
struct Near {
    snapshots: moka::sync::Cache<ApplicationId, Arc<PolicySnapshot>>,
    builds: moka::sync::Cache<BuildId, Arc<BuildSummary>>,
    deleted: moka::sync::Cache<BuildId, ()>,
}

/// The near cache; see the crate's documentation.
pub struct NearCache {
    near: Option<Near>,
    shared: Option<Arc<dyn Cache>>,
    /// The highest revision each application was evicted at (the generation rule's floor).
    floors: Mutex<HashMap<ApplicationId, u64>>,
    /// Serialises build puts against build evictions.
    build_writes: Mutex<()>,
    applied: AtomicU64,
    /// The snapshot loads under way, by application.
    flights: Mutex<HashMap<ApplicationId, Flight>>,
    next_flight: AtomicU64,
}

/// A load under way: its waiters watch for the snapshot, and see the channel closed if the
/// load fails or its caller goes away.
struct Flight {
    id: u64,
    done: watch::Receiver<Option<Arc<PolicySnapshot>>>,
}

/// The caller that runs a flight's load. Dropping it ends the flight (unless an eviction or
/// a later flight replaced it), so a load whose request was cancelled never leaves its
/// waiters or later callers hanging.
struct Leader<'a> {
    cache: &'a NearCache,
    application_id: ApplicationId,
    id: u64,
    done: watch::Sender<Option<Arc<PolicySnapshot>>>,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        let mut flights = self.cache.flights();
        if flights.get(&self.application_id).is_some_and(|flight| flight.id == self.id) {
            flights.remove(&self.application_id);
        }
    }
}

/// What an entry costs in the near level, roughly in bytes: the sizes of the structs plus
/// their strings and lists, so a snapshot with many overrides weighs accordingly.
fn snapshot_weight(_: &ApplicationId, snapshot: &Arc<PolicySnapshot>) -> u32 {
    const BASE: usize = 256;
    const PER_OVERRIDE: usize = 160;
    const PER_BRANCH: usize = 96;
    let text: usize =
        snapshot.overrides().iter().map(|o| o.subject_id.len() + o.updated_by.len()).sum();
    let bytes = BASE
        + snapshot.overrides().len() * PER_OVERRIDE
        + text
        + snapshot.latest_by_branch.len() * PER_BRANCH;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

fn summary_weight(_: &BuildId, summary: &Arc<BuildSummary>) -> u32 {
    const BASE: usize = 640;
    const PER_DEPENDENCY: usize = 64;
    let header = &summary.header;
    let text = header.application_name.len()
        + header.name.len()
        + header.created_by.len()
        + header.description.as_ref().map_or(0, String::len)
        + summary.settings.languages.iter().map(String::len).sum::<usize>();
    let bytes = BASE + text + summary.dependencies.len() * PER_DEPENDENCY;
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

impl NearCache {
    /// A near cache as `config` says, in front of `shared` when there is one.
    pub fn new(config: NearCacheConfig, shared: Option<Arc<dyn Cache>>) -> Self {
        let near = (config.max_bytes > 0).then(|| {
            // Snapshots get most of the room: every application's resolution needs one,
            // while a build's summary is small and only the live builds are asked for.
            let snapshot_bytes = config.max_bytes / 4 * 3;
            Near {
                snapshots: moka::sync::Cache::builder()
                    .max_capacity(snapshot_bytes)
                    .weigher(snapshot_weight)
                    .time_to_live(config.ttl)
                    .build(),
                builds: moka::sync::Cache::builder()
                    .max_capacity(config.max_bytes - snapshot_bytes)
                    .weigher(summary_weight)
                    .time_to_live(config.ttl)
                    .build(),
                deleted: moka::sync::Cache::builder()
                    .max_capacity(MAX_TOMBSTONES)
                    .time_to_live(config.ttl)
                    .build(),
            }
        });
        Self {
            near,
            shared,
            floors: Mutex::new(HashMap::new()),
            build_writes: Mutex::new(()),
            applied: AtomicU64::new(0),
            flights: Mutex::new(HashMap::new()),
            next_flight: AtomicU64::new(0),
        }
    }

    /// The highest policy revision this cache has applied: the highest eviction it was told
    /// of and the highest snapshot it loaded. `/actuator/info` shows it.
    pub fn applied_revision(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Bytes (estimated) the near level holds now; 0 when it is disabled.
    pub fn weighted_size(&self) -> u64 {
        self.near.as_ref().map_or(0, |near| {
            near.snapshots.run_pending_tasks();
            near.builds.run_pending_tasks();
            near.snapshots.weighted_size() + near.builds.weighted_size()
        })
    }

    fn applied(&self, revision: u64) {
        self.applied.fetch_max(revision, Ordering::AcqRel);
    }

    fn floors(&self) -> MutexGuard<'_, HashMap<ApplicationId, u64>> {
        // The map holds plain numbers: a panic elsewhere cannot leave it half-written.
        self.floors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn flights(&self) -> MutexGuard<'_, HashMap<ApplicationId, Flight>> {
        // Entries are inserted and removed whole: a panic cannot leave one half-written.
        self.flights.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Joins the flight of `application_id` if there is one (its receiver), or starts one.
    fn join_or_lead(
        &self,
        application_id: ApplicationId,
    ) -> Result<Leader<'_>, watch::Receiver<Option<Arc<PolicySnapshot>>>> {
        let mut flights = self.flights();
        if let Some(flight) = flights.get(&application_id) {
            return Err(flight.done.clone());
        }
        let (done, receiver) = watch::channel(None);
        let id = self.next_flight.fetch_add(1, Ordering::Relaxed);
        flights.insert(application_id, Flight { id, done: receiver });
        Ok(Leader { cache: self, application_id, id, done })
    }

    fn build_writes(&self) -> MutexGuard<'_, ()> {
        self.build_writes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `snapshot` near unless the generation rule refuses it; whether it is current
    /// (not older than this application's floor).
    fn keep_snapshot(&self, application_id: ApplicationId, snapshot: &Arc<PolicySnapshot>) -> bool {
        let floors = self.floors();
        if snapshot.revision() < floors.get(&application_id).copied().unwrap_or(0) {
            return false;
        }
        self.applied(snapshot.revision());
        if let Some(near) = &self.near {
            let held = near.snapshots.get(&application_id).map_or(0, |held| held.revision());
            if snapshot.revision() >= held {
                near.snapshots.insert(application_id, snapshot.clone());
            }
        }
        drop(floors);
        true
    }

    /// Keeps `summary` near unless its build was deleted; whether it was not.
    fn keep_summary(&self, summary: &Arc<BuildSummary>) -> bool {
        let Some(near) = &self.near else { return true };
        let _writes = self.build_writes();
        if near.deleted.contains_key(&summary.id()) {
            return false;
        }
        near.builds.insert(summary.id(), summary.clone());
        true
    }
}

fn lookup(cache: &'static str, level: &'static str) {
    metrics::counter!(NEAR_CACHE_LOOKUPS_TOTAL, "cache" => cache, "level" => level).increment(1);
}

fn snapshot_load(result: &'static str) {
    metrics::counter!(SNAPSHOT_LOADS_TOTAL, "result" => result).increment(1);
}

#[async_trait]
impl Cache for NearCache {
    async fn get_policy_snapshot(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Option<Arc<PolicySnapshot>>> {
        if let Some(snapshot) =
            self.near.as_ref().and_then(|near| near.snapshots.get(&application_id))
        {
            lookup("policy_snapshot", "near");
            return Ok(Some(snapshot));
        }
        let Some(shared) = &self.shared else {
            lookup("policy_snapshot", "none");
            return Ok(None);
        };
        match shared.get_policy_snapshot(application_id).await? {
            // A shared entry older than an eviction this replica has heard of is a miss:
            // the stores answer, and the put that follows replaces it in both levels.
            Some(snapshot) if self.keep_snapshot(application_id, &snapshot) => {
                lookup("policy_snapshot", "shared");
                Ok(Some(snapshot))
            }
            _ => {
                lookup("policy_snapshot", "none");
                Ok(None)
            }
        }
    }

    async fn put_policy_snapshot(
        &self,
        application_id: ApplicationId,
        snapshot: Arc<PolicySnapshot>,
    ) -> PortResult<()> {
        if !self.keep_snapshot(application_id, &snapshot) {
            return Ok(());
        }
        match &self.shared {
            Some(shared) => shared.put_policy_snapshot(application_id, snapshot).await,
            None => Ok(()),
        }
    }

    async fn load_policy_snapshot(
        &self,
        application_id: ApplicationId,
        load: SnapshotLoad<'_>,
    ) -> Option<Arc<PolicySnapshot>> {
        let leader = match self.join_or_lead(application_id) {
            Ok(leader) => leader,
            Err(mut done) => {
                // Closed without a value: that load failed, or its request went away.
                let snapshot =
                    done.wait_for(Option::is_some).await.ok().and_then(|held| held.clone());
                snapshot_load(if snapshot.is_some() { "joined" } else { "failed" });
                return snapshot;
            }
        };
        let Some(snapshot) = load.await else {
            snapshot_load("failed");
            return None;
        };
        snapshot_load("loaded");
        // The waiters first: they need not wait for the second level's write.
        leader.done.send_replace(Some(snapshot.clone()));
        // The flight ends after the put, so a caller that misses in between joins it rather
        // than loading again.
        if let Err(err) = self.put_policy_snapshot(application_id, snapshot.clone()).await {
            tracing::warn!(error = %err, app.id = %application_id, "cache write failed");
        }
        drop(leader);
        Some(snapshot)
    }

    async fn evict_policy_snapshot(
        &self,
        application_id: ApplicationId,
        revision: u64,
    ) -> PortResult<()> {
        {
            let mut floors = self.floors();
            let floor = floors.entry(application_id).or_default();
            *floor = (*floor).max(revision);
            if let Some(near) = &self.near {
                near.snapshots.invalidate(&application_id);
            }
            // A load begun before the change may give the old snapshot: later misses start
            // their own (its waiters, who missed before the change, still get its result).
            self.flights().remove(&application_id);
            self.applied(revision);
        }
        match &self.shared {
            Some(shared) => shared.evict_policy_snapshot(application_id, revision).await,
            None => Ok(()),
        }
    }

    async fn get_build_summary(&self, build_id: BuildId) -> PortResult<Option<Arc<BuildSummary>>> {
        if let Some(summary) = self.near.as_ref().and_then(|near| near.builds.get(&build_id)) {
            lookup("build", "near");
            return Ok(Some(summary));
        }
        let Some(shared) = &self.shared else {
            lookup("build", "none");
            return Ok(None);
        };
        match shared.get_build_summary(build_id).await? {
            Some(summary) if self.keep_summary(&summary) => {
                lookup("build", "shared");
                Ok(Some(summary))
            }
            _ => {
                lookup("build", "none");
                Ok(None)
            }
        }
    }

    async fn put_build_summary(&self, summary: Arc<BuildSummary>) -> PortResult<()> {
        if !self.keep_summary(&summary) {
            return Ok(());
        }
        match &self.shared {
            Some(shared) => shared.put_build_summary(summary).await,
            None => Ok(()),
        }
    }

    async fn evict_build(&self, build_id: BuildId) -> PortResult<()> {
        if let Some(near) = &self.near {
            let _writes = self.build_writes();
            near.deleted.insert(build_id, ());
            near.builds.invalidate(&build_id);
        }
        match &self.shared {
            Some(shared) => shared.evict_build(build_id).await,
            None => Ok(()),
        }
    }
}

/// The near level is always there; the check is the second level's, when there is one.
#[async_trait]
impl HealthCheck for NearCache {
    async fn ping(&self) -> PortResult<()> {
        match &self.shared {
            Some(shared) => shared.ping().await,
            None => Ok(()),
        }
    }
}

impl fmt::Debug for NearCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NearCache")
            .field("near", &self.near.is_some())
            .field("shared", &self.shared)
            .field("applied_revision", &self.applied_revision())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
