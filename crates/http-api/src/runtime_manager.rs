//! The Runtime Manager's APIs: the runtime API (`/api/runtime/**`) and the build-management
//! API (`/api/build-mgmt/**`). Never imports the Application Manager's module; both share
//! the error envelope, the caller and the DTO primitives of the crate root.

mod build_mgmt;
mod runtime_api;

use utoipa_actix_web::service_config::ServiceConfig;

/// Mounts the Runtime Manager's APIs.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    runtime_api::configure(cfg);
    build_mgmt::configure(cfg);
}
