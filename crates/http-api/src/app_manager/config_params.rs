//! A version's config defaults: frozen into its builds; WIP only; an import is all or
//! nothing.

use actix_web::{HttpResponse, delete, get, post, put, web};
use domain::access::{Authority, Scope};
use domain::model::{ConfigParam, ConfigParamType};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::dto::ConfigParamDto;
use crate::error::ErrorBody;
use crate::path::{VersionConfigKeyPath, VersionPath};
use crate::state::AppManagerState;
use crate::word::Word;

/// The default of one key: `{"type": "ENV", "value": "API_URL", "description": "…"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigDefaultBody {
    #[serde(rename = "type")]
    #[schema(schema_with = Word::<ConfigParamType>::words)]
    param_type: Word<ConfigParamType>,
    value: String,
    description: Option<String>,
}

/// The config defaults of a version, by key.
#[utoipa::path(
    tag = "config-params",
    params(("appId" = String, Path), ("versionId" = String, Path)),
    responses((status = 200, body = Vec<ConfigParamDto>), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/{appId}/versions/{versionId}/config-params")]
pub(crate) async fn list_config_params(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::AppConfig, Scope::Read)?;
    let params = state.config_defaults.list(path.application_id, path.version_id).await?;
    Ok(HttpResponse::Ok().json(params.iter().map(ConfigParamDto::from).collect::<Vec<_>>()))
}

/// Sets the default of one key on a WIP version.
#[utoipa::path(
    tag = "config-params",
    params(("appId" = String, Path), ("versionId" = String, Path), ("key" = String, Path)),
    request_body = ConfigDefaultBody,
    responses(
        (status = 200, body = ConfigParamDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`version_committed`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[put("/{appId}/versions/{versionId}/config-params/{key}")]
pub(crate) async fn put_config_param(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionConfigKeyPath,
    body: web::Json<ConfigDefaultBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::AppConfig, Scope::Edit)?;
    let body = body.into_inner();
    let param = ConfigParam {
        key: path.key,
        param_type: body.param_type.0,
        value: body.value,
        description: body.description,
    };
    param.validate()?;
    let stored = state
        .config_defaults
        .put(caller.principal(), path.application_id, path.version_id, param)
        .await?;
    Ok(HttpResponse::Ok().json(ConfigParamDto::from(&stored)))
}

/// Sets many defaults at once on a WIP version: all are stored or none.
#[utoipa::path(
    tag = "config-params",
    params(("appId" = String, Path), ("versionId" = String, Path)),
    request_body = Vec<ConfigParamDto>,
    responses(
        (status = 200, body = Vec<ConfigParamDto>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`version_committed`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/{appId}/versions/{versionId}/config-params/import")]
pub(crate) async fn import_config_params(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionPath,
    body: web::Json<Vec<ConfigParamDto>>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::AppConfig, Scope::Import)?;
    let params = body
        .into_inner()
        .into_iter()
        .map(ConfigParamDto::into_param)
        .collect::<Result<Vec<_>, _>>()?;
    let stored = state
        .config_defaults
        .import(caller.principal(), path.application_id, path.version_id, params)
        .await?;
    Ok(HttpResponse::Ok().json(stored.iter().map(ConfigParamDto::from).collect::<Vec<_>>()))
}

/// Removes the default of one key from a WIP version.
#[utoipa::path(
    tag = "config-params",
    params(("appId" = String, Path), ("versionId" = String, Path), ("key" = String, Path)),
    responses(
        (status = 204), (status = 404, body = ErrorBody),
        (status = 409, description = "`version_committed`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[delete("/{appId}/versions/{versionId}/config-params/{key}")]
pub(crate) async fn delete_config_param(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionConfigKeyPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::AppConfig, Scope::Admin)?;
    state
        .config_defaults
        .delete(caller.principal(), path.application_id, path.version_id, &path.key)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
