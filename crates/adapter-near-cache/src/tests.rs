//! The near cache's own rules: the generation rule in the near level and across levels,
//! the bound on its size, the applied revision.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use adapter_memory::InMemoryCache;
use domain::model::{BuildId, PolicyOverride, PolicyOverrideId, PolicyTarget, SubjectType};
use port_contracts::cache::{snapshot_at, summary};

use super::*;

const TTL: Duration = Duration::from_secs(300);

fn alone(max_mb: u64) -> NearCache {
    NearCache::new(NearCacheConfig::new(max_mb, TTL), None)
}

fn over(shared: &Arc<InMemoryCache>) -> NearCache {
    NearCache::new(NearCacheConfig::new(64, TTL), Some(shared.clone() as Arc<dyn Cache>))
}

/// A snapshot with `n` USER overrides.
fn snapshot_with_overrides(application_id: ApplicationId, n: usize) -> Arc<PolicySnapshot> {
    let overrides = (0..n)
        .map(|i| PolicyOverride {
            id: PolicyOverrideId::random(),
            application_id,
            subject_type: SubjectType::User,
            subject_id: format!("user-{i:08}"),
            target: PolicyTarget::Build(BuildId::random()),
            updated_by: "admin".to_owned(),
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        })
        .collect();
    Arc::new(PolicySnapshot::new(1, None, overrides, BTreeMap::new()))
}

#[tokio::test]
async fn a_stale_put_after_an_eviction_is_refused_and_a_newer_one_kept() {
    let cache = alone(64);
    let application_id = ApplicationId::random();
    let read_before_the_change = snapshot_at(application_id, 40);

    cache.evict_policy_snapshot(application_id, 41).await.unwrap();
    cache.put_policy_snapshot(application_id, read_before_the_change).await.unwrap();
    assert_eq!(cache.get_policy_snapshot(application_id).await.unwrap(), None);

    let read_after = snapshot_at(application_id, 41);
    cache.put_policy_snapshot(application_id, read_after.clone()).await.unwrap();
    let found = cache.get_policy_snapshot(application_id).await.unwrap().unwrap();
    assert!(Arc::ptr_eq(&found, &read_after), "a hit hands out the stored Arc, no copy");
}

#[tokio::test]
async fn a_snapshot_in_the_shared_level_older_than_a_heard_eviction_is_a_miss() {
    let shared = Arc::new(InMemoryCache::new());
    let application_id = ApplicationId::random();
    // Another replica stored this before the change; this replica then hears the change
    // (the Kafka listener) before the shared level forgot the old value.
    shared.put_policy_snapshot(application_id, snapshot_at(application_id, 5)).await.unwrap();
    let cache = over(&shared);
    cache.floors().insert(application_id, 6);

    assert_eq!(cache.get_policy_snapshot(application_id).await.unwrap(), None);

    let newer = snapshot_at(application_id, 6);
    cache.put_policy_snapshot(application_id, newer.clone()).await.unwrap();
    assert_eq!(cache.get_policy_snapshot(application_id).await.unwrap(), Some(newer.clone()));
    assert_eq!(
        shared.get_policy_snapshot(application_id).await.unwrap(),
        Some(newer),
        "a put reaches the shared level too"
    );
}

#[tokio::test]
async fn a_near_miss_is_filled_from_the_shared_level_and_an_eviction_reaches_both() {
    let shared = Arc::new(InMemoryCache::new());
    let cache = over(&shared);
    let application_id = ApplicationId::random();
    let stored = snapshot_at(application_id, 9);
    shared.put_policy_snapshot(application_id, stored.clone()).await.unwrap();

    assert_eq!(cache.get_policy_snapshot(application_id).await.unwrap(), Some(stored.clone()));
    let near = cache.near.as_ref().unwrap().snapshots.get(&application_id);
    assert_eq!(near, Some(stored), "the shared answer is kept near");
    assert_eq!(cache.applied_revision(), 9, "a loaded snapshot's revision is applied");

    cache.evict_policy_snapshot(application_id, 12).await.unwrap();
    assert_eq!(cache.get_policy_snapshot(application_id).await.unwrap(), None);
    assert_eq!(shared.get_policy_snapshot(application_id).await.unwrap(), None);
    assert_eq!(cache.applied_revision(), 12, "an eviction's revision is applied");
}

