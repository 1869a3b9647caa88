//! The Runtime Manager's APIs: the runtime API (`/api/runtime/**`), the runtime-internal API
//! (`/api/runtime-internal/**`) and the build-management API (`/api/build-mgmt/**`), and the
//! process start their routes share. Never imports the Application Manager's module; both
//! share the error envelope, the caller and the DTO primitives of the crate root.

mod build_mgmt;
mod dto;
mod process_start;
mod runtime_api;
mod runtime_internal;

use utoipa_actix_web::service_config::ServiceConfig;

/// Mounts the Runtime Manager's APIs.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    runtime_api::configure(cfg);
    runtime_internal::configure(cfg);
    build_mgmt::configure(cfg);
}
