//! What every handler shares: the use-case services, the access rules, the token validator
//! and the import limits. Built once by the server and handed to actix as `web::Data`.

use build_archive::ArchiveLimits;
use domain::access::{AccessRules, Authority, Permission, Scope};
use domain::builds::BuildService;
use domain::ports::Ports;
use domain::runtime::{ConfigOverrideService, PolicyService, RuntimeService};

use crate::ApiError;
use crate::auth::{Caller, TokenValidator};

/// Shared state of the API handlers.
#[derive(Debug, Clone)]
pub struct AppState {
    pub(crate) runtime: RuntimeService,
    pub(crate) builds: BuildService,
    pub(crate) policies: PolicyService,
    pub(crate) config_overrides: ConfigOverrideService,
    pub(crate) access: AccessRules,
    pub(crate) tokens: TokenValidator,
    pub(crate) archive_limits: ArchiveLimits,
}

impl AppState {
    /// Builds the services over `ports`.
    pub fn new(
        ports: Ports,
        access: AccessRules,
        tokens: TokenValidator,
        archive_limits: ArchiveLimits,
    ) -> Self {
        Self {
            runtime: RuntimeService::new(ports.clone()),
            builds: BuildService::new(ports.clone()),
            policies: PolicyService::new(ports.clone()),
            config_overrides: ConfigOverrideService::new(ports),
            access,
            tokens,
            archive_limits,
        }
    }

    /// The same state with another import lease (see `BuildService::with_import_lease`).
    pub fn with_import_lease(mut self, import_lease: time::Duration) -> Self {
        self.builds = self.builds.with_import_lease(import_lease);
        self
    }

    /// Refuses with 403 unless the caller holds `authority` at `scope` (or higher).
    pub(crate) fn require(
        &self,
        caller: &Caller,
        authority: Authority,
        scope: Scope,
    ) -> Result<(), ApiError> {
        let permission = Permission::new(authority, scope);
        if self.access.allows(&caller.0, permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(permission))
        }
    }
}
