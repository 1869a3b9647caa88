//! The resources of a version: list one type (without content), create, read with its
//! `ETag`, change (copy on write for a committed resource; `If-Match` honoured) and unlink.

use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use domain::access::{Authority, Scope};
use domain::design::model::ResourceVersion;
use domain::design::{NewResource, ResourceEdit};
use domain::model::{RawJson, ResourceDefinitionId, ResourceName, ValidationError};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::ApiError;
use crate::app_manager::dto::ManifestEntryDto;
use crate::auth::Caller;
use crate::dto::{PageDto, PageQuery};
use crate::error::ErrorBody;
use crate::path::{VersionResourcePath, VersionResourcesPath};
use crate::state::AppManagerState;

/// A new resource.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NewResourceBody {
    /// Unique per version and type.
    name: String,
    /// The definition: a JSON object, stored byte for byte.
    #[schema(value_type = Object)]
    content: Box<RawValue>,
    /// A stable id of your own (path-safe); a new one when absent.
    resource_definition_id: Option<String>,
}

/// A change to a resource: its content, and a new name when given.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct ResourceEditBody {
    name: Option<String>,
    #[schema(value_type = Object)]
    content: Box<RawValue>,
}

/// A resource of a version, with its content.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ResourceDto {
    /// Its manifest line: type, ids, name, status and times.
    #[serde(flatten)]
    entry: ManifestEntryDto,
    /// The definition, as stored.
    #[schema(value_type = Object)]
    content: Box<RawValue>,
}

impl ResourceDto {
    fn response(
        status: actix_web::http::StatusCode,
        resource: &ResourceVersion,
    ) -> Result<HttpResponse, ApiError> {
        let content = RawValue::from_string(resource.content.as_str().to_owned())
            .map_err(ApiError::internal)?;
        let dto = Self { entry: ManifestEntryDto::from(&resource.manifest_entry()), content };
        Ok(HttpResponse::build(status)
            .insert_header((header::ETAG, format!("\"{}\"", resource.etag())))
            .json(dto))
    }
}

/// Content must be a JSON object (a resource definition), kept as the caller wrote it.
fn content(raw: &RawValue) -> Result<RawJson, ValidationError> {
    if raw.get().trim_start().starts_with('{') {
        Ok(RawJson::from_validated(raw.get().to_owned()))
    } else {
        Err(ValidationError::new("content", "must be a JSON object"))
    }
}

/// The entity tag of `If-Match`, without quotes; `None` when absent or `*` (any version).
fn if_match(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else { return Ok(None) };
    let value = value.to_str().map_err(|_| ValidationError::new("If-Match", "is not text"))?.trim();
    if value == "*" {
        return Ok(None);
    }
    // Strong comparison (RFC 9110 §13.1.1): a weak tag never matches; one tag is expected.
    let tag = value.trim_matches('"');
    if value.starts_with("W/") || tag.is_empty() || tag.contains(',') || tag.contains('"') {
        return Err(ValidationError::new(
            "If-Match",
            "must be one strong entity tag, as the ETag was",
        )
        .into());
    }
    Ok(Some(tag.to_owned()))
}

/// The resources of one type in a version, without content, by name.
#[utoipa::path(
    tag = "resources",
    params(("appId" = String, Path), ("versionId" = String, Path), ("type" = String, Path, description = "Resource type, such as PROCESS"), PageQuery),
    responses((status = 200, body = PageDto<ManifestEntryDto>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/{appId}/versions/{versionId}/resources/{type}")]
pub(crate) async fn list_resources(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionResourcesPath,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Read)?;
    let page = state
        .resources
        .list(path.application_id, path.version_id, &path.resource_type, query.to_request()?)
        .await?;
    Ok(HttpResponse::Ok().json(PageDto::from_page(page, |entry| ManifestEntryDto::from(&entry))))
}

/// Adds a resource to a WIP version.
#[utoipa::path(
    tag = "resources",
    params(("appId" = String, Path), ("versionId" = String, Path), ("type" = String, Path)),
    request_body = NewResourceBody,
    responses(
        (status = 201, body = ResourceDto), (status = 400, description = "`invalid_request`, `unknown_binary`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`version_committed`, `resource_name_taken`, `resource_exists`", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/{appId}/versions/{versionId}/resources/{type}")]
pub(crate) async fn create_resource(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionResourcesPath,
    body: web::Json<NewResourceBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Edit)?;
    let body = body.into_inner();
    let input = NewResource {
        name: ResourceName::parse(&body.name)?,
        content: content(&body.content)?,
        definition_id: body
            .resource_definition_id
            .as_deref()
            .map(ResourceDefinitionId::parse)
            .transpose()?,
    };
    let created = state
        .resources
        .create(caller.principal(), path.application_id, path.version_id, path.resource_type, input)
        .await?;
    ResourceDto::response(actix_web::http::StatusCode::CREATED, &created)
}

/// One resource of a version, with its content and `ETag`.
#[utoipa::path(
    tag = "resources",
    params(("appId" = String, Path), ("versionId" = String, Path), ("type" = String, Path), ("definitionId" = String, Path)),
    responses((status = 200, body = ResourceDto, headers(("ETag" = String))), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/{appId}/versions/{versionId}/resources/{type}/{definitionId}")]
pub(crate) async fn get_resource(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionResourcePath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Read)?;
    let resource = state
        .resources
        .get(path.application_id, path.version_id, &path.resource_type, &path.definition_id)
        .await?;
    ResourceDto::response(actix_web::http::StatusCode::OK, &resource)
}

/// Changes a resource of a WIP version: one still linked committed gets a new resource
/// version id (copy on write); a WIP one changes in place. `If-Match` makes it conditional.
#[utoipa::path(
    tag = "resources",
    params(("appId" = String, Path), ("versionId" = String, Path), ("type" = String, Path), ("definitionId" = String, Path),
           ("If-Match" = Option<String>, Header, description = "The resource's ETag; a change made since is refused with 412")),
    request_body = ResourceEditBody,
    responses(
        (status = 200, body = ResourceDto, headers(("ETag" = String))), (status = 400, description = "`invalid_request`, `unknown_binary`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`version_committed`, `resource_name_taken`", body = ErrorBody),
        (status = 412, description = "`precondition_failed`", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[put("/{appId}/versions/{versionId}/resources/{type}/{definitionId}")]
pub(crate) async fn update_resource(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionResourcePath,
    request: HttpRequest,
    body: web::Json<ResourceEditBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Edit)?;
    let body = body.into_inner();
    let edit = ResourceEdit {
        name: body.name.as_deref().map(ResourceName::parse).transpose()?,
        content: content(&body.content)?,
        if_match: if_match(request.headers())?,
    };
    let updated = state
        .resources
        .update(
            caller.principal(),
            path.application_id,
            path.version_id,
            path.resource_type,
            path.definition_id,
            edit,
        )
        .await?;
    ResourceDto::response(actix_web::http::StatusCode::OK, &updated)
}

/// Unlinks a resource from a WIP version (committed versions keep it).
#[utoipa::path(
    tag = "resources",
    params(("appId" = String, Path), ("versionId" = String, Path), ("type" = String, Path), ("definitionId" = String, Path)),
    responses(
        (status = 204), (status = 404, body = ErrorBody),
        (status = 409, description = "`version_committed`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[delete("/{appId}/versions/{versionId}/resources/{type}/{definitionId}")]
pub(crate) async fn delete_resource(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionResourcePath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Edit)?;
    state
        .resources
        .delete(
            caller.principal(),
            path.application_id,
            path.version_id,
            &path.resource_type,
            &path.definition_id,
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
