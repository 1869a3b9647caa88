//! Driven ports: everything the domain needs from the outside world, one file per port.
//!
//! Every port is `Debug + Send + Sync + 'static`, used as `Arc<dyn Port>`, and every
//! fallible method documents its contract under `# Errors`; `port-contracts` turns those
//! sentences into tests that every adapter, fake or real, must pass.

mod app_data;
mod blobs;
mod cache;
mod events;
mod health;
mod packager;
mod process_engine;
mod runtime_data;
mod timer;
mod token_verifier;

use std::sync::Arc;

pub use crate::ports::app_data::{
    AppDataRepository, BuildCatalog, ImportClaim, ImportLedger, Outbox, TimerRegistry,
};
pub use crate::ports::blobs::{BlobChunks, BlobKey, BlobStore, BytesChunks};
pub use crate::ports::cache::{Cache, SnapshotLoad};
pub use crate::ports::events::EventPublisher;
pub use crate::ports::health::HealthCheck;
pub use crate::ports::packager::{ArchiveWriter, BuildDraft, BuildPackager};
pub use crate::ports::process_engine::{
    Credentials, EngineAnswer, EngineError, EngineStart, ProcessEngine,
};
pub use crate::ports::runtime_data::RuntimeDataStore;
pub use crate::ports::timer::Timer;
pub use crate::ports::token_verifier::{TokenError, TokenVerifier};

/// Boxed source error carried by [`PortError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error and every source under it on one line (`outer: cause: root cause`): drivers'
/// own messages ("error performing TLS handshake") often leave the cause to their sources.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Result type of every port method.
pub type PortResult<T> = Result<T, PortError>;

/// Failure reported by a port; adapters translate their driver errors into it.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The write collides with existing state (a taken key, a row still referenced, a
    /// reference to a row that does not exist).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend could not be reached in time; retrying may help.
    #[error("backend unavailable")]
    Unavailable(#[source] BoxError),
    /// Any other backend failure.
    #[error("backend failure")]
    Backend(#[source] BoxError),
    /// A compare-and-set lost: the state the write was computed from has changed since it
    /// was read, and nothing was written. Read again, recompute, retry.
    #[error("outdated: {0}")]
    Outdated(String),
}

/// Every driven port, as handed to the services by the composition root.
#[derive(Clone, Debug)]
pub struct Ports {
    /// Application data of the runtime role: build headers, policies, overrides, imports, outbox.
    pub app_data: Arc<dyn AppDataRepository>,
    /// Builds and resource snapshots as the runtime reads them.
    pub runtime_data: Arc<dyn RuntimeDataStore>,
    /// Where the outbox relay delivers events.
    pub events: Arc<dyn EventPublisher>,
    /// Optional cache of resolution snapshots and builds.
    pub cache: Arc<dyn Cache>,
    /// Archives and binaries.
    pub blobs: Arc<dyn BlobStore>,
    /// Time passing, for heartbeats.
    pub timer: Arc<dyn Timer>,
}
