//! What the handlers of each role share, built by the server from the use cases it wires
//! (the composition root decides how services are configured; this crate only serves them)
//! and handed to actix as `web::Data`.

use build_archive::ArchiveLimits;
use domain::builds::BuildService;
use domain::design::{
    ApplicationService, BinaryService, BuildCreationService, ConfigDefaultsService,
    DependencyService, ResourceService, VersionService,
};
use domain::runtime::{ConfigOverrideService, PolicyService, RuntimeService};

use crate::auth::Authenticator;

/// The Runtime Manager's use cases, for its handlers.
#[derive(Debug, Clone)]
pub struct RuntimeManagerState {
    pub(crate) runtime: RuntimeService,
    pub(crate) builds: BuildService,
    pub(crate) policies: PolicyService,
    pub(crate) config_overrides: ConfigOverrideService,
    pub(crate) archive_limits: ArchiveLimits,
}

impl RuntimeManagerState {
    /// The state of the Runtime Manager's APIs over these services.
    pub fn new(
        runtime: RuntimeService,
        builds: BuildService,
        policies: PolicyService,
        config_overrides: ConfigOverrideService,
        archive_limits: ArchiveLimits,
    ) -> Self {
        Self { runtime, builds, policies, config_overrides, archive_limits }
    }
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
