//! The HTTP adapter of rtm's [`ProcessEngine`](domain::ports::ProcessEngine) port: a process
//! start that the Runtime Manager has checked (build, application, workspace, process) is
//! forwarded as `POST {RTM_PROCESS_ENGINE_URL}/api/process/{name}/start`, with the caller's
//! `Authorization` passed through, the `Fx-*` headers and the start data unchanged.
//!
//! It depends on `domain` and its own driver (`reqwest`, rustls) only.
//!
//! A start is not idempotent, so the client never sends one twice: no retry policy (reqwest's
//! default retries of protocol NACKs are switched off too), no redirect followed (a 307 would
//! repeat the POST). What an answer means:
//! * 2xx: the engine's status, content type and body, returned to the caller unchanged;
//! * 4xx: [`EngineError::Refused`](domain::ports::EngineError::Refused) with the engine's
//!   `message` (else its body text), bounded to 500 characters;
//! * 5xx, or an answer that is not HTTP: `Failed` (the start may have happened);
//! * no connection within the connect timeout, or refused: `Unreachable` (nothing was sent);
//! * no whole answer within the total timeout (`RTM_PROCESS_ENGINE_TIMEOUT_SECONDS`): `TimedOut`.
//!
//! Connections are pooled per engine host ([`EngineConfig::max_idle_connections`]).

mod config;
mod engine;
mod error;

pub use crate::config::{EngineConfig, EngineConfigError};
pub use crate::engine::HttpProcessEngine;
