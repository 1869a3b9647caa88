//! `POST …/versions/{versionId}/builds`: a build of a committed version, stored exactly as
//! an import of its archive would be, and at once visible to the Runtime Manager.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use domain::access::{Authority, Scope};
use domain::design::model::IdempotencyKey;
use domain::design::{CreatedBuild, NewBuild};
use domain::model::ValidationError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::path::VersionPath;
use crate::state::AppManagerState;

/// The header that makes a retried creation safe.
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// What to call the build; every field is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NewBuildBody {
    /// The application's name when absent.
    name: Option<String>,
    /// Such as `1.4.0`.
    version_tag: Option<String>,
    description: Option<String>,
}

/// A created build.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedBuildDto {
    build_id: String,
    application_id: String,
    application_version_id: String,
    checksum: String,
    /// Always `CREATED`: the build's origin, also when a retry replays it.
    status: &'static str,
}

/// Makes a build of a committed version. With `Idempotency-Key`, a retry returns the first
/// answer (200 instead of 201) and creates nothing.
#[utoipa::path(
    tag = "builds",
    params(("appId" = String, Path), ("versionId" = String, Path),
           ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters; a retry with the same key creates nothing")),
    request_body(content = NewBuildBody, description = "optional"),
    responses(
        (status = 201, body = CreatedBuildDto), (status = 200, description = "a retry with the same Idempotency-Key", body = CreatedBuildDto),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`version_not_committed`, `import_in_progress`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/{appId}/versions/{versionId}/builds")]
pub(crate) async fn create_build(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionPath,
    request: HttpRequest,
    body: Option<web::Json<NewBuildBody>>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Builds, Scope::Edit)?;
    let key = match request.headers().get(IDEMPOTENCY_KEY) {
        None => None,
        Some(value) => Some(IdempotencyKey::parse(
            value.to_str().map_err(|_| ValidationError::new(IDEMPOTENCY_KEY, "is not text"))?,
        )?),
    };
    let body = body.map(web::Json::into_inner).unwrap_or_default();
    let input =
        NewBuild { name: body.name, version_tag: body.version_tag, description: body.description };
    let created = state
        .builds
        .create(caller.principal(), path.application_id, path.version_id, input, key.as_ref())
        .await?;
    let status = match created {
        CreatedBuild::Created(_) => StatusCode::CREATED,
        CreatedBuild::Replayed(_) => StatusCode::OK,
    };
    let header = created.header();
    Ok(HttpResponse::build(status).json(CreatedBuildDto {
        build_id: header.id.to_string(),
        application_id: header.application_id.to_string(),
        application_version_id: header.application_version_id.to_string(),
        checksum: header.checksum.to_string(),
        status: "CREATED",
    }))
}
