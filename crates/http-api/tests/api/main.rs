//! HTTP tests of both APIs over the in-memory adapters: every route, its refusals, and the
//! hostile archives an import must reject without storing anything.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of a test binary; a failed unwrap is a failed test"
)]

mod active_policy;
mod app_manager;
mod auth;
mod builds;
mod commit_point;
mod config_overrides;
mod helpers;
mod hostile_archives;
mod http;
mod jwks;
mod management;
mod observe;
mod process_start;
mod runtime;
mod runtime_internal;
mod scheduled_processes;
