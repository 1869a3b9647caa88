//! Scheduled processes: the timer start events of the global build (or of a named build of
//! the application), and their switches.

use actix_web::{HttpResponse, get, patch, web};
use domain::access::{Authority, Scope};
use domain::model::{BuildId, BuildTimer, TimerType};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::Caller;
use crate::error::ErrorBody;
use crate::path::{AppPath, TimerPath};
use crate::state::RuntimeManagerState;
use crate::word::Word;

/// A timer start event of a process of the build.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ScheduledProcessDto {
    /// `{resourceDefinitionId}.{nodeId}` of the process and its timer node: stable across
    /// builds, path-safe.
    timer_id: String,
    /// The build the timer belongs to.
    build_id: String,
    process_definition_name: String,
    swimlane: Option<String>,
    timer_name: Option<String>,
    #[schema(schema_with = Word::<TimerType>::words)]
    timer_type: Word<TimerType>,
    expression: String,
    /// Whether the scheduler runs it while its build is the global one.
    activated: bool,
}

impl ScheduledProcessDto {
    fn new(build_id: BuildId, timer: &BuildTimer) -> Self {
        Self {
            timer_id: timer.id().to_string(),
            build_id: build_id.to_string(),
            process_definition_name: timer.process_name.to_string(),
            swimlane: timer.swimlane.clone(),
            timer_name: timer.name.clone(),
            timer_type: timer.expression.timer_type().into(),
            expression: timer.expression.as_str().to_owned(),
            activated: timer.activated,
        }
    }
}

/// `?buildId=`: another build of the application than the global one.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct BuildQuery {
    /// A build of the application; default: the build of the global policy.
    build_id: Option<String>,
}

impl BuildQuery {
    fn build_id(&self) -> Result<Option<BuildId>, ApiError> {
        Ok(self.build_id.as_deref().map(BuildId::parse).transpose()?)
    }
}

/// The switch of a timer.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct SwitchBody {
    /// `false` stops the timer, `true` sets it again.
    activated: bool,
}

/// The timer-started processes of the application's global build.
#[utoipa::path(
    tag = "build-mgmt",
    params(("appId" = String, Path), BuildQuery),
    responses(
        (status = 200, body = Vec<ScheduledProcessDto>),
        (status = 404, description = "`no_active_policy`, `no_build_on_branch`, `build_not_found`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[get("/app/{appId}/scheduled-processes")]
pub(crate) async fn list_scheduled_processes(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: AppPath,
    query: web::Query<BuildQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Builds, Scope::Read)?;
    let listed = state.scheduled_processes.list(path.application_id, query.build_id()?).await?;
    let timers: Vec<ScheduledProcessDto> = listed
        .timers
        .iter()
        .map(|timer| ScheduledProcessDto::new(listed.build_id, timer))
        .collect();
    Ok(HttpResponse::Ok().json(timers))
}

/// Switches one timer on or off; a timer of the build the scheduler runs is set or stopped
/// at once.
#[utoipa::path(
    tag = "build-mgmt",
    params(("appId" = String, Path), ("timerId" = String, Path), BuildQuery),
    request_body = SwitchBody,
    responses(
        (status = 200, body = ScheduledProcessDto),
        (status = 400, body = ErrorBody),
        (status = 404, description = "`timer_not_found`, `no_active_policy`, `no_build_on_branch`, `build_not_found`", body = ErrorBody),
        (status = 409, description = "`concurrent_change`", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
#[patch("/app/{appId}/scheduled-processes/{timerId}")]
pub(crate) async fn switch_scheduled_process(
    state: web::Data<RuntimeManagerState>,
    caller: Caller,
    path: TimerPath,
    query: web::Query<BuildQuery>,
    body: web::Json<SwitchBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Authority::Builds, Scope::Edit)?;
    let (build_id, timer) = state
        .scheduled_processes
        .switch(
            caller.principal(),
            path.application_id,
            query.build_id()?,
            &path.timer_id,
            body.activated,
        )
        .await?;
    Ok(HttpResponse::Ok().json(ScheduledProcessDto::new(build_id, &timer)))
}
