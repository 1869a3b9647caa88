//! `GET …/config-params`: a build's parameters as the runtime sees them.

use actix_web::{HttpResponse, get, web};

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::path::BuildPath;
use crate::runtime_manager::dto::ResolvedConfigParamDto;
use crate::state::RuntimeManagerState;

/// The parameters of a build: library defaults, overlaid by the build's defaults, overlaid
/// by this installation's overrides. `ENV_SECRET` parameters are never returned here.
#[utoipa::path(
    tag = "runtime",
    params(("appId" = String, Path), ("buildId" = String, Path)),
    responses((status = 200, body = Vec<ResolvedConfigParamDto>), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/app/{appId}/build/{buildId}/config-params")]
pub(crate) async fn config_params(
    state: web::Data<RuntimeManagerState>,
    _caller: Caller,
    path: BuildPath,
) -> Result<HttpResponse, ApiError> {
    let params = state.runtime.config_params(path.application_id, path.build_id, false).await?;
    Ok(HttpResponse::Ok()
        .json(params.into_iter().map(ResolvedConfigParamDto::from).collect::<Vec<_>>()))
}
