//! The runtime use cases: which build is live for a caller, and what is inside it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::DomainResult;
use crate::error::NotFound;
use crate::lookups;
use crate::model::{
    ApplicationId, Build, BuildId, BuildResource, BuildSummary, ConfigKey, ConfigParamType, Page,
    PageRequest, PolicyRule, PolicyTarget, Principal, ResolvedConfigParam, ResourceDefinitionId,
    ResourceName, ResourceType, WorkspaceId,
};
use crate::ports::Ports;
use crate::telemetry;

/// The build live for a caller, and the rule of resolution that chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveBuild {
    /// The build (its summary: header, settings, dependencies).
    pub build: Arc<BuildSummary>,
    /// The USER or GROUP override, or the global policy, that chose it.
    pub rule: PolicyRule,
    /// The application's policy revision the choice was made at: with the build id, what a
    /// renderer's cached answer is validated against (the build info `ETag`).
    pub revision: u64,
}

/// Answers renderers and services at run time.
#[derive(Debug, Clone)]
pub struct RuntimeService {
    ports: Ports,
}

impl RuntimeService {
    /// A service over `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// The build live for `principal` in an application: its USER override, else a GROUP
    /// override, else the global policy; ROLE overrides are ignored. A `workspace_id`, when
    /// given, must be the build's (a build without a workspace matches any).
    ///
    /// # Errors
    ///
    /// `no_active_policy` when no policy applies, `no_build_on_branch` when the policy names
    /// a branch without builds, `build_not_found` when the build is not in the workspace.
    pub async fn active_build(
        &self,
        application_id: ApplicationId,
        workspace_id: Option<WorkspaceId>,
        principal: &Principal,
    ) -> DomainResult<Arc<BuildSummary>> {
        Ok(self.resolve(application_id, workspace_id, principal).await?.build)
    }

    /// [`active_build`](Self::active_build), with the rule that chose it (the USER or GROUP
    /// override, or the global policy): what the runtime-internal API tells other services.
    ///
    /// # Errors
    ///
    /// As [`active_build`](Self::active_build).
    pub async fn resolve(
        &self,
        application_id: ApplicationId,
        workspace_id: Option<WorkspaceId>,
        principal: &Principal,
    ) -> DomainResult<ActiveBuild> {
        let started = std::time::Instant::now();
        let resolved = self.resolve_now(application_id, workspace_id, principal).await;
        telemetry::resolution(started, &resolved);
        resolved
    }

    async fn resolve_now(
        &self,
        application_id: ApplicationId,
        workspace_id: Option<WorkspaceId>,
        principal: &Principal,
    ) -> DomainResult<ActiveBuild> {
        let snapshot = lookups::policy_snapshot(&self.ports, application_id).await?;
        let Some(chosen) = snapshot.policy_for(principal) else {
            return Err(NotFound::ActivePolicy(application_id).into());
        };
        let build_id = match chosen.target {
            PolicyTarget::Build(build_id) => *build_id,
            PolicyTarget::LatestOnBranch(branch) => match snapshot.latest_by_branch.get(branch) {
                Some(build_id) => *build_id,
                None => {
                    return Err(
                        NotFound::BuildOnBranch { application_id, branch: branch.clone() }.into()
                    );
                }
            },
        };
        let build = lookups::summary_of(&self.ports, application_id, build_id).await?;
        match (workspace_id, build.header.workspace_id) {
            (Some(asked), Some(actual)) if asked != actual => {
                Err(NotFound::Build { application_id, build_id }.into())
            }
            _ => Ok(ActiveBuild { build, rule: chosen.rule, revision: snapshot.revision() }),
        }
    }

    /// A build of any application, by id alone: how other services find the application and
    /// workspace of a build they were handed.
    ///
    /// # Errors
    ///
    /// `build_not_found` when this installation has no such (committed) build.
    pub async fn build(&self, build_id: BuildId) -> DomainResult<Arc<BuildSummary>> {
        lookups::summary(&self.ports, build_id)
            .await?
            .ok_or_else(|| NotFound::InstalledBuild(build_id).into())
    }

    /// The resources of one type in a build of the application, ordered by name.
    ///
    /// # Errors
    ///
    /// `build_not_found` when the build is not one of the application's.
    pub async fn list_resources(
        &self,
        application_id: ApplicationId,
        build_id: BuildId,
        resource_type: &ResourceType,
        page: PageRequest,
    ) -> DomainResult<Page<BuildResource>> {
        lookups::summary_of(&self.ports, application_id, build_id).await?;
        Ok(self.ports.runtime_data.list_resources(build_id, resource_type, page).await?)
    }

