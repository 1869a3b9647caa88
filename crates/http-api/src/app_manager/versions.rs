//! Branches and versions: create a branch from a committed version, start a WIP from a
//! branch's newest commit, list and read versions, change settings or a commit message,
//! commit, discard, and read a version's manifest.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use domain::access::{Authority, Scope};
use domain::design::model::CommitMessage;
use domain::design::{NewBranch, VersionPatch};
use domain::model::{BranchName, VersionId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;
use crate::app_manager::dto::{BranchDto, ManifestEntryDto, SettingsDto, VersionDto, VersionQuery};
use crate::auth::Caller;
use crate::dto::{PageDto, PageQuery};
use crate::error::ErrorBody;
use crate::path::{AppPath, BranchPath, VersionPath};
use crate::state::AppManagerState;

/// A new branch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct NewBranchBody {
    /// At most 16 characters, unique in the application.
    name: String,
    /// A COMMITTED version; the branch starts with a WIP copy of it.
    from_version_id: String,
}

/// A branch and its first (WIP) version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedBranchDto {
    branch: BranchDto,
    version: VersionDto,
}

/// New settings (WIP only) or a new commit message (COMMITTED only).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct VersionPatchBody {
    settings: Option<SettingsDto>,
    commit_message: Option<String>,
}

/// `{message}` of a commit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommitBody {
    /// 1 to 50 characters of letters, digits, space and `[]().-_/`.
    message: String,
}

/// The branches of an application.
#[utoipa::path(
    tag = "versions",
    params(("appId" = String, Path)),
    responses((status = 200, body = Vec<BranchDto>), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/{appId}/branches")]
pub(crate) async fn list_branches(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: AppPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Read)?;
    let branches = state.versions.list_branches(path.application_id).await?;
    Ok(HttpResponse::Ok().json(branches.iter().map(BranchDto::from).collect::<Vec<_>>()))
}

/// Creates a branch from a committed version; it starts with a WIP copy of that version.
#[utoipa::path(
    tag = "versions",
    params(("appId" = String, Path)),
    request_body = NewBranchBody,
    responses(
        (status = 201, body = CreatedBranchDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`version_not_committed`, `branch_exists`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/{appId}/branches")]
pub(crate) async fn create_branch(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: AppPath,
    body: web::Json<NewBranchBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Edit)?;
    let input = NewBranch {
        name: BranchName::parse(&body.name)?,
        from_version_id: VersionId::parse(&body.from_version_id)?,
    };
    let (branch, version) =
        state.versions.create_branch(caller.principal(), path.application_id, input).await?;
    Ok(HttpResponse::Created().json(CreatedBranchDto {
        branch: BranchDto::from(&branch),
        version: VersionDto::full(&version),
    }))
}

/// Starts a WIP version from the branch's newest committed version (links, not copies).
#[utoipa::path(
    tag = "versions",
    params(("appId" = String, Path), ("branch" = String, Path)),
    responses(
        (status = 201, body = VersionDto), (status = 404, body = ErrorBody),
        (status = 409, description = "`wip_exists`, `version_not_committed` (no committed version yet)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/{appId}/branches/{branch}/versions")]
pub(crate) async fn start_version(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: BranchPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Edit)?;
    let wip =
        state.versions.start_wip(caller.principal(), path.application_id, &path.branch).await?;
    Ok(HttpResponse::Created().json(VersionDto::full(&wip)))
}

/// The versions of an application, newest first.
#[utoipa::path(
    tag = "versions",
    params(("appId" = String, Path), VersionQuery),
    responses((status = 200, body = PageDto<VersionDto>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/{appId}/versions")]
pub(crate) async fn list_versions(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: AppPath,
    query: web::Query<VersionQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Read)?;
    let query = query.into_inner();
    let page = PageQuery::new(query.page, query.size).to_request()?;
    let branch = query.branch.as_deref().map(BranchName::parse).transpose()?;
    let versions = state.versions.list(path.application_id, branch.as_ref(), page).await?;
    Ok(HttpResponse::Ok()
        .json(PageDto::from_page(versions, |version| VersionDto::summary(&version))))
}

/// One version with its settings.
#[utoipa::path(
    tag = "versions",
    params(("appId" = String, Path), ("versionId" = String, Path)),
    responses((status = 200, body = VersionDto), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/{appId}/versions/{versionId}")]
pub(crate) async fn get_version(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Read)?;
    let version = state.versions.get(path.application_id, path.version_id).await?;
    Ok(HttpResponse::Ok().json(VersionDto::full(&version)))
}

/// Changes the settings of a WIP, or the commit message of a committed version.
#[utoipa::path(
    tag = "versions",
    params(("appId" = String, Path), ("versionId" = String, Path)),
    request_body = VersionPatchBody,
    responses(
        (status = 200, body = VersionDto), (status = 400, description = "`invalid_request`, `invalid_commit_message`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`version_committed` (settings of a committed version), `version_not_committed` (message of a WIP)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[patch("/{appId}/versions/{versionId}")]
pub(crate) async fn update_version(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionPath,
    body: web::Json<VersionPatchBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Edit)?;
    let body = body.into_inner();
    let patch = VersionPatch {
        settings: body.settings.map(SettingsDto::into_settings).transpose()?,
        commit_message: body.commit_message.as_deref().map(CommitMessage::parse).transpose()?,
    };
    let version = state
        .versions
        .patch(caller.principal(), path.application_id, path.version_id, patch)
        .await?;
    Ok(HttpResponse::Ok().json(VersionDto::full(&version)))
}

/// Discards a WIP version and its WIP resource versions.
#[utoipa::path(
    tag = "versions",
    params(("appId" = String, Path), ("versionId" = String, Path)),
    responses(
        (status = 204), (status = 404, body = ErrorBody),
        (status = 409, description = "`version_committed`, `last_version`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[delete("/{appId}/versions/{versionId}")]
pub(crate) async fn discard_version(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Edit)?;
    state.versions.discard(caller.principal(), path.application_id, path.version_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Commits a WIP version: it and its WIP resources never change again.
#[utoipa::path(
    tag = "versions",
    params(("appId" = String, Path), ("versionId" = String, Path)),
    request_body = CommitBody,
    responses(
        (status = 200, body = VersionDto), (status = 400, description = "`invalid_commit_message`", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`version_committed`, `nothing_to_commit`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/{appId}/versions/{versionId}/commit")]
pub(crate) async fn commit_version(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionPath,
    body: web::Json<CommitBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Edit)?;
    let message = CommitMessage::parse(&body.message)?;
    let version = state
        .versions
        .commit(caller.principal(), path.application_id, path.version_id, message)
        .await?;
    Ok(HttpResponse::Ok().json(VersionDto::full(&version)))
}

/// Every resource a version links, with its status and times.
#[utoipa::path(
    tag = "versions",
    params(("appId" = String, Path), ("versionId" = String, Path)),
    responses((status = 200, body = Vec<ManifestEntryDto>), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/{appId}/versions/{versionId}/manifest")]
pub(crate) async fn manifest(
    state: web::Data<AppManagerState>,
    caller: Caller,
    path: VersionPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Apps, Scope::Read)?;
    let entries = state.resources.manifest(path.application_id, path.version_id).await?;
    Ok(HttpResponse::Ok().json(entries.iter().map(ManifestEntryDto::from).collect::<Vec<_>>()))
}
