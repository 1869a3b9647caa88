//! `GET …/build/info`: the build the active policy makes live for the caller.

use actix_web::{HttpResponse, get, web};
use domain::model::{Build, WorkspaceId};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::dto::BuildSettingsDto;
use crate::error::ErrorBody;
use crate::path::{AppPath, WorkspaceAppPath};
use crate::state::RuntimeManagerState;

/// The original's `BuildInfoDTO`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BuildInfoDto {
    build_id: String,
    application_id: String,
    /// Only on the workspace route.
    #[serde(skip_serializing_if = "Option::is_none")]
    workspace_id: Option<String>,
    build_settings: BuildSettingsDto,
}

impl BuildInfoDto {
    fn new(build: &Build, workspace_id: Option<WorkspaceId>) -> Self {
        Self {
            build_id: build.header.id.to_string(),
            application_id: build.header.application_id.to_string(),
            workspace_id: workspace_id.map(|id| id.to_string()),
            build_settings: BuildSettingsDto::new(build),
        }
    }
}

/// The active build of an application for the caller, with its settings.
#[utoipa::path(
    tag = "runtime",
    params(("appId" = String, Path, description = "Application id")),
    responses(
        (status = 200, body = BuildInfoDto),
        (status = 404, description = "`no_active_policy` or `no_build_on_branch`", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/app/{appId}/build/info")]
pub(crate) async fn build_info(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: AppPath,
) -> Result<HttpResponse, ApiError> {
    let application_id = path.application_id;
    let build = state.runtime.active_build(application_id, None, caller.principal()).await?;
    Ok(HttpResponse::Ok().json(BuildInfoDto::new(&build, None)))
}

/// The active build of an application in a workspace for the caller, with its settings.
#[utoipa::path(
    tag = "runtime",
    params(("workspaceId" = String, Path), ("appId" = String, Path)),
    responses(
        (status = 200, body = BuildInfoDto),
        (status = 404, description = "`no_active_policy`, `no_build_on_branch` or `build_not_found`", body = ErrorBody),
        (status = 401, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/wks/{workspaceId}/app/{appId}/build/info")]
pub(crate) async fn workspace_build_info(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: WorkspaceAppPath,
) -> Result<HttpResponse, ApiError> {
    let workspace_id = path.workspace_id;
    let application_id = path.application_id;
    let build =
        state.runtime.active_build(application_id, Some(workspace_id), caller.principal()).await?;
    Ok(HttpResponse::Ok().json(BuildInfoDto::new(&build, Some(workspace_id))))
}
