//! Resources of a build: a page of one type, one by definition id, one by name.

use actix_web::{HttpResponse, get, web};
use domain::model::BuildResource;
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::dto::{PageDto, PageQuery};
use crate::error::ErrorBody;
use crate::path::{BuildResourceNamePath, BuildResourcePath, BuildResourcesPath};
use crate::state::RuntimeManagerState;

/// A resource snapshot of a build.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourceDto {
    build_id: String,
    resource_type: String,
    resource_definition_id: String,
    resource_version_id: String,
    name: String,
    /// The resource definition, as stored.
    #[schema(value_type = Object)]
    content: Box<RawValue>,
}

impl ResourceDto {
    pub(crate) fn new(resource: BuildResource) -> Result<Self, ApiError> {
        let content = RawValue::from_string(resource.content.as_str().to_owned())
            .map_err(ApiError::internal)?;
        Ok(Self {
            build_id: resource.build_id.to_string(),
            resource_type: resource.entry.resource_type.to_string(),
            resource_definition_id: resource.entry.definition_id.to_string(),
            resource_version_id: resource.entry.version_id.to_string(),
            name: resource.entry.name.to_string(),
            content,
        })
    }
}

/// The resources of one type in a build, by name.
#[utoipa::path(
    tag = "runtime",
    params(("appId" = String, Path), ("buildId" = String, Path), ("type" = String, Path, description = "Resource type, such as PROCESS"), PageQuery),
    responses((status = 200, body = PageDto<ResourceDto>), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/app/{appId}/build/{buildId}/resources/{type}")]
pub(crate) async fn list_resources(
    state: web::Data<RuntimeManagerState>,
    _caller: Caller,
    path: BuildResourcesPath,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .runtime
        .list_resources(
            path.application_id,
            path.build_id,
            &path.resource_type,
            query.to_request()?,
        )
        .await?;
    let total = page.total;
    let request = page.request;
    let items = page.items.into_iter().map(ResourceDto::new).collect::<Result<Vec<_>, _>>()?;
    let page = domain::model::Page { items, request, total };
    Ok(HttpResponse::Ok().json(PageDto::from_page(page, |item| item)))
}

/// One resource of a build by definition id.
#[utoipa::path(
    tag = "runtime",
    params(("appId" = String, Path), ("buildId" = String, Path), ("type" = String, Path), ("definitionId" = String, Path)),
    responses((status = 200, body = ResourceDto), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/app/{appId}/build/{buildId}/resources/{type}/{definitionId}")]
pub(crate) async fn get_resource(
    state: web::Data<RuntimeManagerState>,
    _caller: Caller,
    path: BuildResourcePath,
) -> Result<HttpResponse, ApiError> {
    let resource = state
        .runtime
        .resource(path.application_id, path.build_id, &path.resource_type, &path.definition_id)
        .await?;
    Ok(HttpResponse::Ok().json(ResourceDto::new(resource)?))
}

/// One resource of a build by name.
#[utoipa::path(
    tag = "runtime",
    params(("appId" = String, Path), ("buildId" = String, Path), ("type" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = ResourceDto), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/app/{appId}/build/{buildId}/resources/{type}/by-name/{name}")]
pub(crate) async fn get_resource_by_name(
    state: web::Data<RuntimeManagerState>,
    _caller: Caller,
    path: BuildResourceNamePath,
) -> Result<HttpResponse, ApiError> {
    let resource = state
        .runtime
        .resource_by_name(path.application_id, path.build_id, &path.resource_type, &path.name)
        .await?;
    Ok(HttpResponse::Ok().json(ResourceDto::new(resource)?))
}
