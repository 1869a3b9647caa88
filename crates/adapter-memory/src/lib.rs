//! In-memory adapters of every rtm port.
//!
//! Two uses, one code: the fakes that service and HTTP tests run over, and the embedded mode
//! in which rtm runs without any backend. So these are real adapters: they pass the same
//! `port_contracts` suites as the PostgreSQL, MongoDB, Kafka, Redis and S3 adapters, and
//! what would otherwise grow for ever (the delivered events) is bounded.
//!
//! Each adapter keeps plain collections behind a `std::sync::Mutex`. No method awaits, so a
//! guard is never held across an `.await`. The crate depends on `domain` and no driver; the
//! one adapter that is local rather than in memory, [`TokioTimer`], is the process's clock
//! (on tokio), which both uses need too.
//!
//! For tests, each fake has a few inspection helpers and one failure knob
//! (`fail_next_with` / `fail_after_calls`, see [`FailureKind`]); [`Fakes`] holds one of each
//! and hands them to the code under test as [`Ports`].

mod app_data;
mod blobs;
mod cache;
mod events;
mod failure;
mod process_engine;
mod runtime_data;
mod timer;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use domain::ports::Ports;

pub use crate::app_data::InMemoryAppDataRepository;
pub use crate::blobs::InMemoryBlobStore;
pub use crate::cache::InMemoryCache;
pub use crate::events::InMemoryEventPublisher;
pub use crate::failure::FailureKind;
pub use crate::process_engine::{InMemoryProcessEngine, ScriptedAnswer};
pub use crate::runtime_data::InMemoryRuntimeDataStore;
pub use crate::timer::TokioTimer;

/// One in-memory adapter per port. Tests keep the typed handles for assertions and hand
/// [`ports`](Self::ports) to the code under test; the embedded mode only needs `ports`.
#[derive(Clone, Debug, Default)]
pub struct Fakes {
    /// Build headers, policies, overrides, imports and the outbox.
    pub app_data: Arc<InMemoryAppDataRepository>,
    /// Builds and resources as the runtime reads them.
    pub runtime_data: Arc<InMemoryRuntimeDataStore>,
    /// The last delivered events.
    pub events: Arc<InMemoryEventPublisher>,
    /// Resolution snapshots and builds.
    pub cache: Arc<InMemoryCache>,
    /// Archives and binaries.
    pub blobs: Arc<InMemoryBlobStore>,
    /// The process's clock, for heartbeats.
    pub timer: Arc<TokioTimer>,
}

impl Fakes {
    /// Empty stores.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same adapters as the port bundle the services take.
    pub fn ports(&self) -> Ports {
        Ports {
            app_data: self.app_data.clone(),
            runtime_data: self.runtime_data.clone(),
            events: self.events.clone(),
            cache: self.cache.clone(),
            blobs: self.blobs.clone(),
            timer: self.timer.clone(),
        }
    }
}

/// Locks `mutex`, ignoring poisoning: a test that panicked while holding the lock must not
/// fail its neighbours, and no method leaves the state half-changed before it panics.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
