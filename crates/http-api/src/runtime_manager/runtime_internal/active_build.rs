//! `GET /app/{appId}/active-build?user=&groups=`: the build a named user would get, and the
//! rule of resolution that chose it.

use actix_web::{HttpResponse, get, web};
use domain::access::{Authority, Scope};
use domain::model::{PolicySource, Principal, ValidationError};
use domain::runtime::ActiveBuild;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::path::AppPath;
use crate::state::RuntimeManagerState;
use crate::word::Word;

/// Whom to resolve for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ActiveBuildQuery {
    /// The user (required): a USER override matches it as a token's `preferred_username` or
    /// `sub`.
    user: Option<String>,
    /// The user's groups, comma-separated; each matches a GROUP override as `/name` or `name`.
    groups: Option<String>,
}

impl ActiveBuildQuery {
    fn principal(&self) -> Result<Principal, ValidationError> {
        let user = self.user.as_deref().map(str::trim).unwrap_or_default();
        if user.is_empty() {
            return Err(ValidationError::new("user", "is required: the user to resolve for"));
        }
        let groups = self
            .groups
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|group| !group.is_empty())
            .map(str::to_owned);
        Ok(Principal::named(user, groups))
    }
}

/// The rule that chose the build.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PolicyChoiceDto {
    /// `USER` or `GROUP` (an override), or `GLOBAL` (the global policy).
    #[schema(schema_with = Word::<PolicySource>::words)]
    source: Word<PolicySource>,
    /// The override that chose, for `USER` and `GROUP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    override_id: Option<String>,
}

/// The build a user would get.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ActiveBuildDto {
    build_id: String,
    application_id: String,
    /// The build's workspace; `null` for a build without one.
    workspace_id: Option<String>,
    policy: PolicyChoiceDto,
}

impl From<&ActiveBuild> for ActiveBuildDto {
    fn from(active: &ActiveBuild) -> Self {
        let header = &active.build.header;
        Self {
            build_id: header.id.to_string(),
            application_id: header.application_id.to_string(),
            workspace_id: header.workspace_id.map(|id| id.to_string()),
            policy: PolicyChoiceDto {
                source: active.rule.source().into(),
                override_id: active.rule.override_id().map(|id| id.to_string()),
            },
        }
    }
}

/// The build a user (with groups) would get from build info: its USER override, else a GROUP
/// override, else the global policy; with which of them chose it.
#[utoipa::path(
    tag = "runtime-internal",
    params(("appId" = String, Path), ActiveBuildQuery),
    responses(
        (status = 200, body = ActiveBuildDto),
        (status = 400, description = "`invalid_request`: no `user`", body = ErrorBody),
        (status = 404, description = "`no_active_policy` or `no_build_on_branch`", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/app/{appId}/active-build")]
pub(crate) async fn get_active_build(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: AppPath,
    query: web::Query<ActiveBuildQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Builds, Scope::Read)?;
    let principal = query.principal()?;
    let active = state.runtime.resolve(path.application_id, None, &principal).await?;
    Ok(HttpResponse::Ok().json(ActiveBuildDto::from(&active)))
}
