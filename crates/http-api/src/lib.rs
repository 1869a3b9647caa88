//! rtm's HTTP layer on actix-web: the Application Manager's API (`/api/applications/**`),
//! the Runtime Manager's runtime API (`/api/runtime/**`) and build-management API
//! (`/api/build-mgmt/**`), the management endpoints (`/actuator/**`), bearer-token
//! authentication and permissions, the error envelope, and the OpenAPI document.
//!
//! It depends on `domain` (services, model) and `build-archive` (the archive codec), never
//! on a concrete adapter: the `server` crate builds the [`Apis`] from the use cases it wires
//! over whatever adapters it picks. Layout:
//!
//! - [`Apis`] (the state of each role it serves, [`AppManagerState`] and
//!   [`RuntimeManagerState`], and the [`auth::Authenticator`]) and [`api_app`] /
//!   [`management_app`]: what the server mounts; [`Roles`] and [`openapi_document`];
//!   [`ApiOptions`] ([`CorsOrigins`]) for HTTP itself;
//! - `auth`: token validation ([`auth::TokenValidator`]), the embedded issuer
//!   ([`auth::LocalIssuer`]) and the [`auth::Caller`] extractor;
//! - `app_manager`: the Application Manager's API, one file per resource;
//! - `runtime_manager` (`runtime_api`, `runtime_internal`, `build_mgmt`): the Runtime
//!   Manager's APIs, one file per resource, DTOs beside their handlers;
//! - [`ApiError`]: `{status, code, message, traceId}` for every failure;
//! - `observe`: the `http_server_requests_seconds` metric and the request log line of every
//!   API request, and [`prometheus_endpoint`] (`/actuator/prometheus`) over a [`Scrape`].
//!
//! It records metrics through the `metrics` facade only; the exporter is the server's.

mod app_manager;
pub mod auth;
mod cors;
mod dto;
mod error;
mod management;
mod multipart;
mod observe;
mod openapi;
mod path;
mod runtime_manager;
mod state;
mod trace;
mod word;

pub use crate::cors::CorsOrigins;
pub use crate::error::ApiError;
pub use crate::management::{
    AppInfo, ComponentStatus, Health, PolicyRevisionSource, Readiness, management_app,
};
pub use crate::observe::{
    Scrape, UNKNOWN_URI, describe_metrics, names as metric_names, outcome, prometheus_endpoint,
};
pub use crate::openapi::{ApiOptions, Roles, api_app, openapi_document};
pub use crate::state::{Apis, AppManagerState, RuntimeManagerState};
