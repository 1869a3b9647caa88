//! Port for time passing: work a use case must repeat while another runs (the heartbeat that
//! renews an import's claim). A port, so that the domain needs no async runtime of its own;
//! the process's runtime provides it (`adapter_memory::TokioTimer`).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;

/// Waits.
#[async_trait]
pub trait Timer: fmt::Debug + Send + Sync + 'static {
    /// Completes after `duration` (or a little later); never fails. Dropping the future
    /// cancels the wait.
    async fn sleep(&self, duration: Duration);
}

// Stops compiling if an edit makes the port unusable as `dyn Timer`.
const _: Option<&dyn Timer> = None;
