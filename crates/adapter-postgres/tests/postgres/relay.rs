//! Relay leadership: of two repositories on one schema (two replicas), only the one holding
//! the leadership gets pending events; the other takes over when the leader goes away.

use std::time::Duration;

use adapter_postgres::PgAppDataRepository;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use domain::model::{ApplicationId, ConfigOverride, OutboxRecord};
use domain::ports::Outbox;
use domain::runtime::ports::ConfigOverrideRepository;
use tokio::time::Instant;

use crate::support::{TestSchema, event};

/// Records one event about a fresh application through `repository`.
async fn record_one(repository: &PgAppDataRepository) -> ApplicationId {
    let application_id = ApplicationId::random();
    let none: [ConfigOverride; 0] = [];
    repository.put_config_overrides(&none, &[event(application_id)]).await.unwrap();
    application_id
}

fn about(records: &[OutboxRecord], application_id: ApplicationId) -> usize {
    records.iter().filter(|record| record.event.application_id() == application_id).count()
}

/// Polls `repository` until it gets pending events (PostgreSQL releases the old leader's
/// lock when it notices the session is gone), failing after ten seconds.
async fn pending_once_leader(repository: &PgAppDataRepository) -> Vec<OutboxRecord> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pending = repository.pending_events(100).await;
        if let Ok(records) = &pending
            && !records.is_empty()
        {
            return records.clone();
        }
        assert!(Instant::now() < deadline, "no leadership after 10 s; last answer {pending:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn only_the_leader_gets_pending_events_and_another_replica_takes_over_when_it_goes() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let first = schema.repository().await;
    let second = schema.repository().await;
    let application_id = record_one(&second).await;

    let led = first.pending_events(100).await.expect("pending_events of the first replica");
    let followed = second.pending_events(100).await.expect("pending_events of the second");

    assert_eq!(about(&led, application_id), 1, "the first to ask leads and gets the event");
    assert!(followed.is_empty(), "the other replica gets nothing while one leads: {followed:?}");
    assert!(first.is_relay_leader().await && !second.is_relay_leader().await);
    let again = second.pending_events(100).await.expect("pending_events of the second");
    assert!(again.is_empty(), "asking again does not take the leadership: {again:?}");

    drop(first);
    let taken_over = pending_once_leader(&second).await;

    assert_eq!(about(&taken_over, application_id), 1, "the unsent event goes to the new leader");
    assert!(second.is_relay_leader().await);
    drop(second);
    schema.drop().await;
}

#[tokio::test]
async fn a_leader_whose_session_dies_loses_the_leadership_to_another_replica() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let first = schema.repository().await;
    let second = schema.repository().await;
    let application_id = record_one(&first).await;
    assert_eq!(about(&first.pending_events(100).await.unwrap(), application_id), 1);
    assert!(second.pending_events(100).await.unwrap().is_empty());

    // What a network failure or a restarted database does to the leader's session.
    let mut admin = schema.admin_connection().await;
    let killed = diesel::sql_query(
        "SELECT pg_terminate_backend(pid)::text AS name FROM pg_locks \
         WHERE locktype = 'advisory' AND granted AND classid = x'52544D01'::int::oid \
         AND objid = (quote_ident($1) || '.outbox_events')::regclass::oid",
    )
    .bind::<Text, _>(&schema.name)
    .execute(&mut admin)
    .await
    .unwrap();
    assert_eq!(killed, 1, "the leader's session holds the lock");

    let taken_over = pending_once_leader(&second).await;
    assert_eq!(about(&taken_over, application_id), 1, "the new leader gets the unsent event");
    // The old leader finds its session dead, and then that another replica leads.
    let mut answers = Vec::new();
    for _ in 0..2 {
        answers.push(first.pending_events(100).await.map(|records| records.len()));
    }
    assert!(
        matches!(answers.last(), Some(Ok(0))),
        "the old leader gets nothing once another leads: {answers:?}"
    );
    assert!(!first.is_relay_leader().await);

    drop((first, second));
    schema.drop().await;
}

#[tokio::test]
async fn sent_events_are_never_pending_again_for_any_replica() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let first = schema.repository().await;
    let application_id = record_one(&first).await;
    let pending = first.pending_events(100).await.unwrap();
    let sequences: Vec<u64> = pending.iter().map(|record| record.sequence).collect();

    first.mark_events_sent(&sequences).await.unwrap();
    drop(first);
    let second = schema.repository().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !second.is_relay_leader().await {
        let pending = second.pending_events(100).await.unwrap();
        assert_eq!(about(&pending, application_id), 0, "a sent event is never pending again");
        assert!(Instant::now() < deadline, "no leadership after 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    drop(second);
    schema.drop().await;
}