#[tokio::test]
async fn a_deleted_builds_summary_is_refused_near_and_from_the_shared_level() {
    let shared = Arc::new(InMemoryCache::new());
    let cache = over(&shared);
    let deleted = summary();
    cache.put_build_summary(deleted.clone()).await.unwrap();
    cache.evict_build(deleted.id()).await.unwrap();

    cache.put_build_summary(deleted.clone()).await.unwrap();
    assert_eq!(cache.get_build_summary(deleted.id()).await.unwrap(), None);

    // Even if the shared level still had it, the near tombstone refuses it.
    let elsewhere = Arc::new(InMemoryCache::new());
    elsewhere.put_build_summary(deleted.clone()).await.unwrap();
    let late = over(&elsewhere);
    late.evict_build(deleted.id()).await.unwrap();
    elsewhere.put_build_summary(deleted.clone()).await.unwrap();
    assert_eq!(late.get_build_summary(deleted.id()).await.unwrap(), None);
}

#[tokio::test]
async fn the_near_level_stays_within_its_bound_and_weighs_overrides() {
    let cache = alone(1);
    let small = snapshot_with_overrides(ApplicationId::random(), 1);
    let large = snapshot_with_overrides(ApplicationId::random(), 1000);
    assert!(
        snapshot_weight(&ApplicationId::random(), &large)
            > 100 * snapshot_weight(&ApplicationId::random(), &small),
        "a snapshot's weight grows with its overrides"
    );

    for _ in 0..50 {
        let application_id = ApplicationId::random();
        cache
            .put_policy_snapshot(application_id, snapshot_with_overrides(application_id, 100))
            .await
            .unwrap();
    }
    for _ in 0..2_000 {
        cache.put_build_summary(summary()).await.unwrap();
    }

    let held = cache.weighted_size();
    assert!(held > 0, "it holds something");
    assert!(held <= 1024 * 1024, "it holds {held} bytes, more than its 1 MiB");
}

#[tokio::test]
async fn a_disabled_near_level_passes_everything_to_the_shared_one() {
    let shared = Arc::new(InMemoryCache::new());
    let cache =
        NearCache::new(NearCacheConfig::new(0, TTL), Some(shared.clone() as Arc<dyn Cache>));
    let application_id = ApplicationId::random();
    let stored = snapshot_at(application_id, 3);
    cache.put_policy_snapshot(application_id, stored.clone()).await.unwrap();

    assert!(cache.near.is_none());
    assert_eq!(shared.get_policy_snapshot(application_id).await.unwrap(), Some(stored.clone()));
    assert_eq!(cache.get_policy_snapshot(application_id).await.unwrap(), Some(stored));
    assert_eq!(cache.weighted_size(), 0);
}

#[tokio::test]
async fn a_failing_shared_level_is_an_error_the_services_take_for_a_miss_while_near_hits_go_on() {
    let shared = Arc::new(InMemoryCache::new());
    let cache = over(&shared);
    let application_id = ApplicationId::random();
    let stored = snapshot_at(application_id, 3);
    cache.put_policy_snapshot(application_id, stored.clone()).await.unwrap();

    shared.fail_next_with(adapter_memory::FailureKind::Unavailable);
    assert_eq!(cache.get_policy_snapshot(application_id).await.unwrap(), Some(stored));
    assert!(cache.get_build_summary(BuildId::random()).await.is_err());
}

/// Runs `load_policy_snapshot` for `application_id` as a spawned task whose load counts in
/// `loads` and then takes a permit of `gate` (for good) before giving `snapshot`.
fn spawn_load(
    cache: &Arc<NearCache>,
    application_id: ApplicationId,
    loads: &Arc<AtomicU64>,
    gate: &Arc<tokio::sync::Semaphore>,
    snapshot: Option<Arc<PolicySnapshot>>,
) -> tokio::task::JoinHandle<Option<Arc<PolicySnapshot>>> {
    let (cache, loads, gate) = (cache.clone(), loads.clone(), gate.clone());
    tokio::spawn(async move {
        let load = async {
            loads.fetch_add(1, Ordering::SeqCst);
            gate.acquire().await.unwrap().forget();
            snapshot
        };
        cache.load_policy_snapshot(application_id, Box::pin(load)).await
    })
}

