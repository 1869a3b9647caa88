//! `ImportLedger` of the in-memory repository.

use async_trait::async_trait;
use domain::model::{BuildHeader, BuildId, BuildTimer, DomainEvent, ImportOwner, ScheduleMove};
use domain::ports::{ImportClaim, ImportLedger, PortError, PortResult};
use time::OffsetDateTime;

use crate::app_data::InMemoryAppDataRepository;

#[async_trait]
impl ImportLedger for InMemoryAppDataRepository {
    async fn claim_import(&self, claim: &ImportClaim) -> PortResult<()> {
        let mut state = self.state()?;
        if let Some(held) = state.claims.get(&claim.build_id)
            && held.expires_at > claim.claimed_at
        {
            return Err(PortError::Conflict(format!(
                "build {} is claimed by an import until {}",
                claim.build_id, held.expires_at
            )));
        }
        state.claims.insert(claim.build_id, claim.clone());
        Ok(())
    }

    async fn renew_import(
        &self,
        build_id: BuildId,
        owner: ImportOwner,
        expires_at: OffsetDateTime,
    ) -> PortResult<bool> {
        let mut state = self.state()?;
        match state.claims.get_mut(&build_id) {
            Some(held) if held.owner == owner => {
                held.expires_at = expires_at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn complete_import(
        &self,
        header: &BuildHeader,
        owner: ImportOwner,
        timers: &[BuildTimer],
        schedule: &ScheduleMove,
        events: &[DomainEvent],
    ) -> PortResult<()> {
        let mut state = self.state()?;
        if state.headers.contains_key(&header.id) {
            return Err(PortError::Conflict(format!("build {} exists already", header.id)));
        }
        if state.claims.get(&header.id).is_none_or(|held| held.owner != owner) {
            return Err(PortError::Conflict(format!(
                "the import of build {} no longer holds its claim",
                header.id
            )));
        }
        state.check_schedule(schedule)?;
        state.move_schedule(schedule);
        state.headers.insert(header.id, header.clone());
        let mut timers = timers.to_vec();
        timers.sort_by_key(BuildTimer::id);
        state.timers.insert(header.id, timers);
        state.claims.remove(&header.id);
        state.record(events);
        Ok(())
    }

    async fn release_import(&self, build_id: BuildId, owner: ImportOwner) -> PortResult<()> {
        let mut state = self.state()?;
        if state.claims.get(&build_id).is_some_and(|held| held.owner == owner) {
            state.claims.remove(&build_id);
        }
        Ok(())
    }
}
