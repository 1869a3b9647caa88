//! `POST …/binaries`: media bytes stored under their SHA-256, for resources to name as
//! `binaries/<sha256>` (as in the build archive).

use actix_multipart::Multipart;
use actix_web::{HttpResponse, post, web};
use domain::access::{Authority, Scope};
use domain::model::Checksum;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::multipart::read_file_field;
use crate::path::AppPath;
use crate::state::AppManagerState;

/// A stored binary.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct BinaryDto {
    /// Lowercase hex SHA-256 of the bytes; name it in a resource as `binaries/<sha256>`.
    sha256: String,
    /// Size in bytes.
    size: u64,
}

/// The multipart form of an upload.
#[derive(Debug, ToSchema)]
#[allow(dead_code, reason = "describes the form for the OpenAPI document only")]
pub(crate) struct BinaryForm {
    /// The bytes (an image, a document template, …).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Stores media bytes content-addressed; the same bytes twice are stored once.
#[utoipa::path(
    tag = "resources",
    params(("appId" = String, Path)),
    request_body(content = BinaryForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = BinaryDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/{appId}/binaries")]
pub(crate) async fn upload_binary(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: AppPath,
    form: Multipart,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Edit)?;
    let bytes = read_file_field(form, state.max_binary_bytes, "binary").await?;
    let size = bytes.len() as u64;
    let digest = web::block({
        let bytes = bytes.clone();
        move || hex::encode(Sha256::digest(&bytes))
    })
    .await
    .map_err(ApiError::internal)?;
    let sha256 = Checksum::parse(&digest)?;
    state.binaries.store(caller.principal(), path.application_id, &sha256, bytes).await?;
    Ok(HttpResponse::Created().json(BinaryDto { sha256: sha256.to_string(), size }))
}
