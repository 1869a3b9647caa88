//! `IdempotencyLedger`: the first build recorded under a key stays until it is forgotten.

use domain::design::model::IdempotencyKey;
use domain::model::{ApplicationId, BuildId};
use domain::ports::AppDataRepository;
use futures_util::future::join_all;

use crate::app_data::assert_conflict;
use crate::app_data::design_versions::assert_one_winner;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    the_first_build_recorded_under_a_key_stays_until_forgotten(repo).await;
    of_racing_records_of_one_key_exactly_one_wins(repo).await;
}

fn key() -> IdempotencyKey {
    IdempotencyKey::parse(&uuid::Uuid::new_v4().to_string()).expect("valid key")
}

/// Unused: `None`. Recorded: the build. Recorded again: `Conflict`, the first build stays.
/// The same key in another application is another key. Forgotten: unused again.
pub async fn the_first_build_recorded_under_a_key_stays_until_forgotten(
    repo: &dyn AppDataRepository,
) {
    let application_id = ApplicationId::random();
    let key = key();
    assert_eq!(repo.find_idempotent_build(application_id, &key).await.expect("find"), None);
    let first = BuildId::random();

    repo.record_idempotent_build(application_id, &key, first).await.expect("record");

    assert_eq!(repo.find_idempotent_build(application_id, &key).await.expect("find"), Some(first));
    assert_conflict(
        repo.record_idempotent_build(application_id, &key, BuildId::random()).await,
        "recording a used key again",
    );
    assert_eq!(repo.find_idempotent_build(application_id, &key).await.expect("find"), Some(first));
    let elsewhere = ApplicationId::random();
    repo.record_idempotent_build(elsewhere, &key, BuildId::random())
        .await
        .expect("a key is per application");
    repo.forget_idempotency_key(application_id, &key).await.expect("forget");
    assert_eq!(repo.find_idempotent_build(application_id, &key).await.expect("find"), None);
    repo.forget_idempotency_key(application_id, &key).await.expect("forgetting twice is Ok");
}

/// Racing records of one key: exactly one `Ok`, and its build is the one recorded.
pub async fn of_racing_records_of_one_key_exactly_one_wins(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();
    let key = key();
    let builds: Vec<BuildId> = (0..8).map(|_| BuildId::random()).collect();

    let results = join_all(
        builds.iter().map(|build_id| repo.record_idempotent_build(application_id, &key, *build_id)),
    )
    .await;

    let winner = results.iter().position(Result::is_ok).map(|i| builds[i]);
    assert_one_winner(results, "racing records of one key");
    assert_eq!(repo.find_idempotent_build(application_id, &key).await.expect("find"), winner);
}
