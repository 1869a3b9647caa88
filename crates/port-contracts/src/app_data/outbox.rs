//! `Outbox`: recorded events wait in order until they are marked sent.

use domain::model::{ApplicationId, ConfigOverride, DomainEvent};
use domain::ports::AppDataRepository;

use crate::app_data::{OUTBOX_SCAN, pending_for};
use crate::fixtures;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    recorded_events_are_pending_oldest_first(repo).await;
    pending_events_honour_the_limit(repo).await;
    events_marked_sent_are_never_pending_again(repo).await;
    events_recorded_on_their_own_are_pending_after_earlier_ones(repo).await;
    the_backlog_counts_pending_events_and_dates_the_oldest(repo).await;
}

/// Records three events about a fresh application in two writes; returns them in order.
async fn record_three(repo: &dyn AppDataRepository) -> (ApplicationId, Vec<DomainEvent>) {
    let application_id = ApplicationId::random();
    let events = vec![
        DomainEvent::ConfigOverridesUpdated { application_id, keys: vec![fixtures::key("first")] },
        DomainEvent::ConfigOverridesUpdated { application_id, keys: vec![fixtures::key("second")] },
        DomainEvent::ActivePolicyUpdated { application_id },
    ];
    let none: [ConfigOverride; 0] = [];
    repo.put_config_overrides(&none, &events[..2])
        .await
        .expect("put_config_overrides recording two events");
    repo.put_config_overrides(&none, &events[2..])
        .await
        .expect("put_config_overrides recording one event");
    (application_id, events)
}

/// Every pending list is in increasing sequence; a write's events come in the order given,
/// and a later write's after them.
pub async fn recorded_events_are_pending_oldest_first(repo: &dyn AppDataRepository) {
    let (application_id, events) = record_three(repo).await;

    let all = repo.pending_events(OUTBOX_SCAN).await.expect("pending_events");
    let mine = pending_for(repo, application_id).await;

    assert!(
        all.windows(2).all(|pair| pair[0].sequence < pair[1].sequence),
        "pending events come in increasing sequence"
    );
    let recorded: Vec<DomainEvent> = mine.iter().map(|record| record.event.clone()).collect();
    assert_eq!(recorded, events, "events are pending in the order they were recorded");
}

/// Never more than `limit`, and the oldest ones.
pub async fn pending_events_honour_the_limit(repo: &dyn AppDataRepository) {
    record_three(repo).await;

    let two = repo.pending_events(2).await.expect("pending_events(2)");
    let none = repo.pending_events(0).await.expect("pending_events(0)");
    let all = repo.pending_events(OUTBOX_SCAN).await.expect("pending_events");

    assert_eq!(two.len(), 2, "a limit of 2 with at least 3 pending gives 2");
    assert!(none.is_empty(), "a limit of 0 gives nothing, got {none:?}");
    assert_eq!(two, all[..2], "the limit keeps the oldest");
}

/// Marked events are gone from the pending ones, the others stay; unknown sequences and
/// marking twice are ignored.
pub async fn events_marked_sent_are_never_pending_again(repo: &dyn AppDataRepository) {
    let (application_id, _) = record_three(repo).await;
    let mine = pending_for(repo, application_id).await;

    repo.mark_events_sent(&[mine[0].sequence, mine[2].sequence]).await.expect("mark_events_sent");
    let left = pending_for(repo, application_id).await;
    assert_eq!(left, mine[1..2], "only the unmarked event stays pending");

    repo.mark_events_sent(&[mine[1].sequence, mine[0].sequence, u64::MAX])
        .await
        .expect("marking again and unknown sequences");
    let left = pending_for(repo, application_id).await;
    assert!(left.is_empty(), "every marked event is gone, found {left:?}");
}

/// `record_events` records without a change of state, in order, after what came before.
pub async fn events_recorded_on_their_own_are_pending_after_earlier_ones(
    repo: &dyn AppDataRepository,
) {
    let (application_id, mut events) = record_three(repo).await;
    let alone = [
        DomainEvent::ActivePolicyUpdated { application_id },
        DomainEvent::ConfigOverridesUpdated { application_id, keys: vec![fixtures::key("alone")] },
    ];
    repo.record_events(&alone).await.expect("record_events");
    repo.record_events(&[]).await.expect("record_events of nothing");

    let recorded: Vec<DomainEvent> =
        pending_for(repo, application_id).await.into_iter().map(|record| record.event).collect();
    events.extend(alone);
    assert_eq!(recorded, events, "events recorded alone come after the earlier ones, in order");
}

/// The backlog counts what is pending and dates the oldest of it.
/// Other tests may share the backend, so the checks are bounds, not exact counts.
pub async fn the_backlog_counts_pending_events_and_dates_the_oldest(repo: &dyn AppDataRepository) {
    let (application_id, _) = record_three(repo).await;
    let mine = pending_for(repo, application_id).await;
    let backlog = repo.backlog().await.expect("backlog");
    assert!(backlog.pending >= 3, "three events were just recorded, the backlog says {backlog:?}");
    let oldest = backlog.oldest_recorded_at.expect("a backlog with pending events has an oldest");
    assert!(
        oldest <= mine[0].recorded_at,
        "the oldest pending event is no younger than one still pending: {backlog:?} vs {:?}",
        mine[0].recorded_at
    );

    let sequences: Vec<u64> = mine.iter().map(|record| record.sequence).collect();
    repo.mark_events_sent(&sequences).await.expect("mark_events_sent");
    let after = repo.backlog().await.expect("backlog");
    if after.pending == 0 {
        assert_eq!(after.oldest_recorded_at, None, "nothing pending has no oldest: {after:?}");
    }
}
