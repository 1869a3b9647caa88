//! The runtime API, `/api/runtime/**`: what renderers and services ask at run time. Any
//! valid token may call it; the caller's names and groups pick the active build.

mod build_info;
mod config_params;
mod process_start;
mod resources;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Mounts the runtime API.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        scope("/api/runtime")
            .service(build_info::build_info)
            .service(build_info::workspace_build_info)
            .service(resources::list_resources)
            .service(resources::get_resource_by_name)
            .service(resources::get_resource)
            .service(config_params::config_params)
            .service(process_start::start_on_build)
            .service(process_start::start_on_active_build)
            .service(process_start::workspace_start_on_active_build),
    );
}
