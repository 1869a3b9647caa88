//! `ConfigOverrideRepository` of the in-memory repository.

use async_trait::async_trait;
use domain::model::{ApplicationId, ConfigKey, ConfigOverride, DomainEvent};
use domain::ports::PortResult;
use domain::runtime::ports::ConfigOverrideRepository;

use crate::app_data::InMemoryAppDataRepository;

#[async_trait]
impl ConfigOverrideRepository for InMemoryAppDataRepository {
    async fn list_config_overrides(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Vec<ConfigOverride>> {
        // The map is ordered by (application, key), so the filter keeps key order.
        Ok(self
            .state()?
            .config_overrides
            .values()
            .filter(|config_override| config_override.application_id == application_id)
            .cloned()
            .collect())
    }

    async fn put_config_overrides(
        &self,
        overrides: &[ConfigOverride],
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let mut state = self.state()?;
        for config_override in overrides {
            let key = (config_override.application_id, config_override.key.clone());
            state.config_overrides.insert(key, config_override.clone());
        }
        state.record(events);
        Ok(())
    }

    async fn delete_config_override(
        &self,
        application_id: ApplicationId,
        key: &ConfigKey,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut state = self.state()?;
        if state.config_overrides.remove(&(application_id, key.clone())).is_none() {
            return Ok(false);
        }
        state.record(events);
        Ok(true)
    }
}
