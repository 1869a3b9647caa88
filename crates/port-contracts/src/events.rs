//! Behaviour every `EventPublisher` must show.
//!
//! The port cannot be read back through itself, so the suite is in two parts: [`run_all`]
//! publishes and returns what it published; an adapter's test that can read its broker
//! (the in-memory ring, a Kafka consumer) passes what it read to
//! [`assert_published_in_order`]. The "unreachable broker is `Unavailable`" sentence needs
//! a broker that is down, which only each adapter's own tests can arrange.

use domain::model::{ApplicationId, DomainEvent, OutboxRecord};
use domain::ports::EventPublisher;

use crate::fixtures;

/// Runs every check of the port; returns the records it published, in order.
pub async fn run_all(publisher: &dyn EventPublisher) -> Vec<OutboxRecord> {
    crate::health::a_reachable_backend_answers_ping(publisher).await;
    publishing_nothing_is_ok(publisher).await;
    publishing_records_is_ok(publisher).await
}

/// An empty slice is `Ok` (the relay may find nothing pending).
pub async fn publishing_nothing_is_ok(publisher: &dyn EventPublisher) {
    publisher.publish(&[]).await.expect("publishing no record is Ok");
}

/// Records of every kind about a fresh application are accepted; returns them.
pub async fn publishing_records_is_ok(publisher: &dyn EventPublisher) -> Vec<OutboxRecord> {
    let application_id = ApplicationId::random();
    let build_id = domain::model::BuildId::random();
    let events = [
        DomainEvent::BuildImported {
            application_id,
            workspace_id: None,
            build_id,
            checksum: fixtures::checksum(),
        },
        DomainEvent::ConfigOverridesUpdated {
            application_id,
            keys: vec![fixtures::key("api.url")],
        },
        DomainEvent::ActivePolicyUpdated { application_id },
        DomainEvent::BuildDeleted { application_id, build_id },
    ];
    let records: Vec<OutboxRecord> = events
        .into_iter()
        .zip(1..)
        .map(|(event, sequence)| OutboxRecord { sequence, event, recorded_at: fixtures::now() })
        .collect();

    publisher.publish(&records).await.expect("publishing records is Ok");
    records
}

/// Asserts that every record of `sent` was delivered, in the order sent: `sent` is a
/// subsequence of `delivered`, which may hold other records and, since delivery is at
/// least once, repeats.
pub fn assert_published_in_order(delivered: &[OutboxRecord], sent: &[OutboxRecord]) {
    let mut rest = delivered.iter();
    for (position, record) in sent.iter().enumerate() {
        assert!(
            rest.any(|candidate| candidate == record),
            "record {position} of {} (sequence {}) was not delivered after the ones before it; delivered: {delivered:?}",
            sent.len(),
            record.sequence,
        );
    }
}
