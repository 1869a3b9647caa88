//! The build-management API, `/api/build-mgmt/**`: import and manage builds, set the active
//! policy and its overrides, manage config overrides, list and switch the timers of the
//! global build. Every route checks a permission.

mod active_policy;
mod builds;
mod config_overrides;
mod import;
mod scheduled_processes;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Mounts the build-management API.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        scope("/api/build-mgmt")
            .service(import::import_build)
            .service(import::import_application_build)
            .service(builds::list_builds)
            .service(builds::export_build)
            .service(builds::get_build)
            .service(builds::delete_build)
            .service(active_policy::get_active_policy)
            .service(active_policy::set_active_policy)
            .service(active_policy::list_overrides)
            .service(active_policy::add_override)
            .service(active_policy::update_override)
            .service(active_policy::delete_override)
            .service(config_overrides::list_config_overrides)
            .service(config_overrides::import_config_overrides)
            .service(config_overrides::set_config_override)
            .service(config_overrides::delete_config_override)
            .service(scheduled_processes::list_scheduled_processes)
            .service(scheduled_processes::switch_scheduled_process),
    );
}
