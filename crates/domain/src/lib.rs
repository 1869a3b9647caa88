//! The heart of rtm: the model of applications, builds and active policies, the use cases
//! that work on them, and the ports through which they reach storage, events, cache and blobs.
//!
//! This crate may depend on no adapter, no web framework, no database driver and no wire
//! format (no serde): adapters translate at the edges. Facades only for telemetry:
//! `tracing` and `metrics`. Layout: a shared kernel that both
//! roles use, and one module per bounded context, which never import each other (a tidy
//! test in `xtask` checks it).
//!
//! The kernel:
//! - [`model`]: validated types (ids, builds, manifest, config parameters, policies, events,
//!   the principal);
//! - [`access`]: authorities, scopes and which roles grant them;
//! - [`ports`]: the driven ports and the [`ports::Ports`] bundle;
//! - [`builds`]: [`BuildService`](builds::BuildService), the one write path that stores a
//!   build (both roles store builds: the runtime imports them, design time creates them);
//! - [`relay`]: [`OutboxRelay`](relay::OutboxRelay), delivery of recorded events;
//! - `schedule`: which build's timers the scheduler runs, planned with every write that
//!   can change it;
//! - [`error`]: [`DomainError`], what every use case returns;
//! - [`telemetry`]: the names of rtm's own metrics, recorded through the `metrics` facade
//!   (a facade like `tracing`; the exporter is the server's).
//!
//! The contexts:
//! - [`runtime`]: resolution, active policies, config overrides;
//! - [`design`]: applications, branches, versions, resources, dependencies, config
//!   defaults, build creation.
#![warn(missing_docs)]

pub mod access;
pub mod builds;
pub mod design;
pub mod error;
mod lookups;
pub mod model;
pub mod ports;
pub mod relay;
pub mod runtime;
mod schedule;
pub mod telemetry;

pub use crate::error::{DomainError, DomainResult};
