//! Dependencies of a version on library builds: one build per library, changed on a WIP
//! only, never a cycle.

use std::collections::{BTreeSet, VecDeque};

use crate::design::audit::audit;
use crate::design::loading;
use crate::design::model::{Application, VersionDependency};
use crate::error::{Conflict, NotFound};
use crate::lookups;
use crate::model::{
    ApplicationId, ApplicationKind, AuditAction, BuildId, EntityRef, Principal, VersionId,
};
use crate::ports::Ports;
use crate::{DomainError, DomainResult};

/// Lists, sets and removes the dependencies of versions.
#[derive(Debug, Clone)]
pub struct DependencyService {
    ports: Ports,
}

impl DependencyService {
    /// A service over `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// The dependencies of a version, by library id.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`.
    pub async fn list(
        &self,
        application_id: ApplicationId,
        version_id: VersionId,
    ) -> DomainResult<Vec<VersionDependency>> {
        let application = loading::application(&self.ports, application_id).await?;
        loading::version(&self.ports, &application, version_id).await?;
        Ok(self.ports.app_data.list_dependencies(version_id).await?)
    }

    /// Makes a WIP version depend on one build of a library, replacing the build it named.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`; `version_committed`;
    /// `application_not_found` too when the library is deleted while this runs;
    /// `build_not_found` when the library has no such build; `dependency_not_a_library`
    /// when the build or the application named is not a library; `dependency_cycle` when
    /// the library's build depends, directly or not, on this application.
    pub async fn put(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        version_id: VersionId,
        library_id: ApplicationId,
        build_id: BuildId,
    ) -> DomainResult<VersionDependency> {
        let application = loading::application(&self.ports, application_id).await?;
        loading::wip(&self.ports, &application, version_id).await?;
        if library_id == application_id {
            return Err(Conflict::DependencyCycle(library_id).into());
        }
        self.check_library_build(library_id, build_id).await?;
        self.check_no_cycle(application_id, library_id, build_id).await?;
        let dependency = VersionDependency { library_id, build_id };
        let events =
            [dependency_audit(AuditAction::SetDependency, &application, library_id, principal)];
        if let Err(err) = self.ports.app_data.put_dependency(version_id, &dependency, &events).await
        {
            return Err(loading::wip_write_conflict(
                &self.ports,
                &application,
                version_id,
                err,
                // Still a WIP, so the store refused the library: deleted meanwhile.
                || NotFound::Application(library_id).into(),
            )
            .await);
        }
        Ok(dependency)
    }

    /// Removes a WIP version's dependency on a library.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`, `dependency_not_found`;
    /// `version_committed`.
    pub async fn delete(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        version_id: VersionId,
        library_id: ApplicationId,
    ) -> DomainResult<()> {
        let application = loading::application(&self.ports, application_id).await?;
        loading::wip(&self.ports, &application, version_id).await?;
        let events =
            [dependency_audit(AuditAction::DeleteDependency, &application, library_id, principal)];
        match self.ports.app_data.delete_dependency(version_id, library_id, &events).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(NotFound::Dependency { version_id, library_id }.into()),
            Err(err) => {
                Err(loading::wip_write_conflict(&self.ports, &application, version_id, err, || {
                    Conflict::Storage("the dependency could not be removed".to_owned()).into()
                })
                .await)
            }
        }
    }

    /// The build must be a build of the library, and the library a library: by its build
    /// header (which imported libraries have too) and, when it is designed here, by the
    /// application itself.
    async fn check_library_build(
        &self,
        library_id: ApplicationId,
        build_id: BuildId,
    ) -> DomainResult<()> {
        let header = match self.ports.app_data.find_build_header(build_id).await? {
            Some(header) if header.application_id == library_id => header,
            _ => return Err(NotFound::Build { application_id: library_id, build_id }.into()),
        };
        if header.application_kind != ApplicationKind::Library {
            return Err(Conflict::DependencyNotALibrary(library_id).into());
        }
        if let Some(library) = self.ports.app_data.find_application(library_id).await?
            && library.kind != ApplicationKind::Library
        {
            return Err(Conflict::DependencyNotALibrary(library_id).into());
        }
        Ok(())
    }

    /// Walks the dependencies of the library build and of theirs, breadth first: a build
    /// of `application_id` among them would make the application depend on itself.
    /// Library → library is fine; a build that is not committed, or whose content is gone,
    /// has no dependencies to follow.
    async fn check_no_cycle(
        &self,
        application_id: ApplicationId,
        library_id: ApplicationId,
        build_id: BuildId,
    ) -> DomainResult<()> {
        let mut seen = BTreeSet::from([build_id]);
        let mut queue = VecDeque::from([build_id]);
        while let Some(next) = queue.pop_front() {
            let Some(build) = lookups::summary(&self.ports, next).await? else {
                continue;
            };
            for dependency in &build.dependencies {
                if dependency.application_id == application_id {
                    return Err(DomainError::Conflict(Conflict::DependencyCycle(library_id)));
                }
                if seen.insert(dependency.build_id) {
                    queue.push_back(dependency.build_id);
                }
            }
        }
        Ok(())
    }
}

fn dependency_audit(
    action: AuditAction,
    application: &Application,
    library_id: ApplicationId,
    principal: &Principal,
) -> crate::model::DomainEvent {
    audit(action, application, EntityRef::Dependency(library_id), principal, loading::now())
}
