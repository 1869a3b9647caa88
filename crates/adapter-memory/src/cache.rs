//! In-memory `Cache`: plain maps without expiry, the fake of unit and API tests (the
//! server's local cache is the bounded near cache of `adapter-near-cache`).
//!
//! No TTL is needed here: the services evict an application's snapshot and a deleted
//! build on every change. The generation rule of the port is kept with maps that never
//! shrink (the highest eviction revision per application, the deleted builds): a test's
//! handful of entries.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use domain::model::{ApplicationId, BuildId, BuildSummary, PolicySnapshot};
use domain::ports::{Cache, PortResult};

use crate::failure::{FailureSwitch, failure_knob};

/// Resolution snapshots and build summaries in maps; passes `port_contracts::cache` like the
/// near cache and the Redis adapter.
#[derive(Debug, Default)]
pub struct InMemoryCache {
    entries: Mutex<Entries>,
    failure: FailureSwitch,
}

failure_knob!(InMemoryCache);

#[derive(Debug, Default)]
struct Entries {
    snapshots: BTreeMap<ApplicationId, Arc<PolicySnapshot>>,
    /// The highest revision each application was evicted at: older snapshots are refused.
    evicted_at: BTreeMap<ApplicationId, u64>,
    builds: BTreeMap<BuildId, Arc<BuildSummary>>,
    /// Deleted builds, whose summaries are refused.
    deleted: BTreeSet<BuildId>,
}

impl InMemoryCache {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> PortResult<MutexGuard<'_, Entries>> {
        self.failure.check()?;
        Ok(crate::lock(&self.entries))
    }
}

#[async_trait]
impl Cache for InMemoryCache {
    async fn get_policy_snapshot(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Option<Arc<PolicySnapshot>>> {
        Ok(self.entries()?.snapshots.get(&application_id).cloned())
    }

    async fn put_policy_snapshot(
        &self,
        application_id: ApplicationId,
        snapshot: Arc<PolicySnapshot>,
    ) -> PortResult<()> {
        let mut entries = self.entries()?;
        let floor = entries.evicted_at.get(&application_id).copied().unwrap_or(0);
        let held = entries.snapshots.get(&application_id).map_or(0, |held| held.revision());
        if snapshot.revision() >= floor.max(held) {
            entries.snapshots.insert(application_id, snapshot);
        }
        Ok(())
    }

    async fn evict_policy_snapshot(
        &self,
        application_id: ApplicationId,
        revision: u64,
    ) -> PortResult<()> {
        let mut entries = self.entries()?;
        entries.snapshots.remove(&application_id);
        let floor = entries.evicted_at.entry(application_id).or_default();
        *floor = (*floor).max(revision);
        Ok(())
    }

    async fn get_build_summary(&self, build_id: BuildId) -> PortResult<Option<Arc<BuildSummary>>> {
        Ok(self.entries()?.builds.get(&build_id).cloned())
    }

    async fn put_build_summary(&self, summary: Arc<BuildSummary>) -> PortResult<()> {
        let mut entries = self.entries()?;
        if !entries.deleted.contains(&summary.id()) {
            entries.builds.insert(summary.id(), summary);
        }
        Ok(())
    }

    async fn evict_build(&self, build_id: BuildId) -> PortResult<()> {
        let mut entries = self.entries()?;
        entries.builds.remove(&build_id);
        entries.deleted.insert(build_id);
        Ok(())
    }
}

/// Always reachable, unless the failure knob says this call fails.
#[async_trait]
impl domain::ports::HealthCheck for InMemoryCache {
    async fn ping(&self) -> PortResult<()> {
        self.failure.check()
    }
}
