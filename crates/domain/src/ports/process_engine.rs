//! Port to the process engine: where rtm forwards a process start once it has checked the
//! build, the application, the workspace and the process. rtm never runs a process itself.
//!
//! Implemented by `adapter_engine::HttpProcessEngine` (reqwest; its tests against a real
//! local HTTP server pin down the `# Errors` contract below: statuses, refused connections,
//! timeouts, no retry) and by the recording fake `adapter_memory::InMemoryProcessEngine`.

use std::fmt;

use async_trait::async_trait;

use crate::model::{ApplicationId, BuildId, RawJson, ResourceName, WorkspaceId};
use crate::ports::BoxError;

/// The caller's `Authorization` header value (`Bearer …`), passed to the engine unchanged so
/// that the engine acts for the same user. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials(String);

impl Credentials {
    /// Wraps an `Authorization` header value as the caller sent it.
    pub fn new(authorization: String) -> Self {
        Self(authorization)
    }

    /// A bearer token as the `Authorization` value that carries it.
    pub fn bearer(token: &str) -> Self {
        Self(format!("Bearer {token}"))
    }

    /// The header value, for the adapter that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(<redacted>)")
    }
}

/// A start the engine is asked to make: a checked process of a checked build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineStart {
    /// The process definition's name (`Fx-ProcessName`, and the path of the engine's route).
    pub process_name: ResourceName,
    /// The application (`Fx-AppId`).
    pub application_id: ApplicationId,
    /// The build the process runs on (`Fx-BuildId`).
    pub build_id: BuildId,
    /// The build's workspace, when it has one (`Fx-WorkspaceId`).
    pub workspace_id: Option<WorkspaceId>,
    /// The caller's `Authorization`, passed through.
    pub credentials: Credentials,
    /// The start data: a JSON object, sent unchanged.
    pub body: RawJson,
}

/// The engine's answer to a start it accepted (a 2xx), returned to the caller unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineAnswer {
    /// The engine's status (2xx).
    pub status: u16,
    /// The engine's `Content-Type`, when it sent one.
    pub content_type: Option<String>,
    /// The engine's body, byte for byte (the original's start DTO: `uuid`, `state`, …).
    pub body: Vec<u8>,
}

/// Why the engine did not start the process.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The engine answered 4xx: it refused the start (bad data, forbidden, unknown process).
    #[error("the process engine refused the start with {status}: {message}")]
    Refused {
        /// The engine's status (4xx).
        status: u16,
        /// What the engine said (its `message`, else its body as text), bounded in length.
        message: String,
    },
    /// The engine could not be reached: nothing was sent, so a retry cannot start twice.
    #[error("the process engine cannot be reached")]
    Unreachable(#[source] BoxError),
    /// The engine answered 5xx (or something that is not HTTP): the start may or may not
    /// have happened, so it is never retried.
    #[error("the process engine failed with {status}")]
    Failed {
        /// The engine's status (5xx), or 502 for an answer that was not HTTP.
        status: u16,
    },
    /// The engine did not answer within the timeout; the start may or may not have happened.
    #[error("the process engine did not answer in time")]
    TimedOut,
}

/// The process engine, as seen by the runtime.
#[async_trait]
pub trait ProcessEngine: fmt::Debug + Send + Sync + 'static {
    /// Asks the engine to start `start.process_name` on `start.build_id`: one request, never
    /// repeated by the adapter once any byte of it was sent.
    ///
    /// # Errors
    ///
    /// [`EngineError::Refused`] for a 4xx answer, [`EngineError::Failed`] for a 5xx,
    /// [`EngineError::TimedOut`] when no answer came within the adapter's timeout, and
    /// [`EngineError::Unreachable`] when no connection could be made.
    async fn start(&self, start: EngineStart) -> Result<EngineAnswer, EngineError>;
}

// Stops compiling if an edit makes the port unusable as `dyn ProcessEngine`.
const _: Option<&dyn ProcessEngine> = None;
