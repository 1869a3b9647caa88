//! The use cases, as plain structs that hold the [`Ports`](crate::ports::Ports).
//!
//! - [`RuntimeService`]: which build is live for a caller, its resources and parameters;
//! - [`BuildService`]: import, list, read, export and delete builds;
//! - [`PolicyService`]: the global active policy and its overrides;
//! - [`ConfigOverrideService`]: per-installation config overrides;
//! - [`OutboxRelay`]: delivery of recorded events.

mod builds;
mod config;
mod lookups;
mod policies;
mod relay;
mod runtime;

pub use crate::service::builds::{
    BuildService, DEFAULT_IMPORT_LEASE, ImportOutcome, ImportRequest, ImportedBinary,
};
pub use crate::service::config::{ConfigOverrideInput, ConfigOverrideService};
pub use crate::service::policies::{OverrideInput, PolicyService};
pub use crate::service::relay::OutboxRelay;
pub use crate::service::runtime::RuntimeService;
