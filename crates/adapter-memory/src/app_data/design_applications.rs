//! `ApplicationRepository` of the in-memory repository.

use async_trait::async_trait;
use domain::design::model::{Application, ApplicationFilter, Branch, Version};
use domain::design::ports::ApplicationRepository;
use domain::model::{ApplicationId, DomainEvent, Page, PageRequest};
use domain::ports::{PortError, PortResult};
use time::OffsetDateTime;

use crate::app_data::{InMemoryAppDataRepository, State};

#[async_trait]
impl ApplicationRepository for InMemoryAppDataRepository {
    async fn create_application(
        &self,
        application: &Application,
        main: &Branch,
        first_version: &Version,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let mut state = self.state()?;
        if state.applications.contains_key(&application.id) {
            return Err(PortError::Conflict(format!("application {} exists", application.id)));
        }
        check_name_free(&state, application)?;
        if state.versions.contains_key(&first_version.id) {
            return Err(PortError::Conflict(format!("version {} exists", first_version.id)));
        }
        state.applications.insert(application.id, application.clone());
        state.branches.insert((main.application_id, main.name.clone()), main.clone());
        state.versions.insert(first_version.id, first_version.clone());
        state.record(events);
        Ok(())
    }

    async fn find_application(&self, id: ApplicationId) -> PortResult<Option<Application>> {
        Ok(self.state()?.live_application(id).cloned())
    }

    async fn list_applications(
        &self,
        filter: &ApplicationFilter,
        page: PageRequest,
    ) -> PortResult<Page<Application>> {
        let mut found: Vec<Application> = self
            .state()?
            .applications
            .values()
            .filter(|application| application.deleted_at.is_none() && filter.matches(application))
            .cloned()
            .collect();
        found.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        Ok(page.slice(found))
    }

    async fn update_application(
        &self,
        application: &Application,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut state = self.state()?;
        let Some(stored) = state.live_application(application.id) else {
            return Ok(false);
        };
        let updated = Application {
            name: application.name.clone(),
            description: application.description.clone(),
            updated_by: application.updated_by.clone(),
            updated_at: application.updated_at,
            ..stored.clone()
        };
        check_name_free(&state, &updated)?;
        state.applications.insert(updated.id, updated);
        state.record(events);
        Ok(true)
    }

    async fn delete_application(
        &self,
        id: ApplicationId,
        deleted_at: OffsetDateTime,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut state = self.state()?;
        if state.live_application(id).is_none() {
            return Ok(false);
        }
        let dependent = state.dependencies.keys().find(|(version_id, library_id)| {
            *library_id == id
                && state.versions.get(version_id).is_some_and(|version| {
                    version.application_id != id
                        && state.live_application(version.application_id).is_some()
                })
        });
        if let Some((version_id, _)) = dependent {
            return Err(PortError::Conflict(format!(
                "version {version_id} depends on library {id}"
            )));
        }
        if let Some(application) = state.applications.get_mut(&id) {
            application.deleted_at = Some(deleted_at);
        }
        state.record(events);
        Ok(true)
    }
}

/// The unique key of applications: one name per workspace among those not deleted.
fn check_name_free(state: &State, application: &Application) -> PortResult<()> {
    let taken = state.applications.values().any(|other| {
        other.id != application.id
            && other.deleted_at.is_none()
            && other.workspace_id == application.workspace_id
            && other.name == application.name
    });
    if taken {
        return Err(PortError::Conflict(format!(
            "an application named `{}` exists in the workspace",
            application.name
        )));
    }
    Ok(())
}
