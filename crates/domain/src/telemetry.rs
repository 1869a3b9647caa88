//! rtm's own metrics recorded by the use cases, through the `metrics` facade (as `tracing`
//! for logs: whatever recorder the process installed receives them; none, and they cost
//! nothing). Names and labels live here, in one place; docs/OPERATIONS.md lists them.

use std::time::Instant;

use time::OffsetDateTime;

use crate::DomainError;
use crate::model::OutboxBacklog;

/// Metric names and label keys of the domain.
pub mod names {
    /// Histogram: seconds to resolve the build live for a caller; label [`RESULT`]
    /// (`resolved`, or the error code: `no_active_policy`, `no_build_on_branch`, …).
    pub const RESOLUTION_SECONDS: &str = "rtm_resolution_seconds";
    /// Counter: cache reads; labels [`CACHE`] (`build`, `policy_snapshot`) and [`RESULT`]
    /// (`hit`, `miss`, `error`: a cache failure is read as a miss).
    pub const CACHE_GETS_TOTAL: &str = "rtm_cache_gets_total";
    /// Gauge: events recorded and not yet delivered.
    pub const OUTBOX_PENDING_EVENTS: &str = "rtm_outbox_pending_events";
    /// Gauge: age in seconds of the oldest undelivered event (0 when none).
    pub const OUTBOX_OLDEST_PENDING_AGE_SECONDS: &str = "rtm_outbox_oldest_pending_age_seconds";
    /// Histogram: seconds to store an imported build; label [`OUTCOME`].
    pub const BUILD_IMPORT_SECONDS: &str = "rtm_build_import_seconds";
    /// Counter: imports refused, by [`CODE`].
    pub const BUILD_IMPORT_REFUSALS_TOTAL: &str = "rtm_build_import_refusals_total";
    /// Histogram: seconds to create a build from a committed version; label [`OUTCOME`].
    pub const BUILD_CREATION_SECONDS: &str = "rtm_build_creation_seconds";
    /// Counter: build creations refused, by [`CODE`].
    pub const BUILD_CREATION_REFUSALS_TOTAL: &str = "rtm_build_creation_refusals_total";

    /// Label: how a resolution or a cache read ended.
    pub const RESULT: &str = "result";
    /// Label: which cache.
    pub const CACHE: &str = "cache";
    /// Label: `created`, `unchanged` (the same build was there), `refused` (a client error:
    /// invalid, not found, conflict) or `failed` (a backend failed).
    pub const OUTCOME: &str = "outcome";
    /// Label: the stable error code of a refusal (docs/API.md).
    pub const CODE: &str = "code";
}

/// The caches of [`names::CACHE_GETS_TOTAL`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum CacheName {
    /// Builds by id.
    Build,
    /// Resolution snapshots by application.
    PolicySnapshot,
}

impl CacheName {
    fn as_str(self) -> &'static str {
        match self {
            Self::Build => "build",
            Self::PolicySnapshot => "policy_snapshot",
        }
    }
}

/// How a cache read ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CacheResult {
    Hit,
    Miss,
    Error,
}

pub(crate) fn cache_get(cache: CacheName, result: CacheResult) {
    let result = match result {
        CacheResult::Hit => "hit",
        CacheResult::Miss => "miss",
        CacheResult::Error => "error",
    };
    metrics::counter!(names::CACHE_GETS_TOTAL, names::CACHE => cache.as_str(), names::RESULT => result)
        .increment(1);
}

/// Records a resolution that started at `started`.
pub(crate) fn resolution<T>(started: Instant, result: &Result<T, DomainError>) {
    let result = match result {
        Ok(_) => "resolved",
        Err(err) => err.code(),
    };
    metrics::histogram!(names::RESOLUTION_SECONDS, names::RESULT => result)
        .record(started.elapsed().as_secs_f64());
}

/// Which of the two ways a build is stored.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BuildStore {
    Import,
    Creation,
}

/// Records an import or a creation that started at `started` and ended `created` (a new
/// build), unchanged (`Ok(false)`: it was there already) or with an error.
pub(crate) fn build_stored(
    store: BuildStore,
    started: Instant,
    result: Result<bool, &DomainError>,
) {
    let (seconds, refusals) = match store {
        BuildStore::Import => (names::BUILD_IMPORT_SECONDS, names::BUILD_IMPORT_REFUSALS_TOTAL),
        BuildStore::Creation => {
            (names::BUILD_CREATION_SECONDS, names::BUILD_CREATION_REFUSALS_TOTAL)
        }
    };
    let outcome = match result {
        Ok(true) => "created",
        Ok(false) => "unchanged",
        Err(err) if is_refusal(err) => {
            metrics::counter!(refusals, names::CODE => err.code()).increment(1);
            "refused"
        }
        Err(_) => "failed",
    };
    metrics::histogram!(seconds, names::OUTCOME => outcome).record(started.elapsed().as_secs_f64());
}

/// A refusal is the caller's to fix (what it sent, or the state it met); a failure is the
/// service's.
fn is_refusal(err: &DomainError) -> bool {
    matches!(
        err,
        DomainError::Invalid(_)
            | DomainError::NotFound(_)
            | DomainError::Conflict(_)
            | DomainError::Unauthenticated(_)
    )
}

/// Records what the outbox holds undelivered, as of `now`.
pub(crate) fn outbox_backlog(backlog: &OutboxBacklog, now: OffsetDateTime) {
    // Gauges are f64; a backlog beyond 2^53 events would be the least of anyone's problems.
    #[allow(clippy::cast_precision_loss, reason = "a gauge value; exact below 2^53")]
    metrics::gauge!(names::OUTBOX_PENDING_EVENTS).set(backlog.pending as f64);
    let age =
        backlog.oldest_recorded_at.map_or(0.0, |oldest| (now - oldest).as_seconds_f64().max(0.0));
    metrics::gauge!(names::OUTBOX_OLDEST_PENDING_AGE_SECONDS).set(age);
}

/// Describes the domain's metrics (their `# HELP` lines) to the installed recorder.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        names::RESOLUTION_SECONDS,
        Unit::Seconds,
        "Resolution of the build live for a caller, by result (resolved or the error code)"
    );
    describe_counter!(
        names::CACHE_GETS_TOTAL,
        "Cache reads by cache and result (hit, miss, error)"
    );
    describe_gauge!(names::OUTBOX_PENDING_EVENTS, "Events recorded and not yet delivered to Kafka");
    describe_gauge!(
        names::OUTBOX_OLDEST_PENDING_AGE_SECONDS,
        Unit::Seconds,
        "Age of the oldest undelivered event (0 when none)"
    );
    describe_histogram!(
        names::BUILD_IMPORT_SECONDS,
        Unit::Seconds,
        "Storing an imported build, by outcome (created, unchanged, refused, failed)"
    );
    describe_counter!(names::BUILD_IMPORT_REFUSALS_TOTAL, "Imports refused, by error code");
    describe_histogram!(
        names::BUILD_CREATION_SECONDS,
        Unit::Seconds,
        "Creating a build from a committed version, by outcome (created, unchanged, refused, failed)"
    );
    describe_counter!(
        names::BUILD_CREATION_REFUSALS_TOTAL,
        "Build creations refused, by error code"
    );
}
