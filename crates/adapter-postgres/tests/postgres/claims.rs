//! `claim_import` under concurrency: of two claims racing for one build id, one wins.

use std::sync::Arc;

use domain::model::{BuildId, Checksum, ImportOwner};
use domain::ports::{ImportClaim, ImportLedger, PortError};
use time::{Duration, OffsetDateTime};

use crate::support::{TestSchema, now};

fn claim(build_id: BuildId, claimed_at: OffsetDateTime) -> ImportClaim {
    let hex = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    ImportClaim {
        build_id,
        owner: ImportOwner::random(),
        checksum: Checksum::parse(&hex).unwrap(),
        claimed_at,
        expires_at: claimed_at + Duration::minutes(15),
    }
}

/// Runs the two claims at once on two tasks; returns how many won and how many conflicted.
async fn race(
    repository: &Arc<adapter_postgres::PgAppDataRepository>,
    first: ImportClaim,
    second: ImportClaim,
) -> (usize, usize) {
    let tasks = [first, second].map(|claim| {
        let repository = Arc::clone(repository);
        tokio::spawn(async move { repository.claim_import(&claim).await })
    });
    let mut won = 0;
    let mut conflicted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => won += 1,
            Err(PortError::Conflict(_)) => conflicted += 1,
            Err(other) => panic!("a racing claim failed: {other:?}"),
        }
    }
    (won, conflicted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_claims_on_a_fresh_build_exactly_one_wins() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let repository = Arc::new(schema.repository().await);

    for _ in 0..20 {
        let build_id = BuildId::random();
        let at = now();
        let outcome = race(&repository, claim(build_id, at), claim(build_id, at)).await;
        assert_eq!(outcome, (1, 1), "one claim wins and the other is a conflict");
    }

    drop(repository);
    schema.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_claims_replacing_an_expired_one_exactly_one_wins() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let repository = Arc::new(schema.repository().await);

    for _ in 0..20 {
        let build_id = BuildId::random();
        let stale = claim(build_id, now() - Duration::hours(1));
        repository.claim_import(&stale).await.expect("the first claim");
        let at = now();
        let outcome = race(&repository, claim(build_id, at), claim(build_id, at)).await;
        assert_eq!(outcome, (1, 1), "one claim replaces the expired one, the other conflicts");
    }

    drop(repository);
    schema.drop().await;
}
