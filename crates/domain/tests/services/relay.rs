//! `OutboxRelay`: recorded events reach the publisher in order, at least once.

use adapter_memory::FailureKind;
use domain::model::{ApplicationId, PolicyTarget};
use test_support::BuildFixture;

use crate::helpers::{Env, code_of};

/// Records a handful of events: an import and a policy change.
async fn some_changes(env: &Env) {
    let application_id = ApplicationId::random();
    let live = BuildFixture::new(application_id).resources(1).build();
    env.import(&live).await;
    env.set_policy(application_id, PolicyTarget::Build(live.id())).await;
}

#[tokio::test]
async fn pending_events_are_delivered_in_order_and_marked_sent() {
    let env = Env::new();
    some_changes(&env).await;
    let pending = env.pending().await;

    let delivered = env.relay.deliver_pending(100).await.expect("deliver");

    assert_eq!(delivered, pending.len());
    assert_eq!(env.fakes.events.published(), pending, "every event, in outbox order");
    assert!(env.pending().await.is_empty(), "delivered events are marked sent");
    assert_eq!(
        env.relay.deliver_pending(100).await.expect("deliver again"),
        0,
        "nothing is delivered twice"
    );
    assert_eq!(env.fakes.events.published().len(), pending.len());
}

#[tokio::test]
async fn a_limited_delivery_takes_the_oldest_events() {
    let env = Env::new();
    some_changes(&env).await;
    let pending = env.pending().await;

    let delivered = env.relay.deliver_pending(2).await.expect("deliver");

    assert_eq!(delivered, 2);
    assert_eq!(env.fakes.events.published(), pending[..2]);
    assert_eq!(env.pending().await, pending[2..], "the rest waits");
}

#[tokio::test]
async fn when_the_publisher_fails_nothing_is_marked_and_a_later_call_delivers() {
    let env = Env::new();
    some_changes(&env).await;
    let pending = env.pending().await;
    env.fakes.events.fail_next_with(FailureKind::Unavailable);

    let failed = env.relay.deliver_pending(100).await;

    assert_eq!(code_of(failed), "service_unavailable");
    assert_eq!(env.pending().await, pending, "nothing is marked sent");
    assert!(env.fakes.events.published().is_empty());
    let delivered = env.relay.deliver_pending(100).await.expect("deliver after recovery");
    assert_eq!(delivered, pending.len());
    assert_eq!(env.fakes.events.published(), pending, "delivered in order after all");
    assert!(env.pending().await.is_empty());
}

#[tokio::test]
async fn an_empty_outbox_delivers_nothing() {
    let env = Env::new();

    assert_eq!(env.relay.deliver_pending(100).await.expect("deliver"), 0);
    assert!(env.fakes.events.published().is_empty());
}
