//! `GET /build/{buildId}/config-params`: a build's parameters as the runtime sees them,
//! `ENV_SECRET` ones included, for service accounts only. rtm never reads another service's
//! secrets: an `ENV_SECRET` value is the name of the variable that holds the secret.

use actix_web::{HttpResponse, get, web};
use domain::access::{Authority, Scope};

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::path::BuildIdPath;
use crate::runtime_manager::dto::ResolvedConfigParamDto;
use crate::state::RuntimeManagerState;

/// The parameters of a build of any application (library defaults ⊕ build defaults ⊕ this
/// installation's overrides), `ENV_SECRET` entries included with the variable's name as
/// their value.
#[utoipa::path(
    tag = "runtime-internal",
    params(("buildId" = String, Path)),
    responses(
        (status = 200, body = Vec<ResolvedConfigParamDto>),
        (status = 404, description = "`build_not_found`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, description = "`forbidden` (no builds read) or `service_account_required`", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/build/{buildId}/config-params")]
pub(crate) async fn config_params(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: BuildIdPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Builds, Scope::Read)?;
    caller.require_service_account()?;
    let params = state.runtime.build_config_params(path.build_id, true).await?;
    Ok(HttpResponse::Ok()
        .json(params.into_iter().map(ResolvedConfigParamDto::from).collect::<Vec<_>>()))
}
