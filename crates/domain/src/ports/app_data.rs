//! Port for application data of both roles; PostgreSQL in production.
//!
//! The port is one bundle of small role traits, so that an adapter implements each role in
//! its own file and no trait grows into a god-port. Every write that the platform must hear
//! about takes its events and records them in the same transaction (the outbox).

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::design::ports::{
    ApplicationRepository, BranchRepository, ConfigDefaultsRepository, DependencyRepository,
    IdempotencyLedger, ResourceRepository, VersionRepository,
};
use crate::model::{
    ApplicationId, ApplicationKind, BranchName, BuildHeader, BuildId, BuildTimer, Checksum,
    DomainEvent, ImportOwner, OutboxBacklog, OutboxRecord, Page, PageRequest, ScheduleMove,
    TimerId, TimerSchedule,
};
use crate::ports::{HealthCheck, PortResult};
use crate::runtime::ports::{ConfigOverrideRepository, PolicyRepository};

/// Build headers: the installation's register of which builds exist.
#[async_trait]
pub trait BuildCatalog {
    /// The header of a build; `Ok(None)` when there is none.
    async fn find_build_header(&self, id: BuildId) -> PortResult<Option<BuildHeader>>;

    /// The builds of an application, newest first ([`BuildHeader::newest_first`]).
    async fn list_build_headers(
        &self,
        application_id: ApplicationId,
        page: PageRequest,
    ) -> PortResult<Page<BuildHeader>>;

    /// The newest build of a branch of an application; `Ok(None)` when the branch has none.
    async fn find_latest_build_on_branch(
        &self,
        application_id: ApplicationId,
        branch: &BranchName,
    ) -> PortResult<Option<BuildHeader>>;

    /// Whether the application is a project or a library, as its builds say; `Ok(None)`
    /// when no build of it is known.
    async fn find_application_kind(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Option<ApplicationKind>>;

    /// Removes a build's header and its timers, moves the application's timer schedule as
    /// `schedule` says and records `events`, all at once; `Ok(false)` when there was no
    /// header (nothing is written then).
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when the global policy or
    /// an override of the application names the build;
    /// [`PortError::Outdated`](crate::ports::PortError::Outdated) when the schedule is no
    /// longer at `schedule.expected_revision`. Nothing is written then.
    async fn delete_build_header(
        &self,
        id: BuildId,
        schedule: &ScheduleMove,
        events: &[DomainEvent],
    ) -> PortResult<bool>;
}

/// A claim on a build id while its import is under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportClaim {
    /// The build being imported.
    pub build_id: BuildId,
    /// The import attempt that holds it: only it renews, completes or releases the claim.
    pub owner: ImportOwner,
    /// The checksum of the archive being imported.
    pub checksum: Checksum,
    /// When the claim was taken.
    pub claimed_at: OffsetDateTime,
    /// After this instant the claim is stale (its importer died) and may be taken over;
    /// the importer pushes it back while it works ([`ImportLedger::renew_import`]).
    pub expires_at: OffsetDateTime,
}

/// The ledger of imports in progress, so that two imports of one build never interleave and
/// an import whose process died can be repeated. A claim is a lease its owner renews while it
/// writes (a heartbeat), so an import slower than the lease keeps it, and a dead importer's
/// claim expires.
#[async_trait]
pub trait ImportLedger {
    /// Takes the claim on `claim.build_id` for `claim.owner`.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when another claim on the
    /// build id has not yet expired at `claim.claimed_at`. An expired claim is replaced (taken
    /// over: its old owner can no longer renew, complete or release it).
    async fn claim_import(&self, claim: &ImportClaim) -> PortResult<()>;

    /// Moves the expiry of the claim on `build_id` to `expires_at` if `owner` still holds it,
    /// even past its expiry as long as no other import has taken it over; `Ok(false)` when it
    /// does not (taken over, completed or released): its import must stop writing.
    async fn renew_import(
        &self,
        build_id: BuildId,
        owner: ImportOwner,
        expires_at: OffsetDateTime,
    ) -> PortResult<bool>;

