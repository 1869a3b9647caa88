//! `ConfigDefaultsRepository` of the in-memory repository.

use async_trait::async_trait;
use domain::design::ports::ConfigDefaultsRepository;
use domain::model::{ConfigKey, ConfigParam, DomainEvent, VersionId};
use domain::ports::PortResult;

use crate::app_data::InMemoryAppDataRepository;

#[async_trait]
impl ConfigDefaultsRepository for InMemoryAppDataRepository {
    async fn list_config_defaults(&self, version_id: VersionId) -> PortResult<Vec<ConfigParam>> {
        // The map is ordered by (version, key), so the filter keeps key order.
        Ok(self
            .state()?
            .config_defaults
            .iter()
            .filter(|((linking, _), _)| *linking == version_id)
            .map(|(_, param)| param.clone())
            .collect())
    }

    async fn put_config_defaults(
        &self,
        version_id: VersionId,
        params: &[ConfigParam],
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let mut state = self.state()?;
        state.require_wip(version_id)?;
        for param in params {
            state.config_defaults.insert((version_id, param.key.clone()), param.clone());
        }
        state.record(events);
        Ok(())
    }

    async fn delete_config_default(
        &self,
        version_id: VersionId,
        key: &ConfigKey,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut state = self.state()?;
        state.require_wip(version_id)?;
        if state.config_defaults.remove(&(version_id, key.clone())).is_none() {
            return Ok(false);
        }
        state.record(events);
        Ok(true)
    }
}
