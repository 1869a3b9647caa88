//! Which build's timers the platform's scheduler runs for an application: always those of
//! the build of the **global** policy (overrides never start timers), and never two builds'.
//!
//! Every write that can change that build (a policy set, a build stored or deleted) or a
//! timer of it (a switch) plans here what the scheduler must be told — `stop` for every
//! timer of the build it runs now, `set` for every activated timer of the build it runs
//! next, nothing when the build stays — and hands the plan to the store with its change:
//! the events go to the outbox in the change's own transaction, together with a
//! compare-and-set of the application's [`TimerSchedule`]. A write whose plan was computed
//! from a schedule that another write moved meanwhile writes nothing and is planned again
//! ([`retrying`]), so the scheduler hears the changes in the order they were made.

use crate::error::Conflict;
use crate::model::{
    ActivePolicy, ApplicationId, BranchName, BuildHeader, BuildId, BuildTimer, DomainEvent,
    PageRequest, PolicyTarget, ScheduleCommand, ScheduleMove, TimerSchedule,
};
use crate::ports::Ports;
use crate::{DomainError, DomainResult};

/// Attempts of a write that keeps losing the race for the schedule before it gives up with
/// `concurrent_change`. Each loss means another write of the application went through, so
/// a write racing N others loses at most N times: 32 covers any burst an operator or a
/// pipeline makes on one application (the PostgreSQL race test runs 12 at once).
const MAX_ATTEMPTS: usize = 32;

/// What a write records for the scheduler.
#[derive(Debug)]
pub(crate) struct SchedulePlan {
    /// The compare-and-set of the schedule.
    pub(crate) schedule: ScheduleMove,
    /// `stop`s of the old build's timers, then `set`s of the new one's; empty when the
    /// build stays.
    pub(crate) events: Vec<DomainEvent>,
}

/// A build a write is storing: its header and timers are not in the store yet.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Incoming<'a> {
    pub(crate) header: &'a BuildHeader,
    pub(crate) timers: &'a [BuildTimer],
}

/// Counts the attempts of a write that reads the schedule, plans and writes: see [`retrying`].
#[derive(Debug)]
pub(crate) struct Attempts {
    application_id: ApplicationId,
    attempt: usize,
}

impl Attempts {
    pub(crate) fn new(application_id: ApplicationId) -> Self {
        Self { application_id, attempt: 1 }
    }

    /// `None` when `result` lost the race for the schedule and another attempt is due;
    /// else the result to keep.
    pub(crate) fn settle<T>(&mut self, result: DomainResult<T>) -> Option<DomainResult<T>> {
        match result {
            Err(DomainError::Conflict(Conflict::ConcurrentChange(reason)))
                if self.attempt < MAX_ATTEMPTS =>
            {
                tracing::debug!(app.id = %self.application_id, attempt = self.attempt, reason, "the timer schedule moved; planning again");
                self.attempt += 1;
                None
            }
            other => Some(other),
        }
    }
}

/// Runs the block `$write` (an async block's body that reads the schedule, plans, and
/// writes, ending in a `DomainResult`) again while it loses the race for the schedule, up to
/// [`MAX_ATTEMPTS`] times. A macro, not a function taking an async closure: the futures of
/// async closures are not provably `Send`, and the use cases' futures must be.
macro_rules! retrying {
    ($application_id:expr, $write:block) => {{
        let mut attempts = $crate::schedule::Attempts::new($application_id);
        loop {
            let result: $crate::DomainResult<_> = async $write.await;
            if let Some(done) = attempts.settle(result) {
                break done;
            }
        }
    }};
}
pub(crate) use retrying;

