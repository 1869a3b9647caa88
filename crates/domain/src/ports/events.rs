//! Port through which recorded events leave the service; Kafka in production.

use std::fmt;

use async_trait::async_trait;

use crate::model::OutboxRecord;
use crate::ports::{HealthCheck, PortResult};

/// Delivers events to the rest of the platform. The outbox relay calls it with records in
/// outbox order and marks them sent only after it returns `Ok`, so delivery is at least once.
#[async_trait]
pub trait EventPublisher: HealthCheck + fmt::Debug + Send + Sync + 'static {
    /// Delivers `records` in the order given.
    ///
    /// # Errors
    ///
    /// [`PortError::Unavailable`](crate::ports::PortError::Unavailable) when the broker
    /// cannot be reached; records delivered before the failure may be delivered again.
    async fn publish(&self, records: &[OutboxRecord]) -> PortResult<()>;
}

// Stops compiling if an edit makes the port unusable as `dyn EventPublisher`.
const _: Option<&dyn EventPublisher> = None;
