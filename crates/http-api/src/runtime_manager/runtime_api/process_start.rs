//! `POST …/process-name/{name}/start`: start a process on a build of the application, or on
//! the caller's active build, through the process engine.

use actix_web::{HttpRequest, HttpResponse, post, web};
use domain::runtime::StartOn;

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::path::{AppProcessPath, BuildProcessPath, WorkspaceAppProcessPath};
use crate::runtime_manager::process_start::{self, ProcessStartedDto, StartData, Target};
use crate::state::RuntimeManagerState;

/// Starts a process on a build of the application: the build must be the application's and
/// hold a PROCESS of that name; the start goes to the process engine with the caller's
/// `Authorization`, and the engine's answer comes back unchanged.
#[utoipa::path(
    tag = "runtime",
    params(("appId" = String, Path), ("buildId" = String, Path), ("name" = String, Path, description = "The process definition's name")),
    request_body(content = StartData, description = "The start data: a JSON object of at most 5 MB, forwarded byte for byte; an empty body is `{}`", content_type = "application/json"),
    responses(
        (status = 200, description = "The engine's answer, unchanged (its status, content type and body)", body = ProcessStartedDto),
        (status = 400, description = "`malformed_json`, `invalid_start_data`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, description = "`build_not_found`, `process_not_found`", body = ErrorBody),
        (status = 413, description = "`payload_too_large`", body = ErrorBody),
        (status = 502, description = "`process_engine_unavailable`: the engine failed", body = ErrorBody),
        (status = 503, description = "`process_engine_unavailable` (unreachable) or `process_engine_not_configured`", body = ErrorBody),
        (status = 504, description = "`process_engine_unavailable`: no answer within the timeout", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/app/{appId}/build/{buildId}/process-name/{name}/start")]
pub(crate) async fn start_on_build(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: BuildProcessPath,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let target = Target {
        application_id: path.application_id,
        process_name: path.process_name,
        on: StartOn::Build { build_id: path.build_id, workspace_id: None },
    };
    process_start::start(&state, &caller, &req, payload, target).await
}

/// Starts a process on the caller's active build of the application (resolved as build
/// info resolves it: USER override, GROUP override, global policy).
#[utoipa::path(
    tag = "runtime",
    params(("appId" = String, Path), ("name" = String, Path, description = "The process definition's name")),
    request_body(content = StartData, description = "The start data: a JSON object of at most 5 MB; an empty body is `{}`", content_type = "application/json"),
    responses(
        (status = 200, description = "The engine's answer, unchanged", body = ProcessStartedDto),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "`no_active_policy`, `no_build_on_branch`, `process_not_found`", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody), (status = 504, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/app/{appId}/process-name/{name}/start")]
pub(crate) async fn start_on_active_build(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: AppProcessPath,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let target = Target {
        application_id: path.application_id,
        process_name: path.process_name,
        on: StartOn::Active { workspace_id: None },
    };
    process_start::start(&state, &caller, &req, payload, target).await
}

/// Starts a process on the caller's active build of the application in a workspace; an
/// active build of another workspace is `build_not_found`.
#[utoipa::path(
    tag = "runtime",
    params(("workspaceId" = String, Path), ("appId" = String, Path), ("name" = String, Path, description = "The process definition's name")),
    request_body(content = StartData, description = "The start data: a JSON object of at most 5 MB; an empty body is `{}`", content_type = "application/json"),
    responses(
        (status = 200, description = "The engine's answer, unchanged", body = ProcessStartedDto),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, description = "`no_active_policy`, `no_build_on_branch`, `build_not_found`, `process_not_found`", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody), (status = 504, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/wks/{workspaceId}/app/{appId}/process-name/{name}/start")]
pub(crate) async fn workspace_start_on_active_build(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: WorkspaceAppProcessPath,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let target = Target {
        application_id: path.application_id,
        process_name: path.process_name,
        on: StartOn::Active { workspace_id: Some(path.workspace_id) },
    };
    process_start::start(&state, &caller, &req, payload, target).await
}
