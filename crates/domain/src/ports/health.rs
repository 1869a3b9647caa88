//! Port for a backend's cheap reachability check: what the management server's background
//! health check asks each store, so that probes never cost a backend call.

use std::fmt;

use async_trait::async_trait;

use crate::ports::PortResult;

/// One round trip to the backend, doing nothing: PostgreSQL `SELECT 1`, MongoDB `ping`,
/// Kafka's metadata, Redis `PING`, a one-key listing of the S3 bucket. Every store port
/// has it (it is a supertrait of each), so whatever adapter a process picks can be checked.
#[async_trait]
pub trait HealthCheck: fmt::Debug + Send + Sync + 'static {
    /// Asks the backend to answer, within the adapter's own bounded timeouts.
    ///
    /// # Errors
    ///
    /// `PortError::Unavailable` when the backend cannot be reached or does not answer in
    /// time; `PortError::Backend` when it answers with a refusal (wrong credentials, a
    /// missing bucket). An in-memory store is always reachable.
    async fn ping(&self) -> PortResult<()>;
}
