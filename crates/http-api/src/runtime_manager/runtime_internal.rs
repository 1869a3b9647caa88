//! The runtime-internal API, `/api/runtime-internal/**`: for other platform services and the
//! Designer, never for end users; every route needs the *builds read* permission.

mod process_start;

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

/// Mounts the runtime-internal API.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(scope("/api/runtime-internal").service(process_start::test_run_start));
}
