//! Applications and libraries: create (with branch `main` and its first WIP), list, read
//! with branches, rename or describe, soft delete.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use domain::access::{Authority, Scope};
use domain::design::NewApplication;
use domain::design::model::ApplicationFilter;
use domain::model::{ApplicationKind, ApplicationName, WorkspaceId};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::ApiError;
use crate::app_manager::dto::{ApplicationDto, ApplicationQuery};
use crate::auth::Caller;
use crate::dto::{PageDto, PageQuery};
use crate::error::ErrorBody;
use crate::path::AppPath;
use crate::state::AppManagerState;
use crate::word::Word;

/// A new application or library.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NewApplicationBody {
    name: String,
    #[serde(rename = "type")]
    #[schema(schema_with = Word::<ApplicationKind>::words)]
    kind: Word<ApplicationKind>,
    description: Option<String>,
    workspace_id: Option<String>,
}

/// A rename or a new description; absent fields stay, `"description": null` clears it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ApplicationPatchBody {
    name: Option<String>,
    #[serde(default, with = "::serde_with::rust::double_option")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
}

/// Creates an application or library, its branch `main` and its first WIP version.
#[utoipa::path(
    tag = "applications",
    request_body = NewApplicationBody,
    responses(
        (status = 201, body = ApplicationDto), (status = 400, body = ErrorBody),
        (status = 409, description = "`application_name_taken`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("")]
pub(crate) async fn create_application(
    state: web::Data<AppManagerState>,
    caller: Caller,
    body: web::Json<NewApplicationBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Edit)?;
    let body = body.into_inner();
    let input = NewApplication {
        name: ApplicationName::parse(&body.name)?,
        kind: body.kind.0,
        description: body.description,
        workspace_id: body.workspace_id.as_deref().map(WorkspaceId::parse).transpose()?,
    };
    let created = state.applications.create(caller.principal(), input).await?;
    Ok(HttpResponse::Created().json(ApplicationDto::from(&created)))
}

/// A page of applications by name.
#[utoipa::path(
    tag = "applications",
    params(ApplicationQuery),
    responses((status = 200, body = PageDto<ApplicationDto>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("")]
pub(crate) async fn list_applications(
    state: web::Data<AppManagerState>,
    caller: Caller,
    query: web::Query<ApplicationQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Read)?;
    let query = query.into_inner();
    let page = PageQuery::new(query.page, query.size).to_request()?;
    let filter = ApplicationFilter {
        name_contains: query.name,
        kind: query.kind.map(|kind| kind.0),
        workspace_id: query.workspace_id.as_deref().map(WorkspaceId::parse).transpose()?,
    };
    let found = state.applications.list(&filter, page).await?;
    Ok(HttpResponse::Ok().json(PageDto::from_page(found, |app| ApplicationDto::from(&app))))
}

/// One application with its branches.
#[utoipa::path(
    tag = "applications",
    params(("appId" = String, Path)),
    responses((status = 200, body = ApplicationDto), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/{appId}")]
pub(crate) async fn get_application(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: AppPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Read)?;
    let details = state.applications.get(path.application_id).await?;
    Ok(HttpResponse::Ok().json(ApplicationDto::from(&details)))
}

/// Renames or describes an application.
#[utoipa::path(
    tag = "applications",
    params(("appId" = String, Path)),
    request_body = ApplicationPatchBody,
    responses(
        (status = 200, body = ApplicationDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`application_name_taken`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[patch("/{appId}")]
pub(crate) async fn update_application(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: AppPath,
    body: web::Json<ApplicationPatchBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Edit)?;
    let body = body.into_inner();
    let name = body.name.as_deref().map(ApplicationName::parse).transpose()?;
    let updated = state
        .applications
        .update(caller.principal(), path.application_id, name, body.description)
        .await?;
    Ok(HttpResponse::Ok().json(ApplicationDto::from(&updated)))
}

/// Deletes an application (softly: its builds stay and keep serving).
#[utoipa::path(
    tag = "applications",
    params(("appId" = String, Path)),
    responses(
        (status = 204), (status = 404, body = ErrorBody),
        (status = 409, description = "`library_in_use`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[delete("/{appId}")]
pub(crate) async fn delete_application(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: AppPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Admin)?;
    state.applications.delete(caller.principal(), path.application_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
