//! `TimerRegistry` of the in-memory repository.

use async_trait::async_trait;
use domain::model::{
    ApplicationId, BuildId, BuildTimer, DomainEvent, ScheduleMove, TimerId, TimerSchedule,
};
use domain::ports::{PortResult, TimerRegistry};

use crate::app_data::InMemoryAppDataRepository;

#[async_trait]
impl TimerRegistry for InMemoryAppDataRepository {
    async fn list_build_timers(&self, build_id: BuildId) -> PortResult<Vec<BuildTimer>> {
        Ok(self.state()?.timers.get(&build_id).cloned().unwrap_or_default())
    }

    async fn find_timer_schedule(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<TimerSchedule> {
        Ok(self
            .state()?
            .schedules
            .get(&application_id)
            .copied()
            .unwrap_or_else(|| TimerSchedule::unscheduled(application_id)))
    }

    async fn switch_timer(
        &self,
        build_id: BuildId,
        timer_id: &TimerId,
        activated: bool,
        schedule: &ScheduleMove,
        events: &[DomainEvent],
    ) -> PortResult<bool> {
        let mut state = self.state()?;
        let found = state
            .timers
            .get(&build_id)
            .is_some_and(|timers| timers.iter().any(|timer| timer.id() == *timer_id));
        if !found {
            return Ok(false);
        }
        state.check_schedule(schedule)?;
        state.move_schedule(schedule);
        if let Some(timer) = state
            .timers
            .get_mut(&build_id)
            .and_then(|timers| timers.iter_mut().find(|timer| timer.id() == *timer_id))
        {
            timer.activated = activated;
        }
        state.record(events);
        Ok(true)
    }
}
