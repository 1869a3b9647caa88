//! `ImportLedger`: claims with a lease, and the completion that commits an import.

use domain::model::{ApplicationId, BuildId};
use domain::ports::{AppDataRepository, ImportClaim};
use test_support::BuildFixture;
use time::{Duration, OffsetDateTime};

use crate::app_data::{assert_conflict, assert_no_events, pending_for, store_header, unchanged};
use crate::fixtures;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    a_claim_blocks_other_claims_until_it_expires(repo).await;
    a_released_claim_can_be_taken_again(repo).await;
    completing_an_import_stores_the_header_drops_the_claim_and_records_events(repo).await;
    completing_an_import_of_an_existing_build_is_a_conflict_and_changes_nothing(repo).await;
}

fn claim(build_id: BuildId, claimed_at: OffsetDateTime, lease: Duration) -> ImportClaim {
    ImportClaim {
        build_id,
        checksum: fixtures::checksum(),
        claimed_at,
        expires_at: claimed_at + lease,
    }
}

/// `Conflict` while another claim on the build has not expired at the new claim's
/// `claimed_at`; an expired claim is replaced.
pub async fn a_claim_blocks_other_claims_until_it_expires(repo: &dyn AppDataRepository) {
    let build_id = BuildId::random();
    let first = claim(build_id, fixtures::now(), Duration::minutes(15));
    repo.claim_import(&first).await.expect("the first claim on a fresh build id");

    let during = claim(build_id, first.claimed_at + Duration::minutes(1), Duration::minutes(15));
    assert_conflict(repo.claim_import(&during).await, "claiming a build while another claim holds");

    let after = claim(build_id, first.expires_at + Duration::seconds(1), Duration::minutes(15));
    repo.claim_import(&after).await.expect("a claim after the first expired replaces it");

    let during_replacement =
        claim(build_id, after.claimed_at + Duration::minutes(1), Duration::minutes(15));
    assert_conflict(
        repo.claim_import(&during_replacement).await,
        "claiming a build while the replacing claim holds",
    );
    repo.release_import(build_id).await.expect("release_import");
}

/// A released claim no longer blocks; releasing no claim is not an error.
pub async fn a_released_claim_can_be_taken_again(repo: &dyn AppDataRepository) {
    let build_id = BuildId::random();
    let now = fixtures::now();
    repo.claim_import(&claim(build_id, now, Duration::minutes(15))).await.expect("claim_import");

    repo.release_import(build_id).await.expect("release_import of a held claim");

    repo.claim_import(&claim(build_id, now, Duration::minutes(15)))
        .await
        .expect("claiming again after release");
    repo.release_import(build_id).await.expect("release_import");
    repo.release_import(build_id).await.expect("releasing a claim twice is not an error");
    repo.release_import(BuildId::random())
        .await
        .expect("releasing a claim nobody took is not an error");
}

/// The header is stored, the claim dropped (a new claim succeeds at once) and the events
/// recorded, all by one call.
pub async fn completing_an_import_stores_the_header_drops_the_claim_and_records_events(
    repo: &dyn AppDataRepository,
) {
    let header = BuildFixture::new(ApplicationId::random()).header();
    let now = fixtures::now();
    repo.claim_import(&claim(header.id, now, Duration::minutes(15))).await.expect("claim_import");
    let events = [fixtures::event(header.application_id)];

    let schedule = unchanged(repo, header.application_id).await;
    repo.complete_import(&header, &[], &schedule, &events).await.expect("complete_import");

    let found = repo.find_build_header(header.id).await.expect("find_build_header");
    assert_eq!(found.as_ref(), Some(&header), "a completed import stores its header");
    repo.claim_import(&claim(header.id, now, Duration::minutes(15)))
        .await
        .expect("completing an import drops its claim, so the id can be claimed again");
    repo.release_import(header.id).await.expect("release_import");
    let recorded: Vec<_> = pending_for(repo, header.application_id)
        .await
        .into_iter()
        .map(|record| record.event)
        .collect();
    assert_eq!(recorded, events, "completing an import records its events");
}

/// `Conflict` when the header exists: the stored header stays, nothing is recorded.
pub async fn completing_an_import_of_an_existing_build_is_a_conflict_and_changes_nothing(
    repo: &dyn AppDataRepository,
) {
    let header = BuildFixture::new(ApplicationId::random()).header();
    store_header(repo, &header).await;
    let mut other_content = header.clone();
    other_content.checksum = fixtures::checksum();
    other_content.name = "other content".to_owned();

    let schedule = unchanged(repo, header.application_id).await;
    let refused = repo
        .complete_import(&other_content, &[], &schedule, &[fixtures::event(header.application_id)])
        .await;

    assert_conflict(refused, "completing an import of a build whose header exists");
    let kept = repo.find_build_header(header.id).await.expect("find_build_header");
    assert_eq!(kept.as_ref(), Some(&header), "a refused completion leaves the stored header");
    assert_no_events(repo, header.application_id, "a refused completion").await;
}
