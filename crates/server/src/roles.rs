//! Composition per role: which use cases a process builds and which APIs it mounts.
//! `SPRING_APPLICATION_NAME` picks the role with real backends; embedded mode serves both
//! roles in one process (docs/CONFIGURATION.md, "Roles").

use std::sync::Arc;
use std::time::Duration;

use adapter_engine::HttpProcessEngine;
use anyhow::Context as _;
use build_archive::ArchivePackager;
use domain::builds::BuildService;
use domain::design::{
    ApplicationService, BinaryService, BuildCreationService, ConfigDefaultsService,
    DependencyService, ResourceService, VersionService,
};
use domain::ports::{Ports, ProcessEngine};
use domain::runtime::{
    ConfigOverrideService, PolicyService, ProcessStartService, RuntimeService,
    ScheduledProcessService, StartByNameService, StartRetry,
};
use http_api::auth::{Authenticator, TokenValidator};
use http_api::{Apis, AppManagerState, RuntimeManagerState};

use crate::settings::{Role, Settings};

/// Which roles a process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Served {
    /// One role, with real backends.
    One(Role),
    /// Both roles: embedded mode.
    Both,
}

impl Served {
    fn includes(self, role: Role) -> bool {
        match self {
            Self::One(served) => served == role,
            Self::Both => true,
        }
    }

    /// For `/actuator/info` and the log.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::One(role) => role.as_str(),
            Self::Both => "application-manager+runtime-manager",
        }
    }
}

/// The APIs of the served roles over `ports`, runtime starts forwarded to `engine`.
pub(crate) fn apis(
    served: Served,
    ports: &Ports,
    settings: &Settings,
    tokens: TokenValidator,
    engine: Option<Arc<dyn ProcessEngine>>,
) -> Apis {
    let import_lease = i64::try_from(settings.import_lease_seconds).unwrap_or(i64::MAX);
    let builds =
        BuildService::new(ports.clone()).with_import_lease(time::Duration::seconds(import_lease));
    let runtime_manager = served.includes(Role::RuntimeManager).then(|| RuntimeManagerState {
        runtime: RuntimeService::new(ports.clone()),
        process_start: ProcessStartService::new(ports.clone(), engine),
        builds: builds.clone(),
        policies: PolicyService::new(ports.clone()),
        config_overrides: ConfigOverrideService::new(ports.clone()),
        scheduled_processes: ScheduledProcessService::new(ports.clone()),
        archive_limits: settings.archive_limits,
    });
    let app_manager = served.includes(Role::ApplicationManager).then(|| {
        // Built within the import limits: a build that could not be imported could not be
        // promoted to another installation either.
        let packager = Arc::new(ArchivePackager::new(settings.archive_limits));
        AppManagerState {
            applications: ApplicationService::new(ports.clone()),
            versions: VersionService::new(ports.clone()),
            resources: ResourceService::new(ports.clone()),
            binaries: BinaryService::new(ports.clone()),
            dependencies: DependencyService::new(ports.clone()),
            config_defaults: ConfigDefaultsService::new(ports.clone()),
            builds: BuildCreationService::new(ports.clone(), builds, packager),
            max_binary_bytes: settings.archive_limits.max_archive_bytes,
        }
    });
    Apis {
        authenticator: Authenticator::new(tokens, settings.access.clone()),
        runtime_manager,
        app_manager,
    }
}

/// The process engine of `RTM_PROCESS_ENGINE_URL`, in either mode; without it, process
/// starts are refused with 503 `process_engine_not_configured`.
pub(crate) fn process_engine(
    settings: &Settings,
) -> anyhow::Result<Option<Arc<dyn ProcessEngine>>> {
    let Some(config) = &settings.process_engine else {
        tracing::info!(
            "RTM_PROCESS_ENGINE_URL is not set: process starts are refused with process_engine_not_configured"
        );
        return Ok(None);
    };
    tracing::info!(engine = ?config, "process starts are forwarded to the process engine");
    let engine = HttpProcessEngine::new(config.clone())
        .context("RTM_PROCESS_ENGINE_URL: the process engine's HTTP client cannot be built")?;
    Ok(Some(Arc::new(engine)))
}

/// The runtime role's start-by-name use case, for the Kafka consumer: tokens are checked by
/// the REST API's own validator, starts go through the same `ProcessStartService` as the
/// REST starts.
pub(crate) fn start_by_name(
    ports: &Ports,
    engine: Option<Arc<dyn ProcessEngine>>,
    tokens: TokenValidator,
    retry_bound: Duration,
) -> StartByNameService {
    StartByNameService::new(
        ProcessStartService::new(ports.clone(), engine),
        Arc::new(tokens),
        StartRetry::within(retry_bound),
    )
}