/// The plan that moves `current` to `after` (the global build once the write is done).
pub(crate) async fn plan(
    ports: &Ports,
    current: &TimerSchedule,
    after: Option<BuildId>,
    incoming: Option<Incoming<'_>>,
) -> DomainResult<SchedulePlan> {
    let schedule = current.move_to(after);
    let mut events = Vec::new();
    if current.build_id == after {
        return Ok(SchedulePlan { schedule, events });
    }
    if let Some(old) = current.build_id {
        // Every timer, switched off or not: a stop of a stopped timer is harmless, a stop
        // missed would leave one running.
        let (header, timers) = stored(ports, old).await?;
        let workspace_id = header.and_then(|header| header.workspace_id);
        events.extend(timers.iter().map(|timer| DomainEvent::Timer {
            command: ScheduleCommand::Stop,
            timer: timer.scheduled(current.application_id, workspace_id, old),
        }));
    }
    if let Some(new) = after {
        let (header, timers) = match incoming {
            Some(incoming) if incoming.header.id == new => {
                let mut timers = incoming.timers.to_vec();
                timers.sort_by_key(BuildTimer::id);
                (Some(incoming.header.clone()), timers)
            }
            _ => stored(ports, new).await?,
        };
        let workspace_id = header.and_then(|header| header.workspace_id);
        events.extend(timers.iter().filter(|timer| timer.activated).map(|timer| {
            DomainEvent::Timer {
                command: ScheduleCommand::Set,
                timer: timer.scheduled(current.application_id, workspace_id, new),
            }
        }));
    }
    Ok(SchedulePlan { schedule, events })
}

async fn stored(
    ports: &Ports,
    build_id: BuildId,
) -> DomainResult<(Option<BuildHeader>, Vec<BuildTimer>)> {
    let header = ports.app_data.find_build_header(build_id).await?;
    let timers = ports.app_data.list_build_timers(build_id).await?;
    Ok((header, timers))
}

/// The build a global policy names now; `None` for a branch without builds.
pub(crate) async fn build_of_policy(
    ports: &Ports,
    application_id: ApplicationId,
    target: &PolicyTarget,
) -> DomainResult<Option<BuildId>> {
    Ok(match target {
        PolicyTarget::Build(build_id) => Some(*build_id),
        PolicyTarget::LatestOnBranch(branch) => ports
            .app_data
            .find_latest_build_on_branch(application_id, branch)
            .await?
            .map(|header| header.id),
    })
}

/// The global build once `incoming` is stored: it becomes the global build when the policy
/// follows its branch and it is the newest build there.
pub(crate) async fn global_build_with(
    ports: &Ports,
    policy: Option<&ActivePolicy>,
    incoming: &BuildHeader,
) -> DomainResult<Option<BuildId>> {
    let Some(policy) = policy else { return Ok(None) };
    match &policy.target {
        PolicyTarget::LatestOnBranch(branch) if *branch == incoming.branch => {
            let latest =
                ports.app_data.find_latest_build_on_branch(incoming.application_id, branch).await?;
            Ok(Some(match latest {
                Some(latest) if BuildHeader::newest_first(&latest, incoming).is_lt() => latest.id,
                _ => incoming.id,
            }))
        }
        target => build_of_policy(ports, incoming.application_id, target).await,
    }
}

/// The global build once `deleted` is gone: the next newest of its branch when the policy
/// follows the branch and it was the newest there. (A policy naming it refuses the delete.)
pub(crate) async fn global_build_without(
    ports: &Ports,
    policy: Option<&ActivePolicy>,
    deleted: &BuildHeader,
) -> DomainResult<Option<BuildId>> {
    let Some(policy) = policy else { return Ok(None) };
    let global = build_of_policy(ports, deleted.application_id, &policy.target).await?;
    match &policy.target {
        PolicyTarget::LatestOnBranch(branch) if global == Some(deleted.id) => {
            next_newest_on_branch(ports, deleted.application_id, branch, deleted.id).await
        }
        _ => Ok(global),
    }
}

/// The newest build of `branch` other than `excluded`, read newest first a page at a time
/// (deleting the newest build of a followed branch is rare; the page is usually the first).
async fn next_newest_on_branch(
    ports: &Ports,
    application_id: ApplicationId,
    branch: &BranchName,
    excluded: BuildId,
) -> DomainResult<Option<BuildId>> {
    let mut page_number = 0;
    loop {
        let request = PageRequest::new(page_number, PageRequest::MAX_SIZE)?;
        let page = ports.app_data.list_build_headers(application_id, request).await?;
        if let Some(found) =
            page.items.iter().find(|header| header.branch == *branch && header.id != excluded)
        {
            return Ok(Some(found.id));
        }
        if page.items.len() < PageRequest::MAX_SIZE as usize {
            return Ok(None);
        }
        page_number += 1;
    }
}
