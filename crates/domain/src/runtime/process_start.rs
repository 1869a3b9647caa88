//! Process start: rtm checks that the build belongs to the application (and workspace) and
//! holds a PROCESS resource of that name, then forwards the start to the process engine.
//! REST (`/api/runtime/**`, `/api/runtime-internal/**`) and Kafka start-by-name share it.

use std::sync::Arc;

use crate::DomainResult;
use crate::error::{DomainError, NotFound};
use crate::lookups;
use crate::model::{
    ApplicationId, BuildId, BuildSummary, Principal, RawJson, ResourceName, ResourceType,
    WorkspaceId,
};
use crate::ports::{Credentials, EngineAnswer, EngineStart, Ports, ProcessEngine};
use crate::runtime::RuntimeService;

/// The resource type of process definitions.
pub const PROCESS: &str = "PROCESS";

/// Which build a start runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOn {
    /// That build (it must be one of the application's, and of the workspace when given).
    Build {
        /// The build.
        build_id: BuildId,
        /// The workspace the request named, when it named one.
        workspace_id: Option<WorkspaceId>,
    },
    /// The caller's active build, resolved as build info resolves it (USER, GROUP, global).
    Active {
        /// The workspace the request named, when it named one.
        workspace_id: Option<WorkspaceId>,
    },
}

/// A start as a caller asks for it.
#[derive(Debug, Clone)]
pub struct StartRequest {
    /// The application.
    pub application_id: ApplicationId,
    /// The build to run on.
    pub on: StartOn,
    /// The process definition's name.
    pub process_name: ResourceName,
    /// Who asks; picks the active build.
    pub principal: Principal,
    /// The caller's `Authorization`, passed to the engine.
    pub credentials: Credentials,
    /// The start data: a JSON object (checked at the edge).
    pub body: RawJson,
}

/// A start the engine accepted.
#[derive(Debug, Clone)]
pub struct ProcessStarted {
    /// The build the process runs on.
    pub build_id: BuildId,
    /// The engine's answer, to be returned unchanged.
    pub answer: EngineAnswer,
}

/// Starts processes on builds through the process engine.
#[derive(Debug, Clone)]
pub struct ProcessStartService {
    ports: Ports,
    runtime: RuntimeService,
    engine: Option<Arc<dyn ProcessEngine>>,
}

impl ProcessStartService {
    /// A service over `ports` forwarding to `engine`; `None` when no engine is configured
    /// (every start is then refused with `process_engine_not_configured`).
    pub fn new(ports: Ports, engine: Option<Arc<dyn ProcessEngine>>) -> Self {
        Self { runtime: RuntimeService::new(ports.clone()), ports, engine }
    }

    /// The build a start would run on and its workspace, after every check but the engine.
    ///
    /// # Errors
    ///
    /// The errors of [`RuntimeService::active_build`] for an active start; `build_not_found`
    /// for a build of another application or workspace; `process_not_found` when the build
    /// has no PROCESS resource of that name.
    pub async fn target(
        &self,
        application_id: ApplicationId,
        on: &StartOn,
        principal: &Principal,
        process_name: &ResourceName,
    ) -> DomainResult<Arc<BuildSummary>> {
        let build = match on {
            StartOn::Build { build_id, workspace_id } => {
                let build = lookups::summary_of(&self.ports, application_id, *build_id).await?;
                match (workspace_id, build.header.workspace_id) {
                    (Some(asked), Some(actual)) if *asked != actual => {
                        return Err(NotFound::Build { application_id, build_id: *build_id }.into());
                    }
                    _ => build,
                }
            }
            StartOn::Active { workspace_id } => {
                self.runtime.active_build(application_id, *workspace_id, principal).await?
            }
        };
        let process = ResourceType::parse(PROCESS).map_err(DomainError::Invalid)?;
        let found = self
            .ports
            .runtime_data
            .find_resource_by_name(build.header.id, &process, process_name)
            .await?;
        if found.is_none() {
            return Err(NotFound::Process {
                build_id: build.header.id,
                process_name: process_name.clone(),
            }
            .into());
        }
        Ok(build)
    }

    /// Checks the start and forwards it to the engine, once.
    ///
    /// # Errors
    ///
    /// The errors of [`target`](Self::target); `process_engine_not_configured` without an
    /// engine; `process_engine_refused` / `process_engine_unavailable` from the engine.
    pub async fn start(&self, request: StartRequest) -> DomainResult<ProcessStarted> {
        let Some(engine) = &self.engine else {
            return Err(DomainError::ProcessEngineNotConfigured);
        };
        let build = self
            .target(request.application_id, &request.on, &request.principal, &request.process_name)
            .await?;
        let start = EngineStart {
            process_name: request.process_name,
            application_id: request.application_id,
            build_id: build.header.id,
            workspace_id: build.header.workspace_id,
            credentials: request.credentials,
            body: request.body,
        };
        let answer = engine.start(start).await?;
        Ok(ProcessStarted { build_id: build.header.id, answer })
    }
}
