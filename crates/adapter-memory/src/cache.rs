//! In-memory `Cache`: plain maps without expiry.
//!
//! No TTL is needed here: the services evict an application's snapshot and a deleted
//! build on every change, and an in-process map cannot miss the eviction the way a shared
//! cache can miss another replica's. The maps never hold more than the stores they copy.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use domain::model::{ApplicationId, Build, BuildId, PolicySnapshot};
use domain::ports::{Cache, PortResult};

use crate::failure::{FailureSwitch, failure_knob};

/// Resolution snapshots and builds in maps; passes `port_contracts::cache` like the Redis adapter.
#[derive(Debug, Default)]
pub struct InMemoryCache {
    entries: Mutex<Entries>,
    failure: FailureSwitch,
}

failure_knob!(InMemoryCache);

#[derive(Debug, Default)]
struct Entries {
    snapshots: BTreeMap<ApplicationId, PolicySnapshot>,
    builds: BTreeMap<BuildId, Build>,
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
    ) -> PortResult<Option<PolicySnapshot>> {
        Ok(self.entries()?.snapshots.get(&application_id).cloned())
    }

    async fn put_policy_snapshot(
        &self,
        application_id: ApplicationId,
        snapshot: &PolicySnapshot,
    ) -> PortResult<()> {
        self.entries()?.snapshots.insert(application_id, snapshot.clone());
        Ok(())
    }

    async fn evict_policy_snapshot(&self, application_id: ApplicationId) -> PortResult<()> {
        self.entries()?.snapshots.remove(&application_id);
        Ok(())
    }

    async fn get_build(&self, build_id: BuildId) -> PortResult<Option<Build>> {
        Ok(self.entries()?.builds.get(&build_id).cloned())
    }

    async fn put_build(&self, build: &Build) -> PortResult<()> {
        self.entries()?.builds.insert(build.id(), build.clone());
        Ok(())
    }

    async fn evict_build(&self, build_id: BuildId) -> PortResult<()> {
        self.entries()?.builds.remove(&build_id);
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
