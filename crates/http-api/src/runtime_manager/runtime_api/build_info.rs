//! `GET …/build/info`: the build the active policy makes live for the caller.

use actix_web::http::header::{ETag, EntityTag, IfNoneMatch};
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, get, web};
use domain::model::{BuildSummary, WorkspaceId};
use domain::runtime::ActiveBuild;
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
    fn new(build: &BuildSummary, workspace_id: Option<WorkspaceId>) -> Self {
        Self {
            build_id: build.header.id.to_string(),
            application_id: build.header.application_id.to_string(),
            workspace_id: workspace_id.map(|id| id.to_string()),
            build_settings: BuildSettingsDto::new(&build.header, &build.settings),
        }
    }
}

/// The answer's validator: the resolved build and the policy revision it was resolved at.
/// Weak, because it names the choice, not the bytes (the same build and revision always
/// give the same body, but a renderer needs no byte-level guarantee to reuse it).
fn entity_tag(active: &ActiveBuild) -> EntityTag {
    EntityTag::new_weak(format!("{}-{}", active.build.header.id, active.revision))
}

/// `200` with the body and its `ETag`, or `304` with the `ETag` alone when the request's
/// `If-None-Match` names it (weak comparison) or is `*`.
fn answer(
    request: &HttpRequest,
    active: &ActiveBuild,
    workspace_id: Option<WorkspaceId>,
) -> HttpResponse {
    let tag = entity_tag(active);
    let unchanged = match request.get_header::<IfNoneMatch>() {
        Some(IfNoneMatch::Any) => true,
        Some(IfNoneMatch::Items(tags)) => tags.iter().any(|held| held.weak_eq(&tag)),
        None => false,
    };
    if unchanged {
        return HttpResponse::NotModified().insert_header(ETag(tag)).finish();
    }
    HttpResponse::Ok().insert_header(ETag(tag)).json(BuildInfoDto::new(&active.build, workspace_id))
}

/// The active build of an application for the caller, with its settings.
#[utoipa::path(
    tag = "runtime",
    params(
        ("appId" = String, Path, description = "Application id"),
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` of an earlier answer: `304` when it still holds"),
    ),
    responses(
        (status = 200, body = BuildInfoDto, headers(("ETag" = String, description = "`W/\"{buildId}-{policyRevision}\"`"))),
        (status = 304, description = "The `If-None-Match` tag still holds: same build, same policy revision", headers(("ETag" = String))),
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
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let application_id = path.application_id;
    let active = state.runtime.resolve(application_id, None, caller.principal()).await?;
    Ok(answer(&request, &active, None))
}

/// The active build of an application in a workspace for the caller, with its settings.
#[utoipa::path(
    tag = "runtime",
    params(
        ("workspaceId" = String, Path),
        ("appId" = String, Path),
        ("If-None-Match" = Option<String>, Header, description = "An `ETag` of an earlier answer: `304` when it still holds"),
    ),
    responses(
        (status = 200, body = BuildInfoDto, headers(("ETag" = String, description = "`W/\"{buildId}-{policyRevision}\"`"))),
        (status = 304, description = "The `If-None-Match` tag still holds: same build, same policy revision", headers(("ETag" = String))),
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
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let workspace_id = path.workspace_id;
    let application_id = path.application_id;
    let active =
        state.runtime.resolve(application_id, Some(workspace_id), caller.principal()).await?;
    Ok(answer(&request, &active, Some(workspace_id)))
}
