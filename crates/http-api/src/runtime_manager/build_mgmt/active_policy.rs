//! The active policy of an application and its per-user and per-group overrides.

use actix_web::{HttpResponse, delete, get, post, put, web};
use domain::access::{Authority, Scope};
use domain::model::{
    ActivePolicy, BranchName, BuildId, PolicyKind, PolicyOverride, PolicyTarget, SubjectType,
    ValidationError,
};
use domain::runtime::OverrideInput;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::dto;
use crate::error::ErrorBody;
use crate::path::{AppPath, OverridePath};
use crate::state::RuntimeManagerState;
use crate::word::Word;

/// The global policy as set: `{"type": "BUILD", "buildId": "…"}` or
/// `{"type": "LATEST_ON_BRANCH", "branch": "main"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct PolicyBody {
    #[serde(rename = "type")]
    #[schema(schema_with = Word::<PolicyKind>::words)]
    policy_type: Word<PolicyKind>,
    build_id: Option<String>,
    branch: Option<String>,
}

fn target(
    Word(policy_type): Word<PolicyKind>,
    build_id: Option<&str>,
    branch: Option<&str>,
) -> Result<PolicyTarget, ApiError> {
    let refuse =
        |field, reason: &str| Err(ApiError::Domain(ValidationError::new(field, reason).into()));
    match (policy_type, build_id, branch) {
        (PolicyKind::Build, Some(build_id), None) => {
            Ok(PolicyTarget::Build(BuildId::parse(build_id)?))
        }
        (PolicyKind::Build, None, _) => refuse("buildId", "is required for type BUILD"),
        (PolicyKind::Build, Some(_), Some(_)) => refuse("branch", "is not allowed for type BUILD"),
        (PolicyKind::LatestOnBranch, None, Some(branch)) => {
            Ok(PolicyTarget::LatestOnBranch(BranchName::parse(branch)?))
        }
        (PolicyKind::LatestOnBranch, _, None) => {
            refuse("branch", "is required for type LATEST_ON_BRANCH")
        }
        (PolicyKind::LatestOnBranch, Some(_), Some(_)) => {
            refuse("buildId", "is not allowed for type LATEST_ON_BRANCH")
        }
    }
}

fn target_fields(target: &PolicyTarget) -> (Word<PolicyKind>, Option<String>, Option<String>) {
    match target {
        PolicyTarget::Build(build_id) => {
            (PolicyKind::Build.into(), Some(build_id.to_string()), None)
        }
        PolicyTarget::LatestOnBranch(branch) => {
            (PolicyKind::LatestOnBranch.into(), None, Some(branch.to_string()))
        }
    }
}

/// The global policy.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyDto {
    application_id: String,
    #[serde(rename = "type")]
    #[schema(schema_with = Word::<PolicyKind>::words)]
    policy_type: Word<PolicyKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    build_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    branch: Option<String>,
    updated_by: String,
    updated_at: String,
}

impl From<&ActivePolicy> for PolicyDto {
    fn from(policy: &ActivePolicy) -> Self {
        let (policy_type, build_id, branch) = target_fields(&policy.target);
        Self {
            application_id: policy.application_id.to_string(),
            policy_type,
            build_id,
            branch,
            updated_by: policy.updated_by.clone(),
            updated_at: dto::rfc3339(policy.updated_at),
        }
    }
}

/// An override as added or changed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct OverrideBody {
    #[schema(schema_with = Word::<SubjectType>::words)]
    subject_type: Word<SubjectType>,
    /// Username (or subject) for USER, group name for GROUP.
    subject_id: String,
    #[serde(rename = "type")]
    #[schema(schema_with = Word::<PolicyKind>::words)]
    policy_type: Word<PolicyKind>,
    build_id: Option<String>,
    branch: Option<String>,
}

impl OverrideBody {
    fn into_input(self) -> Result<OverrideInput, ApiError> {
        Ok(OverrideInput {
            subject_type: self.subject_type.0,
            target: target(self.policy_type, self.build_id.as_deref(), self.branch.as_deref())?,
            subject_id: self.subject_id,
        })
    }
}

/// An override.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OverrideDto {
    id: String,
    application_id: String,
    #[schema(schema_with = Word::<SubjectType>::words)]
    subject_type: Word<SubjectType>,
    subject_id: String,
    #[serde(rename = "type")]
    #[schema(schema_with = Word::<PolicyKind>::words)]
    policy_type: Word<PolicyKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    build_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    branch: Option<String>,
    /// ROLE overrides: kept readable, ignored by resolution, can only be deleted.
    deprecated: bool,
    updated_by: String,
    updated_at: String,
}