    /// Stores the header of an imported build with its timers (and their switches), drops
    /// `owner`'s claim on it, moves the application's timer schedule as `schedule` says and
    /// records `events`, all at once: the timers of a build exist exactly when its header does.
    ///
    /// # Errors
    ///
    /// [`PortError::Conflict`](crate::ports::PortError::Conflict) when a header with that
    /// build id exists already, or when `owner` does not hold the claim on it (another import
    /// took it over, or it was never taken); [`PortError::Outdated`](crate::ports::PortError::Outdated)
    /// when the schedule is no longer at `schedule.expected_revision`. Nothing is changed then.
    async fn complete_import(
        &self,
        header: &BuildHeader,
        owner: ImportOwner,
        timers: &[BuildTimer],
        schedule: &ScheduleMove,
        events: &[DomainEvent],
    ) -> PortResult<()>;

    /// Drops `owner`'s claim on a build id after a failed import. A claim another import
    /// holds stays; dropping no claim is not an error.
    async fn release_import(&self, build_id: BuildId, owner: ImportOwner) -> PortResult<()>;
}

/// The timer start events of builds, their switches, and which build's timers the
/// scheduler runs for each application ([`TimerSchedule`]). Every write that moves the
/// schedule is a compare-and-set on its revision, so two racing writes never both tell the
/// scheduler what to run.
#[async_trait]
pub trait TimerRegistry {
    /// The timers of a build, ordered by process definition id, then node id; empty when
    /// the build has none (or does not exist).
    async fn list_build_timers(&self, build_id: BuildId) -> PortResult<Vec<BuildTimer>>;

    /// The timer schedule of an application; [`TimerSchedule::unscheduled`] when none was
    /// ever written.
    async fn find_timer_schedule(&self, application_id: ApplicationId)
    -> PortResult<TimerSchedule>;

    /// Switches one timer of a build on or off, moves the schedule as `schedule` says and
    /// records `events`, all at once; `Ok(false)` when the build has no such timer (nothing
    /// is written then).
    ///
    /// # Errors
    ///
    /// [`PortError::Outdated`](crate::ports::PortError::Outdated) when the schedule is no
    /// longer at `schedule.expected_revision`; nothing is written then.
    async fn switch_timer(
        &self,
        build_id: BuildId,
        timer_id: &TimerId,
        activated: bool,
        schedule: &ScheduleMove,
        events: &[DomainEvent],
    ) -> PortResult<bool>;
}

/// Events recorded with changes, waiting to be delivered.
#[async_trait]
pub trait Outbox {
    /// Up to `limit` undelivered events, oldest first.
    async fn pending_events(&self, limit: usize) -> PortResult<Vec<OutboxRecord>>;

    /// Marks events delivered; they are never returned again. Unknown sequences are ignored.
    async fn mark_events_sent(&self, sequences: &[u64]) -> PortResult<()>;

    /// Records `events` that go with no change of state (an export is audited, yet writes
    /// nothing), in the order given, after every event recorded before.
    async fn record_events(&self, events: &[DomainEvent]) -> PortResult<()>;

    /// How many events are undelivered and when the oldest was recorded, on every replica
    /// (not only the one that delivers): what the relay's metrics report.
    async fn backlog(&self) -> PortResult<OutboxBacklog>;
}

/// Durable, transactional application data: the kernel's role traits (build headers, the
/// import ledger, timers, the outbox) joined with those of each context.
///
/// Implemented by `adapter_memory::InMemoryAppDataRepository` and
/// `adapter_postgres::PgAppDataRepository`; `port_contracts::app_data` pins down the
/// behaviour they must share.
pub trait AppDataRepository:
    BuildCatalog
    + ImportLedger
    + TimerRegistry
    + PolicyRepository
    + ConfigOverrideRepository
    + ApplicationRepository
    + BranchRepository
    + VersionRepository
    + ResourceRepository
    + DependencyRepository
    + ConfigDefaultsRepository
    + IdempotencyLedger
    + Outbox
    + HealthCheck
    + fmt::Debug
    + Send
    + Sync
    + 'static
{
}

impl<T> AppDataRepository for T where
    T: BuildCatalog
        + ImportLedger
        + TimerRegistry
        + PolicyRepository
        + ConfigOverrideRepository
        + ApplicationRepository
        + BranchRepository
        + VersionRepository
        + ResourceRepository
        + DependencyRepository
        + ConfigDefaultsRepository
        + IdempotencyLedger
        + Outbox
        + HealthCheck
        + fmt::Debug
        + Send
        + Sync
        + 'static
{
}

// Stops compiling if an edit makes the port unusable as `dyn AppDataRepository`.
const _: Option<&dyn AppDataRepository> = None;
