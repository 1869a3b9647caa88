//! `POST …/builds/import`: a build archive in (spooled to a temporary file once large),
//! checked whole before anything is stored, then staged batch by batch.

use actix_multipart::Multipart;
use actix_web::{HttpResponse, post, web};
use domain::access::{Authority, Scope};
use domain::builds::ImportOutcome;
use domain::model::{ApplicationId, BuildHeader};
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::multipart::spool_file_field;
use crate::path::AppPath;
use crate::state::RuntimeManagerState;

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImportResultDto {
    build_id: String,
    application_id: String,
    checksum: String,
    /// `CREATED` (201) or `UNCHANGED` (200: the same build was here already).
    status: &'static str,
}

/// The multipart form of an import.
#[derive(Debug, ToSchema)]
#[allow(dead_code, reason = "describes the form for the OpenAPI document only")]
pub(crate) struct ImportForm {
    /// The build archive (zip, format 1).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Imports a build archive. Every check (format, entry names, hashes, checksum, sizes,
/// JSON shapes, names, dependencies) runs before anything is stored; a refused archive
/// leaves no trace, and the same archive twice changes nothing.
#[utoipa::path(
    tag = "build-mgmt",
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = ImportResultDto), (status = 200, description = "the same build was here already", body = ImportResultDto),
        (status = 400, description = "a bad archive, with a specific code", body = ErrorBody),
        (status = 409, description = "`build_checksum_conflict`, `missing_dependency`, `import_in_progress`", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/builds/import")]
pub(crate) async fn import_build(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    import(state, caller, form, None).await
}

/// Imports a build archive of one application: like `/builds/import`, and the archive must
/// be a build of `appId` (else 400 `application_mismatch`).
#[utoipa::path(
    tag = "build-mgmt",
    params(("appId" = String, Path)),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = ImportResultDto), (status = 200, body = ImportResultDto),
        (status = 400, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/app/{appId}/builds/import")]
pub(crate) async fn import_application_build(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: AppPath,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    let application_id = path.application_id;
    import(state, caller, form, Some(application_id)).await
}

async fn import(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    form: Multipart,
    expected_application: Option<ApplicationId>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Builds, Scope::Import)?;
    let archive = spool_file_field(form, state.archive_limits.max_archive_bytes, "archive").await?;
    let limits = state.archive_limits;
    // Inflating and hashing is CPU work (and a spooled archive is read from its file): off
    // the async workers. Only the build's metadata comes back; the resources are read from
    // the archive again, batch by batch, while the build service stages them.
    let checked = web::block(move || build_archive::check_archive(archive, &limits))
        .await
        .map_err(ApiError::internal)??;
    let request = checked.into_import(expected_application);
    let (status, header, label) = match state.builds.import(caller.principal(), request).await? {
        ImportOutcome::Created(header) => (actix_web::http::StatusCode::CREATED, header, "CREATED"),
        ImportOutcome::Unchanged(header) => (actix_web::http::StatusCode::OK, header, "UNCHANGED"),
    };
    Ok(HttpResponse::build(status).json(result(&header, label)))
}

fn result(header: &BuildHeader, status: &'static str) -> ImportResultDto {
    ImportResultDto {
        build_id: header.id.to_string(),
        application_id: header.application_id.to_string(),
        checksum: header.checksum.to_string(),
        status,
    }
}
