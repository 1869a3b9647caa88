//! Behaviour every `Cache` must show.
//!
//! A cache may forget anything at any time, but not within the instant of a check: one
//! that always misses would pass a weaker suite and help nobody. What it must never do is
//! answer with another entry's value, or with a value it was told to forget.

use std::collections::BTreeMap;

use domain::model::{ApplicationId, Build, BuildId, PolicySnapshot, PolicyTarget, SubjectType};
use domain::ports::Cache;
use test_support::BuildFixture;

use crate::fixtures;

/// Runs every check of the port.
pub async fn run_all(cache: &dyn Cache) {
    crate::health::a_reachable_backend_answers_ping(cache).await;
    an_unknown_entry_is_a_miss(cache).await;
    a_policy_snapshot_reads_back_until_evicted(cache).await;
    a_policy_snapshot_is_replaced_by_the_next_put(cache).await;
    a_build_reads_back_until_evicted(cache).await;
    evicting_what_is_not_cached_is_ok(cache).await;
}

fn snapshot(application_id: ApplicationId) -> PolicySnapshot {
    let build_id = BuildId::random();
    PolicySnapshot::new(
        0,
        Some(fixtures::policy(
            application_id,
            PolicyTarget::LatestOnBranch(fixtures::branch("main")),
        )),
        vec![fixtures::policy_override(
            application_id,
            SubjectType::Group,
            "/team",
            PolicyTarget::Build(build_id),
        )],
        BTreeMap::from([(fixtures::branch("main"), BuildId::random())]),
    )
}

fn build() -> Build {
    BuildFixture::new(ApplicationId::random()).resource("PROCESS", "cached").build()
}

/// `Ok(None)` for keys nobody put.
pub async fn an_unknown_entry_is_a_miss(cache: &dyn Cache) {
    let snapshot =
        cache.get_policy_snapshot(ApplicationId::random()).await.expect("get_policy_snapshot");
    assert_eq!(snapshot, None, "an unknown application's snapshot is a miss");
    let build = cache.get_build(BuildId::random()).await.expect("get_build");
    assert_eq!(build, None, "an unknown build is a miss");
}

/// Put, read back equal, evict, miss; other applications' entries untouched.
pub async fn a_policy_snapshot_reads_back_until_evicted(cache: &dyn Cache) {
    let (mine, neighbour) = (ApplicationId::random(), ApplicationId::random());
    let (my_snapshot, neighbour_snapshot) = (snapshot(mine), snapshot(neighbour));
    cache.put_policy_snapshot(mine, &my_snapshot).await.expect("put_policy_snapshot");
    cache.put_policy_snapshot(neighbour, &neighbour_snapshot).await.expect("put_policy_snapshot");

    let found = cache.get_policy_snapshot(mine).await.expect("get_policy_snapshot");
    assert_eq!(found.as_ref(), Some(&my_snapshot), "a cached snapshot reads back unchanged");

    cache.evict_policy_snapshot(mine).await.expect("evict_policy_snapshot");
    let evicted = cache.get_policy_snapshot(mine).await.expect("get_policy_snapshot");
    assert_eq!(evicted, None, "an evicted snapshot is a miss");
    let untouched = cache.get_policy_snapshot(neighbour).await.expect("get_policy_snapshot");
    assert_eq!(
        untouched.as_ref(),
        Some(&neighbour_snapshot),
        "evicting one application keeps the others"
    );
}

/// A second put for an application replaces the first.
pub async fn a_policy_snapshot_is_replaced_by_the_next_put(cache: &dyn Cache) {
    let application_id = ApplicationId::random();
    let (first, second) = (snapshot(application_id), snapshot(application_id));
    cache.put_policy_snapshot(application_id, &first).await.expect("put_policy_snapshot");
    cache.put_policy_snapshot(application_id, &second).await.expect("put_policy_snapshot again");

    let found = cache.get_policy_snapshot(application_id).await.expect("get_policy_snapshot");

    assert_eq!(found.as_ref(), Some(&second), "the latest put wins");
}

/// Put, read back equal, evict, miss; other builds untouched.
pub async fn a_build_reads_back_until_evicted(cache: &dyn Cache) {
    let (mine, neighbour) = (build(), build());
    cache.put_build(&mine).await.expect("put_build");
    cache.put_build(&neighbour).await.expect("put_build");

    let found = cache.get_build(mine.id()).await.expect("get_build");
    assert_eq!(found.as_ref(), Some(&mine), "a cached build reads back unchanged");

    cache.evict_build(mine.id()).await.expect("evict_build");
    let evicted = cache.get_build(mine.id()).await.expect("get_build");
    assert_eq!(evicted, None, "an evicted build is a miss");
    let untouched = cache.get_build(neighbour.id()).await.expect("get_build");
    assert_eq!(untouched.as_ref(), Some(&neighbour), "evicting one build keeps the others");
}

/// Evicting a key nobody put is `Ok`.
pub async fn evicting_what_is_not_cached_is_ok(cache: &dyn Cache) {
    cache
        .evict_policy_snapshot(ApplicationId::random())
        .await
        .expect("evicting an uncached snapshot is Ok");
    cache.evict_build(BuildId::random()).await.expect("evicting an uncached build is Ok");
}