    /// One resource of a build of the application, by definition id.
    ///
    /// # Errors
    ///
    /// `build_not_found`, or `resource_not_found` when the build has no such resource.
    pub async fn resource(
        &self,
        application_id: ApplicationId,
        build_id: BuildId,
        resource_type: &ResourceType,
        definition_id: &ResourceDefinitionId,
    ) -> DomainResult<BuildResource> {
        lookups::summary_of(&self.ports, application_id, build_id).await?;
        self.ports
            .runtime_data
            .find_resource(build_id, resource_type, definition_id)
            .await?
            .ok_or_else(|| {
                NotFound::Resource {
                    build_id,
                    resource_type: resource_type.to_string(),
                    reference: definition_id.to_string(),
                }
                .into()
            })
    }

    /// One resource of a build of the application, by name.
    ///
    /// # Errors
    ///
    /// `build_not_found`, or `resource_not_found` when the build has no such resource.
    pub async fn resource_by_name(
        &self,
        application_id: ApplicationId,
        build_id: BuildId,
        resource_type: &ResourceType,
        name: &ResourceName,
    ) -> DomainResult<BuildResource> {
        lookups::summary_of(&self.ports, application_id, build_id).await?;
        self.ports
            .runtime_data
            .find_resource_by_name(build_id, resource_type, name)
            .await?
            .ok_or_else(|| {
                NotFound::Resource {
                    build_id,
                    resource_type: resource_type.to_string(),
                    reference: name.to_string(),
                }
                .into()
            })
    }

    /// The parameters of a build as the runtime sees them: the defaults of the libraries it
    /// depends on, overlaid by the build's own defaults, overlaid by the application's
    /// overrides; ordered by key. `ENV_SECRET` parameters are left out unless
    /// `include_secrets` is set (service accounts only).
    ///
    /// # Errors
    ///
    /// `build_not_found` when the build is not one of the application's.
    pub async fn config_params(
        &self,
        application_id: ApplicationId,
        build_id: BuildId,
        include_secrets: bool,
    ) -> DomainResult<Vec<ResolvedConfigParam>> {
        let build = lookups::build_of(&self.ports, application_id, build_id).await?;
        self.resolve_params(build, include_secrets).await
    }

    /// [`config_params`](Self::config_params) of a build of any application, by id alone.
    ///
    /// # Errors
    ///
    /// `build_not_found` when this installation has no such (committed) build.
    pub async fn build_config_params(
        &self,
        build_id: BuildId,
        include_secrets: bool,
    ) -> DomainResult<Vec<ResolvedConfigParam>> {
        let build = lookups::build(&self.ports, build_id)
            .await?
            .ok_or(NotFound::InstalledBuild(build_id))?;
        self.resolve_params(build, include_secrets).await
    }

    async fn resolve_params(
        &self,
        build: Build,
        include_secrets: bool,
    ) -> DomainResult<Vec<ResolvedConfigParam>> {
        let build_id = build.id();
        let application_id = build.header.application_id;
        let mut resolved: BTreeMap<ConfigKey, ResolvedConfigParam> = BTreeMap::new();
        for dependency in &build.dependencies {
            // A dependency that vanished cannot contribute defaults; the build's own still apply.
            let Some(library) = lookups::build(&self.ports, dependency.build_id).await? else {
                tracing::warn!(build.id = %build_id, dependency.id = %dependency.build_id, "dependency build missing");
                continue;
            };
            for param in library.config_params {
                resolved.entry(param.key.clone()).or_insert(ResolvedConfigParam {
                    key: param.key,
                    param_type: param.param_type,
                    value: param.value,
                    overridden: false,
                    from_library: Some(dependency.application_id),
                });
            }
        }
        for param in build.config_params {
            resolved.insert(
                param.key.clone(),
                ResolvedConfigParam {
                    key: param.key,
                    param_type: param.param_type,
                    value: param.value,
                    overridden: false,
                    from_library: None,
                },
            );
        }
        for config_override in self.ports.app_data.list_config_overrides(application_id).await? {
            let from_library =
                resolved.get(&config_override.key).and_then(|param| param.from_library);
            resolved.insert(
                config_override.key.clone(),
                ResolvedConfigParam {
                    key: config_override.key,
                    param_type: config_override.param_type,
                    value: config_override.value,
                    overridden: true,
                    from_library,
                },
            );
        }
        Ok(resolved
            .into_values()
            .filter(|param| include_secrets || param.param_type != ConfigParamType::EnvSecret)
            .collect())
    }
}
