//! The runtime bounded context: which build is live for whom, and what the runtime API
//! serves of it. Never imports the design context;
//! both build on the shared kernel (a tidy test checks it).
//!
//! - [`RuntimeService`]: which build is live for a caller, its resources and parameters;
//! - [`PolicyService`]: the global active policy and its overrides;
//! - [`ConfigOverrideService`]: per-installation config overrides;
//! - [`ProcessStartService`]: process starts on a build, checked here, run by the engine;
//! - [`ScheduledProcessService`]: the timers of the global build and their switches;
//! - [`StartByNameService`]: starts that arrive as messages carrying the user's token;
//! - [`ports`]: the role traits of the app-data port only this context uses.

mod config_overrides;
mod policies;
pub mod ports;
mod process_start;
mod resolution;
mod scheduled_processes;
mod start_by_name;

pub use crate::runtime::config_overrides::{ConfigOverrideInput, ConfigOverrideService};
pub use crate::runtime::policies::{OverrideInput, PolicyService};
pub use crate::runtime::process_start::{
    PROCESS, ProcessStartService, ProcessStarted, StartOn, StartRequest,
};
pub use crate::runtime::resolution::{ActiveBuild, RuntimeService};
pub use crate::runtime::scheduled_processes::{ScheduledProcessService, ScheduledProcesses};
pub use crate::runtime::start_by_name::{
    DEFAULT_RETRY_BOUND, StartByName, StartByNameService, StartRetry,
};
