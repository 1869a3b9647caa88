//! The design bounded context: applications and libraries, branches, versions, resources,
//! dependencies and config defaults, and builds made from committed versions. Never imports
//! the runtime context; both build on the shared kernel (a tidy test checks it).
//!
//! - [`ApplicationService`]: applications and libraries, their names and soft deletion;
//! - [`VersionService`]: branches and versions, WIP starts, commits and discards;
//! - [`ResourceService`]: the manifest and the resources of a version, copy on write;
//! - [`DependencyService`]: a version's dependencies on library builds;
//! - [`ConfigDefaultsService`]: a version's default config parameters;
//! - [`BinaryService`]: media binaries, content-addressed in the blob store;
//! - [`BuildCreationService`]: builds made from committed versions, stored by the kernel's
//!   one build write path;
//! - [`model`]: the design-time types; [`ports`]: the role traits of the app-data port
//!   only this context uses.

mod applications;
mod audit;
mod binaries;
mod builds;
mod config_defaults;
mod dependencies;
mod loading;
pub mod model;
pub mod ports;
mod resources;
mod versions;

pub use crate::design::applications::{ApplicationDetails, ApplicationService, NewApplication};
pub use crate::design::binaries::BinaryService;
pub use crate::design::builds::{BuildCreationService, CreatedBuild, NewBuild};
pub use crate::design::config_defaults::ConfigDefaultsService;
pub use crate::design::dependencies::DependencyService;
pub use crate::design::resources::{NewResource, ResourceEdit, ResourceService};
pub use crate::design::versions::{NewBranch, VersionPatch, VersionService};