impl From<&PolicyOverride> for OverrideDto {
    fn from(policy_override: &PolicyOverride) -> Self {
        let (policy_type, build_id, branch) = target_fields(&policy_override.target);
        Self {
            id: policy_override.id.to_string(),
            application_id: policy_override.application_id.to_string(),
            subject_type: policy_override.subject_type.into(),
            subject_id: policy_override.subject_id.clone(),
            policy_type,
            build_id,
            branch,
            deprecated: policy_override.subject_type == SubjectType::Role,
            updated_by: policy_override.updated_by.clone(),
            updated_at: dto::rfc3339(policy_override.updated_at),
        }
    }
}

/// The global policy of an application.
#[utoipa::path(
    tag = "active-policy",
    params(("appId" = String, Path)),
    responses((status = 200, body = PolicyDto), (status = 404, description = "`no_active_policy`", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/app/{appId}/active-policy")]
pub(crate) async fn get_active_policy(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: AppPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::ActivePolicy, Scope::Read)?;
    let policy = state.policies.get(path.application_id).await?;
    Ok(HttpResponse::Ok().json(PolicyDto::from(&policy)))
}

/// Sets the global policy; takes effect at once.
#[utoipa::path(
    tag = "active-policy",
    params(("appId" = String, Path)),
    request_body = PolicyBody,
    responses(
        (status = 200, body = PolicyDto), (status = 400, body = ErrorBody), (status = 404, description = "`build_not_found`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[put("/app/{appId}/active-policy")]
pub(crate) async fn set_active_policy(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: AppPath,
    body: web::Json<PolicyBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::ActivePolicy, Scope::Edit)?;
    let application_id = path.application_id;
    let body = body.into_inner();
    let target = target(body.policy_type, body.build_id.as_deref(), body.branch.as_deref())?;
    let policy = state.policies.set(caller.principal(), application_id, target).await?;
    Ok(HttpResponse::Ok().json(PolicyDto::from(&policy)))
}

/// Every override of an application, deprecated ROLE ones included.
#[utoipa::path(
    tag = "active-policy",
    params(("appId" = String, Path)),
    responses((status = 200, body = Vec<OverrideDto>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/app/{appId}/active-policy/overrides")]
pub(crate) async fn list_overrides(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: AppPath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::ActivePolicy, Scope::Read)?;
    let overrides = state.policies.list_overrides(path.application_id).await?;
    Ok(HttpResponse::Ok().json(overrides.iter().map(OverrideDto::from).collect::<Vec<_>>()))
}

/// Adds an override for a user or group; one per subject.
#[utoipa::path(
    tag = "active-policy",
    params(("appId" = String, Path)),
    request_body = OverrideBody,
    responses(
        (status = 201, body = OverrideDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "`override_exists`, `role_override_deprecated`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[post("/app/{appId}/active-policy/overrides")]
pub(crate) async fn add_override(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: AppPath,
    body: web::Json<OverrideBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::ActivePolicy, Scope::Edit)?;
    let created = state
        .policies
        .add_override(caller.principal(), path.application_id, body.into_inner().into_input()?)
        .await?;
    Ok(HttpResponse::Created().json(OverrideDto::from(&created)))
}

/// Changes an override.
#[utoipa::path(
    tag = "active-policy",
    params(("appId" = String, Path), ("overrideId" = String, Path)),
    request_body = OverrideBody,
    responses(
        (status = 200, body = OverrideDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[put("/app/{appId}/active-policy/overrides/{overrideId}")]
pub(crate) async fn update_override(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: OverridePath,
    body: web::Json<OverrideBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::ActivePolicy, Scope::Edit)?;
    let updated = state
        .policies
        .update_override(
            caller.principal(),
            path.application_id,
            path.override_id,
            body.into_inner().into_input()?,
        )
        .await?;
    Ok(HttpResponse::Ok().json(OverrideDto::from(&updated)))
}

/// Removes an override (deprecated ROLE overrides too).
#[utoipa::path(
    tag = "active-policy",
    params(("appId" = String, Path), ("overrideId" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/app/{appId}/active-policy/overrides/{overrideId}")]
pub(crate) async fn delete_override(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: OverridePath,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::ActivePolicy, Scope::Edit)?;
    state
        .policies
        .delete_override(caller.principal(), path.application_id, path.override_id)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
