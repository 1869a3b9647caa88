//! Port for the optional cache of resolution snapshots and builds; Redis in production.

use std::fmt;

use async_trait::async_trait;

use crate::model::{ApplicationId, Build, BuildId, PolicySnapshot};
use crate::ports::{HealthCheck, PortResult};

/// A cache: it may forget anything at any time, and the services treat each of its errors
/// as a miss, so the service works with the cache down.
#[async_trait]
pub trait Cache: HealthCheck + fmt::Debug + Send + Sync + 'static {
    /// The cached resolution snapshot of an application.
    async fn get_policy_snapshot(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Option<PolicySnapshot>>;

    /// Caches the resolution snapshot of an application.
    async fn put_policy_snapshot(
        &self,
        application_id: ApplicationId,
        snapshot: &PolicySnapshot,
    ) -> PortResult<()>;

    /// Forgets the resolution snapshot of an application.
    async fn evict_policy_snapshot(&self, application_id: ApplicationId) -> PortResult<()>;

    /// A cached build.
    async fn get_build(&self, build_id: BuildId) -> PortResult<Option<Build>>;

    /// Caches a build.
    async fn put_build(&self, build: &Build) -> PortResult<()>;

    /// Forgets a build.
    async fn evict_build(&self, build_id: BuildId) -> PortResult<()>;
}

// Stops compiling if an edit makes the port unusable as `dyn Cache`.
const _: Option<&dyn Cache> = None;
