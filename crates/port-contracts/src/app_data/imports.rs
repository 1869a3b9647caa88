//! `ImportLedger`: claims with a lease that their owner renews, and the completion that
//! commits an import.

use domain::model::{ApplicationId, BuildId, ImportOwner};
use domain::ports::{AppDataRepository, ImportClaim};
use test_support::BuildFixture;
use time::{Duration, OffsetDateTime};

use crate::app_data::{assert_conflict, assert_no_events, pending_for, store_header, unchanged};
use crate::fixtures;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    a_claim_blocks_other_claims_until_it_expires(repo).await;
    a_released_claim_can_be_taken_again(repo).await;
    renewing_a_claim_extends_it_for_its_owner_only(repo).await;
    an_expired_claim_nobody_took_over_is_renewed_by_its_owner(repo).await;
    a_claim_taken_over_is_out_of_its_old_owners_reach(repo).await;
    completing_an_import_stores_the_header_drops_the_claim_and_records_events(repo).await;
    completing_an_import_without_holding_the_claim_is_a_conflict_and_changes_nothing(repo).await;
    completing_an_import_of_an_existing_build_is_a_conflict_and_changes_nothing(repo).await;
}

fn claim(build_id: BuildId, claimed_at: OffsetDateTime, lease: Duration) -> ImportClaim {
    ImportClaim {
        build_id,
        owner: ImportOwner::random(),
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
    repo.release_import(build_id, after.owner).await.expect("release_import");
}

/// A released claim no longer blocks; releasing no claim is not an error.
pub async fn a_released_claim_can_be_taken_again(repo: &dyn AppDataRepository) {
    let build_id = BuildId::random();
    let now = fixtures::now();
    let held = claim(build_id, now, Duration::minutes(15));
    repo.claim_import(&held).await.expect("claim_import");

    repo.release_import(build_id, held.owner).await.expect("release_import of a held claim");

    let again = claim(build_id, now, Duration::minutes(15));
    repo.claim_import(&again).await.expect("claiming again after release");
    repo.release_import(build_id, again.owner).await.expect("release_import");
    repo.release_import(build_id, again.owner)
        .await
        .expect("releasing a claim twice is not an error");
    repo.release_import(BuildId::random(), ImportOwner::random())
        .await
        .expect("releasing a claim nobody took is not an error");
}

/// The owner's renewal moves the expiry (a claim that would have expired still blocks);
/// another owner's renewal is `Ok(false)` and changes nothing.
pub async fn renewing_a_claim_extends_it_for_its_owner_only(repo: &dyn AppDataRepository) {
    let build_id = BuildId::random();
    let held = claim(build_id, fixtures::now(), Duration::minutes(15));
    repo.claim_import(&held).await.expect("claim_import");

    let renewed = repo
        .renew_import(build_id, held.owner, held.expires_at + Duration::minutes(30))
        .await
        .expect("renew_import by the owner");
    let by_stranger = repo
        .renew_import(build_id, ImportOwner::random(), held.expires_at + Duration::hours(5))
        .await
        .expect("renew_import by another owner");

    assert!(renewed, "the owner renews its claim");
    assert!(!by_stranger, "another owner cannot renew the claim");
    let past_first_expiry =
        claim(build_id, held.expires_at + Duration::minutes(1), Duration::minutes(15));
    assert_conflict(
        repo.claim_import(&past_first_expiry).await,
        "claiming after the first expiry while the renewed claim holds",
    );
    let past_renewal =
        claim(build_id, held.expires_at + Duration::minutes(31), Duration::minutes(15));
    repo.claim_import(&past_renewal)
        .await
        .expect("the stranger's renewal did not extend the claim beyond the owner's");
    repo.release_import(build_id, past_renewal.owner).await.expect("release_import");
}

/// A claim past its expiry that no other import has taken is still its owner's to renew.
pub async fn an_expired_claim_nobody_took_over_is_renewed_by_its_owner(
    repo: &dyn AppDataRepository,
) {
    let build_id = BuildId::random();
    let now = fixtures::now();
    let expired = claim(build_id, now - Duration::minutes(20), Duration::minutes(15));
    repo.claim_import(&expired).await.expect("claim_import");

    let renewed = repo
        .renew_import(build_id, expired.owner, now + Duration::minutes(15))
        .await
        .expect("renew_import");

    assert!(renewed, "nobody took the claim over, so it is still the owner's");
    assert_conflict(
        repo.claim_import(&claim(build_id, now, Duration::minutes(15))).await,
        "claiming a build whose expired claim was renewed",
    );
    repo.release_import(build_id, expired.owner).await.expect("release_import");
}

/// Once another import has taken an expired claim over, its old owner can neither renew it
/// (`Ok(false)`), nor release it (the new claim stays), nor complete the import (`Conflict`,
/// no header stored); the new owner can.
pub async fn a_claim_taken_over_is_out_of_its_old_owners_reach(repo: &dyn AppDataRepository) {
    let header = BuildFixture::new(ApplicationId::random()).header();
    let now = fixtures::now();
    let old = claim(header.id, now - Duration::minutes(20), Duration::minutes(15));
    repo.claim_import(&old).await.expect("the old owner's claim");
    let new = claim(header.id, now, Duration::minutes(15));
    repo.claim_import(&new).await.expect("taking over the expired claim");

    let renewed = repo
        .renew_import(header.id, old.owner, now + Duration::hours(1))
        .await
        .expect("renew_import by the old owner");
    repo.release_import(header.id, old.owner).await.expect("release_import by the old owner");
    let schedule = unchanged(repo, header.application_id).await;
    let completed = repo
        .complete_import(
            &header,
            old.owner,
            &[],
            &schedule,
            &[fixtures::event(header.application_id)],
        )
        .await;

    assert!(!renewed, "the old owner cannot renew a claim taken over");
    assert_conflict(
        repo.claim_import(&claim(header.id, now + Duration::minutes(1), Duration::minutes(15)))
            .await,
        "claiming while the new owner's claim holds (the old owner's release left it)",
    );
    assert_conflict(completed, "completing an import whose claim was taken over");
    let stored = repo.find_build_header(header.id).await.expect("find_build_header");
    assert_eq!(stored, None, "the old owner's completion stores no header");
    assert_no_events(repo, header.application_id, "the old owner's completion").await;
    repo.complete_import(&header, new.owner, &[], &schedule, &[])
        .await
        .expect("the new owner completes");
}

/// The header is stored, the claim dropped (a new claim succeeds at once) and the events
/// recorded, all by one call.
pub async fn completing_an_import_stores_the_header_drops_the_claim_and_records_events(
    repo: &dyn AppDataRepository,
) {
    let header = BuildFixture::new(ApplicationId::random()).header();
    let now = fixtures::now();
    let held = claim(header.id, now, Duration::minutes(15));
    repo.claim_import(&held).await.expect("claim_import");
    let events = [fixtures::event(header.application_id)];

    let schedule = unchanged(repo, header.application_id).await;
    repo.complete_import(&header, held.owner, &[], &schedule, &events)
        .await
        .expect("complete_import");

    let found = repo.find_build_header(header.id).await.expect("find_build_header");
    assert_eq!(found.as_ref(), Some(&header), "a completed import stores its header");
    let next = claim(header.id, now, Duration::minutes(15));
    repo.claim_import(&next)
        .await
        .expect("completing an import drops its claim, so the id can be claimed again");
    repo.release_import(header.id, next.owner).await.expect("release_import");
    let recorded: Vec<_> = pending_for(repo, header.application_id)
        .await
        .into_iter()
        .map(|record| record.event)
        .collect();
    assert_eq!(recorded, events, "completing an import records its events");
}

/// `Conflict` when nobody claimed the build id, or when another owner holds the claim:
/// nothing is stored, nothing recorded, the other owner's claim stays.
pub async fn completing_an_import_without_holding_the_claim_is_a_conflict_and_changes_nothing(
    repo: &dyn AppDataRepository,
) {
    let header = BuildFixture::new(ApplicationId::random()).header();
    let events = [fixtures::event(header.application_id)];

    let schedule = unchanged(repo, header.application_id).await;
    let unclaimed =
        repo.complete_import(&header, ImportOwner::random(), &[], &schedule, &events).await;
    let held = claim(header.id, fixtures::now(), Duration::minutes(15));
    repo.claim_import(&held).await.expect("claim_import");
    let by_stranger =
        repo.complete_import(&header, ImportOwner::random(), &[], &schedule, &events).await;

    assert_conflict(unclaimed, "completing an import of a build id nobody claimed");
    assert_conflict(by_stranger, "completing an import another owner holds the claim of");
    let stored = repo.find_build_header(header.id).await.expect("find_build_header");
    assert_eq!(stored, None, "a refused completion stores no header");
    assert_no_events(repo, header.application_id, "a refused completion").await;
    assert!(
        repo.renew_import(header.id, held.owner, held.expires_at).await.expect("renew_import"),
        "the owner still holds its claim"
    );
    repo.release_import(header.id, held.owner).await.expect("release_import");
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
    let held = claim(header.id, fixtures::now(), Duration::minutes(15));
    repo.claim_import(&held).await.expect("a claim on the id of a stored build");

    let schedule = unchanged(repo, header.application_id).await;
    let refused = repo
        .complete_import(
            &other_content,
            held.owner,
            &[],
            &schedule,
            &[fixtures::event(header.application_id)],
        )
        .await;

    assert_conflict(refused, "completing an import of a build whose header exists");
    let kept = repo.find_build_header(header.id).await.expect("find_build_header");
    assert_eq!(kept.as_ref(), Some(&header), "a refused completion leaves the stored header");
    assert_no_events(repo, header.application_id, "a refused completion").await;
    repo.release_import(header.id, held.owner).await.expect("release_import");
}
