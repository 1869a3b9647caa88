//! Default config parameters of a version: set on a WIP, frozen into its builds.

use std::collections::HashSet;

use crate::DomainResult;
use crate::design::audit::audit;
use crate::design::loading;
use crate::design::model::Application;
use crate::error::{Conflict, NotFound};
use crate::model::{
    ApplicationId, AuditAction, ConfigKey, ConfigParam, EntityRef, Principal, ValidationError,
    VersionId,
};
use crate::ports::Ports;

/// Lists, sets, imports and removes the config defaults of versions.
#[derive(Debug, Clone)]
pub struct ConfigDefaultsService {
    ports: Ports,
}

impl ConfigDefaultsService {
    /// A service over `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// The config defaults of a version, by key.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`.
    pub async fn list(
        &self,
        application_id: ApplicationId,
        version_id: VersionId,
    ) -> DomainResult<Vec<ConfigParam>> {
        let application = loading::application(&self.ports, application_id).await?;
        loading::version(&self.ports, &application, version_id).await?;
        Ok(self.ports.app_data.list_config_defaults(version_id).await?)
    }

    /// Sets one default of a WIP version.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`; `version_committed`;
    /// `invalid_request` for a value that does not fit its type.
    pub async fn put(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        version_id: VersionId,
        param: ConfigParam,
    ) -> DomainResult<ConfigParam> {
        let mut stored = self.import(principal, application_id, version_id, vec![param]).await?;
        Ok(stored.remove(0))
    }

    /// Sets many defaults of a WIP version at once: all are checked first, then all are
    /// stored together, or none is.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`; `version_committed`;
    /// `invalid_request` for an empty list, a key given twice or a value that does not fit
    /// its type.
    pub async fn import(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        version_id: VersionId,
        params: Vec<ConfigParam>,
    ) -> DomainResult<Vec<ConfigParam>> {
        if params.is_empty() {
            return Err(ValidationError::new("params", "must not be empty").into());
        }
        let mut keys = HashSet::new();
        if let Some(twice) = params.iter().find(|param| !keys.insert(&param.key)) {
            return Err(ValidationError::new(
                "key",
                format!("`{}` is given more than once", twice.key),
            )
            .into());
        }
        for param in &params {
            param.validate()?;
        }
        let application = loading::application(&self.ports, application_id).await?;
        loading::wip(&self.ports, &application, version_id).await?;
        let keys = params.iter().map(|param| param.key.clone()).collect();
        let events = [params_audit(AuditAction::SetConfigDefaults, &application, keys, principal)];
        if let Err(err) =
            self.ports.app_data.put_config_defaults(version_id, &params, &events).await
        {
            return Err(loading::wip_write_conflict(
                &self.ports,
                &application,
                version_id,
                err,
                || Conflict::Storage("the config defaults could not be stored".to_owned()).into(),
            )
            .await);
        }
        Ok(params)
    }

    /// Removes one default of a WIP version.
    ///
    /// # Errors
    ///
    /// `application_not_found`, `version_not_found`, `config_param_not_found`;
    /// `version_committed`.
    pub async fn delete(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        version_id: VersionId,
        key: &ConfigKey,
    ) -> DomainResult<()> {
        let application = loading::application(&self.ports, application_id).await?;
        loading::wip(&self.ports, &application, version_id).await?;
        let events = [params_audit(
            AuditAction::DeleteConfigDefault,
            &application,
            vec![key.clone()],
            principal,
        )];
        match self.ports.app_data.delete_config_default(version_id, key, &events).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(NotFound::ConfigParam { version_id, key: key.clone() }.into()),
            Err(err) => {
                Err(loading::wip_write_conflict(&self.ports, &application, version_id, err, || {
                    Conflict::Storage("the config default could not be removed".to_owned()).into()
                })
                .await)
            }
        }
    }
}

fn params_audit(
    action: AuditAction,
    application: &Application,
    keys: Vec<ConfigKey>,
    principal: &Principal,
) -> crate::model::DomainEvent {
    audit(action, application, EntityRef::ConfigDefaults(keys), principal, loading::now())
}
