//! Config overrides: per-installation values that win over a build's defaults at once,
//! without a new build.

use std::collections::HashSet;

use time::OffsetDateTime;

use crate::DomainResult;
use crate::error::{Conflict, NotFound};
use crate::model::{
    ApplicationId, ApplicationKind, AuditAction, AuditRecord, ConfigKey, ConfigOverride,
    ConfigParamType, DomainEvent, EntityRef, Principal, ValidationError,
};
use crate::ports::Ports;

/// One override as a caller gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigOverrideInput {
    /// Key.
    pub key: ConfigKey,
    /// How `value` is read.
    pub param_type: ConfigParamType,
    /// The value, or an environment variable name.
    pub value: String,
}

/// Lists, sets, imports and removes config overrides.
#[derive(Debug, Clone)]
pub struct ConfigOverrideService {
    ports: Ports,
}

impl ConfigOverrideService {
    /// A service over `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// Every override of an application, by key.
    ///
    /// # Errors
    ///
    /// `service_unavailable` / `internal_error` when the store fails.
    pub async fn list(&self, application_id: ApplicationId) -> DomainResult<Vec<ConfigOverride>> {
        Ok(self.ports.app_data.list_config_overrides(application_id).await?)
    }

    /// Sets one override.
    ///
    /// # Errors
    ///
    /// `invalid_request` for a value that does not fit its type, `library_overrides_forbidden`
    /// for a library.
    pub async fn set(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        input: ConfigOverrideInput,
    ) -> DomainResult<ConfigOverride> {
        let mut stored = self.set_many(principal, application_id, vec![input]).await?;
        Ok(stored.remove(0))
    }

    /// Sets many overrides at once: all are checked first, then all are stored together, or
    /// none is.
    ///
    /// # Errors
    ///
    /// `invalid_request` for an empty list, a key given twice or a value that does not fit
    /// its type; `library_overrides_forbidden` for a library.
    pub async fn set_many(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        inputs: Vec<ConfigOverrideInput>,
    ) -> DomainResult<Vec<ConfigOverride>> {
        if inputs.is_empty() {
            return Err(ValidationError::new("overrides", "must not be empty").into());
        }
        let mut keys = HashSet::new();
        if let Some(twice) = inputs.iter().find(|input| !keys.insert(&input.key)) {
            return Err(ValidationError::new(
                "key",
                format!("`{}` is given more than once", twice.key),
            )
            .into());
        }
        if self.ports.app_data.find_application_kind(application_id).await?
            == Some(ApplicationKind::Library)
        {
            return Err(Conflict::LibraryOverrides(application_id).into());
        }
        let now = OffsetDateTime::now_utc();
        let overrides = inputs
            .into_iter()
            .map(|input| {
                let config_override = ConfigOverride {
                    application_id,
                    key: input.key,
                    param_type: input.param_type,
                    value: input.value,
                    updated_by: principal.name().to_owned(),
                    updated_at: now,
                };
                config_override.validate().map(|()| config_override)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let keys: Vec<ConfigKey> =
            overrides.iter().map(|config_override| config_override.key.clone()).collect();
        let events = events(AuditAction::SetConfigOverrides, application_id, keys, principal, now);
        self.ports.app_data.put_config_overrides(&overrides, &events).await?;
        Ok(overrides)
    }

    /// Removes one override.
    ///
    /// # Errors
    ///
    /// `config_override_not_found` when there is none.
    pub async fn delete(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        key: &ConfigKey,
    ) -> DomainResult<()> {
        let now = OffsetDateTime::now_utc();
        let events = events(
            AuditAction::DeleteConfigOverride,
            application_id,
            vec![key.clone()],
            principal,
            now,
        );
        if self.ports.app_data.delete_config_override(application_id, key, &events).await? {
            Ok(())
        } else {
            Err(NotFound::ConfigOverride(key.to_string()).into())
        }
    }
}

/// What every config-override change records: which keys changed, and who changed them.
fn events(
    action: AuditAction,
    application_id: ApplicationId,
    keys: Vec<ConfigKey>,
    principal: &Principal,
    at: OffsetDateTime,
) -> [DomainEvent; 2] {
    let audit = AuditRecord::event(
        action,
        EntityRef::ConfigOverrides(keys.clone()),
        application_id,
        None,
        principal,
        at,
    );
    [DomainEvent::ConfigOverridesUpdated { application_id, keys }, audit]
}
