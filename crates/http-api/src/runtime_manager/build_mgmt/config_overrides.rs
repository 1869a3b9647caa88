//! Config overrides of an application in this installation.

use actix_web::{HttpResponse, delete, get, post, put, web};
use domain::access::{Authority, Scope};
use domain::model::{ConfigKey, ConfigOverride, ConfigParamType};
use domain::runtime::ConfigOverrideInput;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::dto;
use crate::error::ErrorBody;
use crate::path::{AppPath, ConfigKeyPath};
use crate::state::RuntimeManagerState;
use crate::word::Word;

/// An override. For `ENV` and `ENV_SECRET` the value is the name of an environment variable.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigOverrideDto {
    key: String,
    #[serde(rename = "type")]
    #[schema(schema_with = Word::<ConfigParamType>::words)]
    param_type: Word<ConfigParamType>,
    value: String,
    updated_by: String,
    updated_at: String,
}

impl From<&ConfigOverride> for ConfigOverrideDto {
    fn from(config_override: &ConfigOverride) -> Self {
        Self {
            key: config_override.key.to_string(),
            param_type: config_override.param_type.into(),
            value: config_override.value.clone(),
            updated_by: config_override.updated_by.clone(),
            updated_at: dto::rfc3339(config_override.updated_at),
        }
    }
}

/// The value of one override: `{"type": "VALUE", "value": "2"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OverrideValueBody {
    #[serde(rename = "type")]
    #[schema(schema_with = Word::<ConfigParamType>::words)]
    param_type: Word<ConfigParamType>,
    value: String,
}

/// One override of a bulk import.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OverrideImportItem {
    key: String,
    #[serde(rename = "type")]
    #[schema(schema_with = Word::<ConfigParamType>::words)]
    param_type: Word<ConfigParamType>,
    value: String,
}

/// Every override of an application, by key.
#[utoipa::path(
    tag = "config-overrides",
    params(("appId" = String, Path)),
    responses((status = 200, body = Vec<ConfigOverrideDto>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/app/{appId}/config-params/overrides")]
pub(crate) async fn list_config_overrides(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: AppPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::AppConfigOverrides, Scope::Read)?;
    let overrides = state.config_overrides.list(path.application_id).await?;
    Ok(HttpResponse::Ok().json(overrides.iter().map(ConfigOverrideDto::from).collect::<Vec<_>>()))
}

/// Sets one override; applies at once to every build of the application.
#[utoipa::path(
    tag = "config-overrides",
    params(("appId" = String, Path), ("key" = String, Path)),
    request_body = OverrideValueBody,
    responses(
        (status = 200, body = ConfigOverrideDto), (status = 400, body = ErrorBody),
        (status = 409, description = "`library_overrides_forbidden`", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[put("/app/{appId}/config-params/overrides/{key}")]
pub(crate) async fn set_config_override(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: ConfigKeyPath,
    body: web::Json<OverrideValueBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::AppConfigOverrides, Scope::Edit)?;
    let body = body.into_inner();
    let input = ConfigOverrideInput {
        key: path.key.clone(),
        param_type: body.param_type.0,
        value: body.value,
    };
    let stored = state.config_overrides.set(caller.principal(), path.application_id, input).await?;
    Ok(HttpResponse::Ok().json(ConfigOverrideDto::from(&stored)))
}

/// Sets many overrides at once from a JSON array; all are stored, or none.
#[utoipa::path(
    tag = "config-overrides",
    params(("appId" = String, Path)),
    request_body = Vec<OverrideImportItem>,
    responses(
        (status = 200, body = Vec<ConfigOverrideDto>), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/app/{appId}/config-params/overrides/import")]
pub(crate) async fn import_config_overrides(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: AppPath,
    body: web::Json<Vec<OverrideImportItem>>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::AppConfigOverrides, Scope::Import)?;
    let inputs = body
        .into_inner()
        .into_iter()
        .map(|item| {
            Ok(ConfigOverrideInput {
                key: ConfigKey::parse(&item.key)?,
                param_type: item.param_type.0,
                value: item.value,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let stored =
        state.config_overrides.set_many(caller.principal(), path.application_id, inputs).await?;
    Ok(HttpResponse::Ok().json(stored.iter().map(ConfigOverrideDto::from).collect::<Vec<_>>()))
}

/// Removes an override; the build's default applies again.
#[utoipa::path(
    tag = "config-overrides",
    params(("appId" = String, Path), ("key" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/app/{appId}/config-params/overrides/{key}")]
pub(crate) async fn delete_config_override(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: ConfigKeyPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::AppConfigOverrides, Scope::Admin)?;
    state.config_overrides.delete(caller.principal(), path.application_id, &path.key).await?;
    Ok(HttpResponse::NoContent().finish())
}
