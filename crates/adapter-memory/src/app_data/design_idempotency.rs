//! `IdempotencyLedger` of the in-memory repository.

use async_trait::async_trait;
use domain::design::model::IdempotencyKey;
use domain::design::ports::IdempotencyLedger;
use domain::model::{ApplicationId, BuildId};
use domain::ports::{PortError, PortResult};

use crate::app_data::InMemoryAppDataRepository;

#[async_trait]
impl IdempotencyLedger for InMemoryAppDataRepository {
    async fn find_idempotent_build(
        &self,
        application_id: ApplicationId,
        key: &IdempotencyKey,
    ) -> PortResult<Option<BuildId>> {
        Ok(self.state()?.idempotency_keys.get(&(application_id, key.clone())).copied())
    }

    async fn record_idempotent_build(
        &self,
        application_id: ApplicationId,
        key: &IdempotencyKey,
        build_id: BuildId,
    ) -> PortResult<()> {
        let mut state = self.state()?;
        let slot = (application_id, key.clone());
        if let Some(first) = state.idempotency_keys.get(&slot) {
            return Err(PortError::Conflict(format!("key `{key}` created build {first} already")));
        }
        state.idempotency_keys.insert(slot, build_id);
        Ok(())
    }

    async fn forget_idempotency_key(
        &self,
        application_id: ApplicationId,
        key: &IdempotencyKey,
    ) -> PortResult<()> {
        self.state()?.idempotency_keys.remove(&(application_id, key.clone()));
        Ok(())
    }
}
