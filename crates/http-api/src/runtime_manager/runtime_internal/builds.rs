//! `GET /build/{buildId}`: a build's header by id alone, for a service that was handed a
//! build id and needs its application and workspace (the process engine does).

use actix_web::{HttpResponse, get, web};
use domain::access::{Authority, Scope};

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::path::BuildIdPath;
use crate::runtime_manager::dto::BuildHeaderDto;
use crate::state::RuntimeManagerState;

/// The header of a build of any application: application, workspace, version, branch,
/// name, checksum, creation, settings, languages and dependencies.
#[utoipa::path(
    tag = "runtime-internal",
    params(("buildId" = String, Path)),
    responses(
        (status = 200, body = BuildHeaderDto),
        (status = 404, description = "`build_not_found`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/build/{buildId}")]
pub(crate) async fn build_header(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: BuildIdPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Builds, Scope::Read)?;
    let build = state.runtime.build(path.build_id).await?;
    Ok(HttpResponse::Ok().json(BuildHeaderDto::from(build.as_ref())))
}
