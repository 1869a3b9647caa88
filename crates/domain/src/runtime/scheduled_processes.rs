//! Scheduled processes: the timer start events of the global build, and their switches.
//! A switch of a timer of the build the scheduler runs tells the scheduler at once (in the
//! same write, through the outbox); a switch of another build's timer only changes its
//! flag, which counts when that build becomes the global one.

use time::OffsetDateTime;

use crate::DomainResult;
use crate::error::NotFound;
use crate::lookups;
use crate::model::{
    ApplicationId, AuditAction, AuditRecord, BuildId, BuildTimer, DomainEvent, EntityRef,
    PolicyTarget, Principal, ScheduleCommand, TimerId,
};
use crate::ports::Ports;
use crate::schedule;

/// The timers of a build, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledProcesses {
    /// The build they belong to.
    pub build_id: BuildId,
    /// Its timers, ordered by process definition id, then node id.
    pub timers: Vec<BuildTimer>,
}

/// Lists and switches timers.
#[derive(Debug, Clone)]
pub struct ScheduledProcessService {
    ports: Ports,
}

impl ScheduledProcessService {
    /// A service over `ports`.
    pub fn new(ports: Ports) -> Self {
        Self { ports }
    }

    /// The timers of the build of the global policy, or of `build_id` of the application.
    ///
    /// # Errors
    ///
    /// `no_active_policy` without a global policy, `no_build_on_branch` when it follows a
    /// branch without builds, `build_not_found` for a build of another application.
    pub async fn list(
        &self,
        application_id: ApplicationId,
        build_id: Option<BuildId>,
    ) -> DomainResult<ScheduledProcesses> {
        let build_id = self.build(application_id, build_id).await?;
        let timers = self.ports.app_data.list_build_timers(build_id).await?;
        Ok(ScheduledProcesses { build_id, timers })
    }

    /// Switches a timer of the global build (or of `build_id`) on or off, and answers the
    /// build and the timer as switched. Switching it to what it is changes nothing and
    /// records nothing.
    ///
    /// # Errors
    ///
    /// Those of [`list`](Self::list), and `timer_not_found` when the build has no such timer.
    pub async fn switch(
        &self,
        principal: &Principal,
        application_id: ApplicationId,
        build_id: Option<BuildId>,
        timer_id: &TimerId,
        activated: bool,
    ) -> DomainResult<(BuildId, BuildTimer)> {
        let build_id = self.build(application_id, build_id).await?;
        let header = lookups::header_of(&self.ports, application_id, build_id).await?;
        let not_found = || NotFound::Timer { build_id, timer_id: timer_id.clone() };
        let ports = &self.ports;
        let switched = schedule::retrying!(application_id, {
            let current = ports.app_data.find_timer_schedule(application_id).await?;
            let timers = ports.app_data.list_build_timers(build_id).await?;
            let timer =
                timers.into_iter().find(|timer| timer.id() == *timer_id).ok_or_else(not_found)?;
            if timer.activated == activated {
                return Ok(timer);
            }
            let mut events = Vec::with_capacity(2);
            // Only the scheduled build's timers run: the scheduler hears of this one now.
            if current.build_id == Some(build_id) {
                let command = if activated { ScheduleCommand::Set } else { ScheduleCommand::Stop };
                events.push(DomainEvent::Timer {
                    command,
                    timer: timer.scheduled(application_id, header.workspace_id, build_id),
                });
            }
            events.push(AuditRecord::event(
                AuditAction::SwitchTimer,
                EntityRef::Build(build_id),
                application_id,
                header.workspace_id,
                principal,
                OffsetDateTime::now_utc(),
            ));
            let schedule = current.move_to(current.build_id);
            if !ports
                .app_data
                .switch_timer(build_id, timer_id, activated, &schedule, &events)
                .await?
            {
                return Err(not_found().into());
            }
            Ok(BuildTimer { activated, ..timer })
        })?;
        tracing::info!(app.id = %application_id, build.id = %build_id, timer.id = %timer_id, activated, "timer switched");
        Ok((build_id, switched))
    }

    /// `build_id` when given (a build of the application), else the global policy's build.
    async fn build(
        &self,
        application_id: ApplicationId,
        build_id: Option<BuildId>,
    ) -> DomainResult<BuildId> {
        if let Some(build_id) = build_id {
            return Ok(lookups::header_of(&self.ports, application_id, build_id).await?.id);
        }
        let policy = self
            .ports
            .app_data
            .find_active_policy(application_id)
            .await?
            .ok_or(NotFound::ActivePolicy(application_id))?;
        match &policy.target {
            PolicyTarget::Build(build_id) => Ok(*build_id),
            PolicyTarget::LatestOnBranch(branch) => self
                .ports
                .app_data
                .find_latest_build_on_branch(application_id, branch)
                .await?
                .map(|header| header.id)
                .ok_or_else(|| {
                    NotFound::BuildOnBranch { application_id, branch: branch.clone() }.into()
                }),
        }
    }
}
