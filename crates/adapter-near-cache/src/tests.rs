//! The near cache's own rules: the generation rule in the near level and across levels,
//! the bound on its size, the applied revision.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::collections::BTreeMap;

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
