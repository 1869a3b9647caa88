//! The runtime-internal API, `/api/runtime-internal/**`: for other platform services and the
//! Designer, never for end users. Every route needs the *builds read* permission; the route
//! that names `ENV_SECRET` variables needs a service account too.

mod active_build;
mod builds;
mod config_params;
mod process_start;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Mounts the runtime-internal API.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        scope("/api/runtime-internal")
            .service(active_build::get_active_build)
            .service(builds::build_header)
            .service(config_params::config_params)
            .service(process_start::test_run_start),
    );
}
