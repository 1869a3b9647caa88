//! `GET …/config-params`: a build's parameters as the runtime sees them.

use actix_web::{HttpResponse, get, web};
use domain::model::{ConfigParamType, ResolvedConfigParam};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::path::BuildPath;
use crate::state::RuntimeManagerState;
use crate::word::Word;

/// A resolved parameter.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResolvedConfigParamDto {
    key: String,
    #[serde(rename = "type")]
    #[schema(schema_with = Word::<ConfigParamType>::words)]
    param_type: Word<ConfigParamType>,
    /// The value, or (ENV) the name of the environment variable holding it.
    value: String,
    /// `OVERRIDE`, `BUILD` or `LIBRARY`: where the value came from.
    source: &'static str,
    /// The library that supplied the default, when one did.
    library_id: Option<String>,
}

impl From<ResolvedConfigParam> for ResolvedConfigParamDto {
    fn from(param: ResolvedConfigParam) -> Self {
        let source = match (param.overridden, param.from_library) {
            (true, _) => "OVERRIDE",
            (false, Some(_)) => "LIBRARY",
            (false, None) => "BUILD",
        };
        Self {
            key: param.key.to_string(),
            param_type: param.param_type.into(),
            value: param.value,
            source,
            library_id: param.from_library.map(|id| id.to_string()),
        }
    }
}

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
