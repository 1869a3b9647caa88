//! `POST /api/runtime-internal/app/{appId}/build/{buildId}/process-name/{name}/start`: the
//! Designer's test run of a process on any build of the application, forwarded as the
//! runtime start is.

use actix_web::{HttpRequest, HttpResponse, post, web};
use domain::access::{Authority, Scope};
use domain::runtime::StartOn;

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::path::BuildProcessPath;
use crate::runtime_manager::process_start::{self, ProcessStartedDto, StartData, Target};
use crate::state::RuntimeManagerState;

/// Starts a process on a build of the application for a Designer test run (any build, not
/// only the active one); the same checks and forwarding as the runtime start.
#[utoipa::path(
    tag = "runtime-internal",
    params(("appId" = String, Path), ("buildId" = String, Path), ("name" = String, Path, description = "The process definition's name")),
    request_body(content = StartData, description = "The start data: a JSON object of at most 5 MB; an empty body is `{}`", content_type = "application/json"),
    responses(
        (status = 200, description = "The engine's answer, unchanged", body = ProcessStartedDto),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "the caller lacks *builds read*", body = ErrorBody),
        (status = 404, description = "`build_not_found`, `process_not_found`", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody), (status = 504, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/app/{appId}/build/{buildId}/process-name/{name}/start")]
pub(crate) async fn test_run_start(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: BuildProcessPath,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Builds, Scope::Read)?;
    let target = Target {
        application_id: path.application_id,
        process_name: path.process_name,
        on: StartOn::Build { build_id: path.build_id, workspace_id: None },
    };
    process_start::start(&state, &caller, &req, payload, target).await
}
