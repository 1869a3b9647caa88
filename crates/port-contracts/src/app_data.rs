//! Behaviour every `AppDataRepository` must show, one module per role trait.
//!
//! Rows are found by fresh application and build ids; events by the application they are
//! about, among whatever else the outbox holds.

pub mod catalog;
pub mod config;
pub mod design_applications;
pub mod design_branches;
pub mod design_config;
pub mod design_dependencies;
mod design_fixtures;
pub mod design_idempotency;
pub mod design_resources;
pub mod design_versions;
pub mod imports;
pub mod outbox;
pub mod policies;
pub mod timers;

use domain::model::{ApplicationId, BuildHeader, ImportOwner, OutboxRecord, ScheduleMove};
use domain::ports::{AppDataRepository, ImportClaim, PortError};

/// How many pending events a check reads to find its own: a shared store may hold others'.
const OUTBOX_SCAN: usize = 100_000;

/// Runs every check of the port.
pub async fn run_all(repo: &dyn AppDataRepository) {
    crate::health::a_reachable_backend_answers_ping(repo).await;
    catalog::run_all(repo).await;
    imports::run_all(repo).await;
    policies::run_all(repo).await;
    timers::run_all(repo).await;
    config::run_all(repo).await;
    design_applications::run_all(repo).await;
    design_branches::run_all(repo).await;
    design_versions::run_all(repo).await;
    design_resources::run_all(repo).await;
    design_dependencies::run_all(repo).await;
    design_config::run_all(repo).await;
    design_idempotency::run_all(repo).await;
    outbox::run_all(repo).await;
}

/// The pending events about `application_id`, oldest first.
async fn pending_for(
    repo: &dyn AppDataRepository,
    application_id: ApplicationId,
) -> Vec<OutboxRecord> {
    repo.pending_events(OUTBOX_SCAN)
        .await
        .expect("pending_events")
        .into_iter()
        .filter(|record| record.event.application_id() == application_id)
        .collect()
}

/// Asserts that nothing recorded an event about `application_id`.
async fn assert_no_events(
    repo: &dyn AppDataRepository,
    application_id: ApplicationId,
    context: &str,
) {
    let recorded = pending_for(repo, application_id).await;
    assert!(recorded.is_empty(), "{context}: expected no recorded event, found {recorded:?}");
}

/// Stores a header the way an import does (claim, then complete) and records no event.
async fn store_header(repo: &dyn AppDataRepository, header: &BuildHeader) {
    let owner = claimed(repo, header).await;
    let schedule = unchanged(repo, header.application_id).await;
    repo.complete_import(header, owner, &[], &schedule, &[])
        .await
        .unwrap_or_else(|err| panic!("complete_import of a fresh build: {err:?}"));
}

/// Takes a fresh claim on `header`'s build id, as an import does before completing it.
async fn claimed(repo: &dyn AppDataRepository, header: &BuildHeader) -> ImportOwner {
    let now = crate::fixtures::now();
    let claim = ImportClaim {
        build_id: header.id,
        owner: ImportOwner::random(),
        checksum: header.checksum.clone(),
        claimed_at: now,
        expires_at: now + time::Duration::minutes(15),
    };
    repo.claim_import(&claim)
        .await
        .unwrap_or_else(|err| panic!("claim_import of a fresh build: {err:?}"));
    claim.owner
}

/// The move that keeps the application's timer schedule where it is: what every write that
/// is not about timers passes.
async fn unchanged(repo: &dyn AppDataRepository, application_id: ApplicationId) -> ScheduleMove {
    let current = repo.find_timer_schedule(application_id).await.expect("find_timer_schedule");
    current.move_to(current.build_id)
}

/// Asserts that `result` is a [`PortError::Conflict`].
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, PortError>, context: &str) {
    match result {
        Err(PortError::Conflict(_)) => {}
        other => panic!("{context}: expected PortError::Conflict, got {other:?}"),
    }
}