/// Lets every spawned task run until it waits (the tests run on one thread, so one yield
/// polls each ready task once; a few leave room for chains of wake-ups).
async fn settle() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "current_thread")]
async fn misses_that_happen_together_load_once_and_share_the_snapshot() {
    let cache = Arc::new(alone(64));
    let application_id = ApplicationId::random();
    let (loads, gate) = (Arc::new(AtomicU64::new(0)), Arc::new(tokio::sync::Semaphore::new(0)));
    let loaded = snapshot_at(application_id, 3);
    let callers: Vec<_> = (0..16)
        .map(|_| spawn_load(&cache, application_id, &loads, &gate, Some(loaded.clone())))
        .collect();
    settle().await;
    gate.add_permits(16);

    for caller in callers {
        let got = caller.await.unwrap().expect("every caller gets the snapshot");
        assert!(Arc::ptr_eq(&got, &loaded), "the one load's snapshot, shared");
    }
    assert_eq!(loads.load(Ordering::SeqCst), 1, "one load for sixteen misses");
    assert_eq!(cache.get_policy_snapshot(application_id).await.unwrap(), Some(loaded));
    assert!(cache.flights().is_empty(), "the flight ends with its load");
}

#[tokio::test(flavor = "current_thread")]
async fn a_miss_after_an_eviction_does_not_wait_for_a_load_begun_before_it() {
    let cache = Arc::new(alone(64));
    let application_id = ApplicationId::random();
    let (loads, gate) = (Arc::new(AtomicU64::new(0)), Arc::new(tokio::sync::Semaphore::new(0)));
    let before =
        spawn_load(&cache, application_id, &loads, &gate, Some(snapshot_at(application_id, 7)));
    let joined_before = spawn_load(&cache, application_id, &loads, &gate, None);
    settle().await;

    cache.evict_policy_snapshot(application_id, 8).await.unwrap();
    let current = snapshot_at(application_id, 8);
    let after = spawn_load(&cache, application_id, &loads, &gate, Some(current.clone()));
    settle().await;
    assert_eq!(loads.load(Ordering::SeqCst), 2, "the miss after the change loads on its own");
    gate.add_permits(3);

    assert_eq!(before.await.unwrap().unwrap().revision(), 7);
    assert_eq!(joined_before.await.unwrap().unwrap().revision(), 7, "it missed before the change");
    assert_eq!(after.await.unwrap(), Some(current.clone()));
    assert_eq!(
        cache.get_policy_snapshot(application_id).await.unwrap(),
        Some(current),
        "the old load's put is refused by the generation rule"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn waiters_of_a_failed_or_abandoned_load_get_nothing_and_the_next_miss_loads_again() {
    let cache = Arc::new(alone(64));
    let application_id = ApplicationId::random();
    let (loads, gate) = (Arc::new(AtomicU64::new(0)), Arc::new(tokio::sync::Semaphore::new(0)));
    let failing = spawn_load(&cache, application_id, &loads, &gate, None);
    let waiter = spawn_load(&cache, application_id, &loads, &gate, None);
    settle().await;
    gate.add_permits(1);
    assert_eq!(failing.await.unwrap(), None);
    assert_eq!(waiter.await.unwrap(), None, "a failed load gives its waiters nothing");
    assert_eq!(loads.load(Ordering::SeqCst), 1, "the waiter did not load");

    let abandoned = spawn_load(&cache, application_id, &loads, &gate, None);
    let waiter = spawn_load(&cache, application_id, &loads, &gate, None);
    settle().await;
    abandoned.abort();
    assert!(abandoned.await.unwrap_err().is_cancelled());
    assert_eq!(waiter.await.unwrap(), None, "a cancelled leader closes its flight");

    let next = snapshot_at(application_id, 1);
    let retry = spawn_load(&cache, application_id, &loads, &gate, Some(next.clone()));
    settle().await;
    gate.add_permits(1);
    assert_eq!(retry.await.unwrap(), Some(next));
    assert_eq!(loads.load(Ordering::SeqCst), 3, "failed, abandoned, then loaded again");
}
