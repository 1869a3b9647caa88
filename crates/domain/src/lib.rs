//! The heart of rtm: the model of applications, builds and active policies, the use cases
//! that work on them, and the ports through which they reach storage, events, cache and blobs.
//!
//! This crate may depend on no adapter, no web framework, no database driver and no wire
//! format (no serde): adapters translate at the edges. Layout:
//!
//! - [`model`]: validated types (ids, builds, policies, config parameters, the principal);
//! - [`access`]: authorities, scopes and which roles grant them;
//! - [`ports`]: the five driven ports and the [`ports::Ports`] bundle;
//! - [`service`]: the use cases, plain structs holding [`ports::Ports`];
//! - [`error`]: [`DomainError`], what every use case returns.
#![warn(missing_docs)]

pub mod access;
pub mod error;
pub mod model;
pub mod ports;
pub mod service;

pub use crate::error::{DomainError, DomainResult};
