//! Builds of an application: list, read, export, delete.

use actix_web::http::header;
use actix_web::{HttpResponse, delete, get, web};
use domain::access::{Authority, Scope};
use domain::model::Build;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::dto::{BuildSummaryDto, ConfigParamDto, ManifestEntryDto, PageDto, PageQuery};
use crate::error::ErrorBody;
use crate::path::{AppPath, BuildPath};
use crate::runtime_manager::dto::BuildHeaderDto;
use crate::state::RuntimeManagerState;

/// A whole build: its header, parameters and manifest.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct BuildDetailDto {
    #[serde(flatten)]
    header: BuildHeaderDto,
    config_params: Vec<ConfigParamDto>,
    manifest: Vec<ManifestEntryDto>,
}

impl From<&Build> for BuildDetailDto {
    fn from(build: &Build) -> Self {
        Self {
            header: BuildHeaderDto::from(build),
            config_params: build.config_params.iter().map(ConfigParamDto::from).collect(),
            manifest: build.manifest.iter().map(ManifestEntryDto::from).collect(),
        }
    }
}

/// The builds of an application, newest first.
#[utoipa::path(
    tag = "build-mgmt",
    params(("appId" = String, Path), PageQuery),
    responses((status = 200, body = PageDto<BuildSummaryDto>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/app/{appId}/builds")]
pub(crate) async fn list_builds(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: AppPath,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Builds, Scope::Read)?;
    let page = state.builds.list(path.application_id, query.to_request()?).await?;
    Ok(HttpResponse::Ok().json(PageDto::from_page(page, |header| BuildSummaryDto::from(&header))))
}

/// One build of an application.
#[utoipa::path(
    tag = "build-mgmt",
    params(("appId" = String, Path), ("buildId" = String, Path)),
    responses((status = 200, body = BuildDetailDto), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/app/{appId}/builds/{buildId}")]
pub(crate) async fn get_build(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: BuildPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Builds, Scope::Read)?;
    let build = state.builds.get(path.application_id, path.build_id).await?;
    Ok(HttpResponse::Ok().json(BuildDetailDto::from(&build)))
}

/// `?withBinaries=` of an export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// Include the binaries (media, templates); default true.
    with_binaries: Option<bool>,
}

/// The archive of a build, importable in another installation.
#[utoipa::path(
    tag = "build-mgmt",
    params(("appId" = String, Path), ("buildId" = String, Path), ExportQuery),
    responses(
        (status = 200, content_type = "application/zip", body = Vec<u8>),
        (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/app/{appId}/builds/{buildId}/export")]
pub(crate) async fn export_build(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: BuildPath,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Builds, Scope::Read)?;
    let exported =
        state.builds.export(caller.principal(), path.application_id, path.build_id).await?;
    let header = exported.header;
    let with_binaries = query.with_binaries.unwrap_or(true);
    // A build without timers, exported whole, is the stored archive byte for byte; otherwise
    // its entries are copied as they are into a new zip (binaries dropped, the timers'
    // switches added in schedule.json), the checksum unchanged.
    let archive = if with_binaries && exported.timers.is_empty() {
        exported.archive
    } else {
        let (archive, timers) = (exported.archive, exported.timers);
        web::block(move || build_archive::export_archive(&archive, with_binaries, &timers))
            .await
            .map_err(ApiError::internal)??
            .into()
    };
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        // Already deflated: gzip would cost CPU for nothing, so compression skips it.
        .insert_header(header::ContentEncoding::Identity)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"build-{}.zip\"", header.id),
        ))
        .body(archive))
}

/// Deletes a build that no policy or override uses.
#[utoipa::path(
    tag = "build-mgmt",
    params(("appId" = String, Path), ("buildId" = String, Path)),
    responses(
        (status = 204), (status = 404, body = ErrorBody), (status = 409, description = "`build_in_use`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[delete("/app/{appId}/builds/{buildId}")]
pub(crate) async fn delete_build(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: BuildPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Builds, Scope::Admin)?;
    state.builds.delete(caller.principal(), path.application_id, path.build_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
