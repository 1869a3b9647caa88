//! A version's dependencies on library builds: one build per library, WIP only, no cycles.

use actix_web::{HttpResponse, delete, get, put, web};
use domain::access::{Authority, Scope};
use domain::design::model::VersionDependency;
use domain::model::BuildId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::path::{DependencyPath, VersionPath};
use crate::state::AppManagerState;

/// A dependency on one build of a library.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DependencyDto {
    library_id: String,
    build_id: String,
}

impl From<&VersionDependency> for DependencyDto {
    fn from(dependency: &VersionDependency) -> Self {
        Self {
            library_id: dependency.library_id.to_string(),
            build_id: dependency.build_id.to_string(),
        }
    }
}

/// `{buildId}`: the library build to depend on.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct DependencyBody {
    build_id: String,
}

/// The dependencies of a version.
#[utoipa::path(
    tag = "dependencies",
    params(("appId" = String, Path), ("versionId" = String, Path)),
    responses((status = 200, body = Vec<DependencyDto>), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/{appId}/versions/{versionId}/dependencies")]
pub(crate) async fn list_dependencies(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::AppDependencies, Scope::Read)?;
    let dependencies = state.dependencies.list(path.application_id, path.version_id).await?;
    Ok(HttpResponse::Ok().json(dependencies.iter().map(DependencyDto::from).collect::<Vec<_>>()))
}

/// Makes a WIP version depend on one build of a library (replacing the build it named).
#[utoipa::path(
    tag = "dependencies",
    params(("appId" = String, Path), ("versionId" = String, Path), ("libraryId" = String, Path)),
    request_body = DependencyBody,
    responses(
        (status = 200, body = DependencyDto), (status = 400, body = ErrorBody),
        (status = 404, description = "`application_not_found`, `version_not_found`, `build_not_found`", body = ErrorBody),
        (status = 409, description = "`version_committed`, `dependency_not_a_library`, `dependency_cycle`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[put("/{appId}/versions/{versionId}/dependencies/{libraryId}")]
pub(crate) async fn put_dependency(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: DependencyPath,
    body: web::Json<DependencyBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::AppDependencies, Scope::Edit)?;
    let build_id = BuildId::parse(&body.build_id)?;
    let dependency = state
        .dependencies
        .put(caller.principal(), path.application_id, path.version_id, path.library_id, build_id)
        .await?;
    Ok(HttpResponse::Ok().json(DependencyDto::from(&dependency)))
}

/// Removes a dependency from a WIP version.
#[utoipa::path(
    tag = "dependencies",
    params(("appId" = String, Path), ("versionId" = String, Path), ("libraryId" = String, Path)),
    responses(
        (status = 204), (status = 404, body = ErrorBody),
        (status = 409, description = "`version_committed`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[delete("/{appId}/versions/{versionId}/dependencies/{libraryId}")]
pub(crate) async fn delete_dependency(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: DependencyPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::AppDependencies, Scope::Admin)?;
    state
        .dependencies
        .delete(caller.principal(), path.application_id, path.version_id, path.library_id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
