//! What the handlers of each role share, built by the server from the use cases it wires
//! (the composition root decides how services are configured; this crate only serves them)
//! and handed to actix as `web::Data`.

use build_archive::ArchiveLimits;
use domain::builds::BuildService;
use domain::design::{
    ApplicationService, BinaryService, BuildCreationService, ConfigDefaultsService,
    DependencyService, ResourceService, VersionService,
};
use domain::runtime::{
    ConfigOverrideService, PolicyService, ProcessStartService, RuntimeService,
    ScheduledProcessService,
};

use crate::auth::Authenticator;

/// The Runtime Manager's use cases, for its handlers, as the server builds them.
#[derive(Debug, Clone)]
pub struct RuntimeManagerState {
    /// Resolution, resources and parameters of the live build.
    pub runtime: RuntimeService,
    /// Process starts, forwarded to the process engine.
    pub process_start: ProcessStartService,
    /// Import, list, read, export and delete builds.
    pub builds: BuildService,
    /// Active policies and overrides.
    pub policies: PolicyService,
    /// Config overrides.
    pub config_overrides: ConfigOverrideService,
    /// Timers of the global build and their switches.
    pub scheduled_processes: ScheduledProcessService,
    /// Limits of the archives an import reads.
    pub archive_limits: ArchiveLimits,
}

/// The Application Manager's use cases, for its handlers, as the server builds them.
#[derive(Debug, Clone)]
pub struct AppManagerState {
    /// Applications and libraries.
    pub applications: ApplicationService,
    /// Branches and versions.
    pub versions: VersionService,
    /// Resources of versions.
    pub resources: ResourceService,
    /// Media binaries.
    pub binaries: BinaryService,
    /// Dependencies of versions.
    pub dependencies: DependencyService,
    /// Config defaults of versions.
    pub config_defaults: ConfigDefaultsService,
    /// Build creation.
    pub builds: BuildCreationService,
    /// Uploads of binaries past this size are refused (413).
    pub max_binary_bytes: u64,
}

/// The APIs one process serves: the authenticator every route uses, and the state of each
/// role it serves (`None` for a role it does not serve: its routes are not mounted).
#[derive(Debug, Clone)]
pub struct Apis {
    /// Token validation and access rules.
    pub authenticator: Authenticator,
    /// The Runtime Manager's APIs, when served.
    pub runtime_manager: Option<RuntimeManagerState>,
    /// The Application Manager's API, when served.
    pub app_manager: Option<AppManagerState>,
}
