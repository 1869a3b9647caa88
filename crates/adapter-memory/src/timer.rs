//! [`TokioTimer`]: the domain's `Timer` on the tokio runtime the process runs on. Not in
//! memory as the other adapters are, but as local: the process's own clock.

use std::time::Duration;

use async_trait::async_trait;
use domain::ports::Timer;

/// Sleeps on the current tokio runtime (which must have its time driver enabled, as the
/// server's and actix's do).
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}
