//! Applications and libraries: creating them (with `main` and a first WIP), listing,
//! renaming, and soft deletion that keeps their builds serving.

use crate::DomainResult;
use crate::design::audit::audit;
use crate::design::loading;
use crate::design::model::{
    Application, ApplicationFilter, Branch, MAIN_BRANCH, Version, VersionStatus, default_settings,
};
use crate::error::{Conflict, NotFound};
use crate::model::{
    ApplicationId, ApplicationKind, ApplicationName, AuditAction, BranchName, EntityRef, Page,
    PageRequest, Principal, VersionId, WorkspaceId,
};
use crate::ports::{PortError, Ports};

/// An application as a caller asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApplication {
    /// Name, unique in the workspace.
    pub name: ApplicationName,
    /// Project or library.
    pub kind: ApplicationKind,
    /// Optional description.
    pub description: Option<String>,
    /// Workspace, when the installation has workspaces.
    pub workspace_id: Option<WorkspaceId>,
}

/// An application with its branches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationDetails {
    /// The application.
    pub application: Application,
    /// Its branches, `main` first.
    pub branches: Vec<Branch>,
}

/// Creates, lists, renames and deletes applications and libraries.
#[derive(Debug, Clone)]
pub struct ApplicationService {
    ports: Ports,
}

impl ApplicationService {
    /// A service over `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// Creates an application with its branch `main` and a first WIP version with the
    /// default settings, so that there is something to edit at once.
    ///
    /// # Errors
    ///
    /// `application_name_taken` when an application of the workspace has the name.
    pub async fn create(
        &self,
        principal: &Principal,
        input: NewApplication,
    ) -> DomainResult<ApplicationDetails> {
        let now = loading::now();
        let by = principal.name().to_owned();
        let application = Application {
            id: ApplicationId::random(),
            workspace_id: input.workspace_id,
            name: input.name,
            kind: input.kind,
            description: input.description,
            created_by: by.clone(),
            created_at: now,
            updated_by: by.clone(),
            updated_at: now,
            deleted_at: None,
        };
        let main = Branch {
            application_id: application.id,
            name: main_branch()?,
            created_from: None,
            created_by: by.clone(),
            created_at: now,
        };
        let first_version = Version {
            id: VersionId::random(),
            application_id: application.id,
            branch: main.name.clone(),
            status: VersionStatus::Wip,
            parent_id: None,
            commit_message: None,
            settings: default_settings(),
            created_by: by,
            created_at: now,
            committed_by: None,
            committed_at: None,
            last_changed_at: now,
        };
        let events = [audit(
            AuditAction::CreateApplication,
            &application,
            EntityRef::Application(application.id),
            principal,
            now,
        )];
        self.ports
            .app_data
            .create_application(&application, &main, &first_version, &events)
            .await
            .map_err(|err| name_conflict(err, &application))?;
        tracing::info!(app.id = %application.id, "application created");
        Ok(ApplicationDetails { application, branches: vec![main] })
    }

    /// An application with its branches.
    ///
    /// # Errors
    ///
    /// `application_not_found` when there is none or it is deleted.
    pub async fn get(&self, application_id: ApplicationId) -> DomainResult<ApplicationDetails> {
        let application = loading::application(&self.ports, application_id).await?;
        let branches = self.ports.app_data.list_branches(application_id).await?;
        Ok(ApplicationDetails { application, branches })
    }

    /// The applications that pass `filter`, by name.
    ///
    /// # Errors
    ///
    /// `service_unavailable` / `internal_error` when the store fails.
    pub async fn list(
        &self,
        filter: &ApplicationFilter,
        page: PageRequest,
    ) -> DomainResult<Page<Application>> {
        Ok(self.ports.app_data.list_applications(filter, page).await?)
    }

    /// Renames and/or re-describes an application; `None` keeps a field, and a description
    /// of `Some(None)` removes it.
    ///
    /// # Errors
    ///
    /// `application_not_found`; `application_name_taken` when another application of the
    /// workspace has the new name.
    pub async fn update(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        name: Option<ApplicationName>,
        description: Option<Option<String>>,
    ) -> DomainResult<Application> {
        let existing = loading::application(&self.ports, application_id).await?;
        let now = loading::now();
        let updated = Application {
            name: name.unwrap_or_else(|| existing.name.clone()),
            description: description.unwrap_or_else(|| existing.description.clone()),
            updated_by: principal.name().to_owned(),
            updated_at: now,
            ..existing
        };
        let events = [audit(
            AuditAction::UpdateApplication,
            &updated,
            EntityRef::Application(application_id),
            principal,
            now,
        )];
        let found = self
            .ports
            .app_data
            .update_application(&updated, &events)
            .await
            .map_err(|err| name_conflict(err, &updated))?;
        if !found {
            return Err(NotFound::Application(application_id).into());
        }
        Ok(updated)
    }

    /// Deletes an application softly: it is no longer found, and its builds stay and keep
    /// serving (the runtime knows nothing of design-time deletion).
    ///
    /// # Errors
    ///
    /// `application_not_found`; `library_in_use` while a version of another application
    /// depends on a build of it.
    pub async fn delete(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
    ) -> DomainResult<()> {
        let application = loading::application(&self.ports, application_id).await?;
        let now = loading::now();
        let events = [audit(
            AuditAction::DeleteApplication,
            &application,
            EntityRef::Application(application_id),
            principal,
            now,
        )];
        match self.ports.app_data.delete_application(application_id, now, &events).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(NotFound::Application(application_id).into()),
            Err(PortError::Conflict(_)) => Err(Conflict::LibraryInUse(application_id).into()),
            Err(err) => Err(err.into()),
        }
    }
}

fn main_branch() -> DomainResult<BranchName> {
    Ok(BranchName::parse(MAIN_BRANCH)?)
}

fn name_conflict(err: PortError, application: &Application) -> crate::DomainError {
    match err {
        PortError::Conflict(_) => Conflict::ApplicationNameTaken(application.name.clone()).into(),
        other => other.into(),
    }
}
