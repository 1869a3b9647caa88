//! Behaviour every `Cache` must show.
//!
//! A cache may forget anything at any time, but not within the instant of a check: one
//! that always misses would pass a weaker suite and help nobody. What it must never do is
//! answer with another entry's value, or with a value it was told to forget, nor keep a
//! value read before an eviction and stored after it (the generation rule).

use std::collections::BTreeMap;
use std::sync::Arc;

use domain::model::{
    ApplicationId, BuildId, BuildSummary, PolicySnapshot, PolicyTarget, SubjectType,
};
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
    a_snapshot_older_than_an_eviction_is_refused(cache).await;
    a_snapshot_never_goes_back_to_an_older_revision(cache).await;
    a_summary_of_a_deleted_build_is_refused(cache).await;
}

/// A snapshot at `revision`.
pub fn snapshot_at(application_id: ApplicationId, revision: u64) -> Arc<PolicySnapshot> {
    let build_id = BuildId::random();
    Arc::new(PolicySnapshot::new(
        revision,
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
    ))
}

fn snapshot(application_id: ApplicationId) -> Arc<PolicySnapshot> {
    snapshot_at(application_id, 7)
}

/// The summary of a new build.
pub fn summary() -> Arc<BuildSummary> {
    Arc::new(
        BuildFixture::new(ApplicationId::random()).resource("PROCESS", "cached").build().summary(),
    )
}

/// `Ok(None)` for keys nobody put.
pub async fn an_unknown_entry_is_a_miss(cache: &dyn Cache) {
    let snapshot =
        cache.get_policy_snapshot(ApplicationId::random()).await.expect("get_policy_snapshot");
    assert_eq!(snapshot, None, "an unknown application's snapshot is a miss");
    let build = cache.get_build_summary(BuildId::random()).await.expect("get_build_summary");
    assert_eq!(build, None, "an unknown build is a miss");
}

/// Put, read back equal, evict, miss; other applications' entries untouched.
pub async fn a_policy_snapshot_reads_back_until_evicted(cache: &dyn Cache) {
    let (mine, neighbour) = (ApplicationId::random(), ApplicationId::random());
    let (my_snapshot, neighbour_snapshot) = (snapshot(mine), snapshot(neighbour));
    cache.put_policy_snapshot(mine, my_snapshot.clone()).await.expect("put_policy_snapshot");
    cache
        .put_policy_snapshot(neighbour, neighbour_snapshot.clone())
        .await
        .expect("put_policy_snapshot");

    let found = cache.get_policy_snapshot(mine).await.expect("get_policy_snapshot");
    assert_eq!(found.as_ref(), Some(&my_snapshot), "a cached snapshot reads back unchanged");

    cache.evict_policy_snapshot(mine, 7).await.expect("evict_policy_snapshot");
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
    cache.put_policy_snapshot(application_id, first).await.expect("put_policy_snapshot");
    cache
        .put_policy_snapshot(application_id, second.clone())
        .await
        .expect("put_policy_snapshot again");

    let found = cache.get_policy_snapshot(application_id).await.expect("get_policy_snapshot");

    assert_eq!(found.as_ref(), Some(&second), "the latest put wins");
}

/// Put, read back equal, evict, miss; other builds untouched.
pub async fn a_build_reads_back_until_evicted(cache: &dyn Cache) {
    let (mine, neighbour) = (summary(), summary());
    cache.put_build_summary(mine.clone()).await.expect("put_build_summary");
    cache.put_build_summary(neighbour.clone()).await.expect("put_build_summary");

    let found = cache.get_build_summary(mine.id()).await.expect("get_build_summary");
    assert_eq!(found.as_ref(), Some(&mine), "a cached build summary reads back unchanged");

    cache.evict_build(mine.id()).await.expect("evict_build");
    let evicted = cache.get_build_summary(mine.id()).await.expect("get_build_summary");
    assert_eq!(evicted, None, "an evicted build is a miss");
    let untouched = cache.get_build_summary(neighbour.id()).await.expect("get_build_summary");
    assert_eq!(untouched.as_ref(), Some(&neighbour), "evicting one build keeps the others");
}

/// Evicting a key nobody put is `Ok`.
pub async fn evicting_what_is_not_cached_is_ok(cache: &dyn Cache) {
    cache
        .evict_policy_snapshot(ApplicationId::random(), 3)
        .await
        .expect("evicting an uncached snapshot is Ok");
    cache.evict_build(BuildId::random()).await.expect("evicting an uncached build is Ok");
}

/// The generation rule: a snapshot read before a change (a lower revision) and stored after
/// the change's eviction is refused; one at the eviction's revision or newer is kept.
pub async fn a_snapshot_older_than_an_eviction_is_refused(cache: &dyn Cache) {
    let application_id = ApplicationId::random();
    let before = snapshot_at(application_id, 10);
    cache.put_policy_snapshot(application_id, before.clone()).await.expect("put_policy_snapshot");
    cache.evict_policy_snapshot(application_id, 11).await.expect("evict_policy_snapshot");

    cache.put_policy_snapshot(application_id, before).await.expect("a refused put is still Ok");
    let found = cache.get_policy_snapshot(application_id).await.expect("get_policy_snapshot");
    assert_eq!(found, None, "a snapshot older than an eviction never survives it");

    let after = snapshot_at(application_id, 11);
    cache.put_policy_snapshot(application_id, after.clone()).await.expect("put_policy_snapshot");
    let found = cache.get_policy_snapshot(application_id).await.expect("get_policy_snapshot");
    assert_eq!(found.as_ref(), Some(&after), "a snapshot at the eviction's revision is kept");

    cache.evict_policy_snapshot(application_id, 5).await.expect("an eviction at an old revision");
    cache
        .put_policy_snapshot(application_id, snapshot_at(application_id, 10))
        .await
        .expect("put_policy_snapshot");
    let found = cache.get_policy_snapshot(application_id).await.expect("get_policy_snapshot");
    assert_eq!(found, None, "an eviction at a lower revision never lowers the floor");
}

/// A put never replaces a held snapshot with an older one (two readers finishing out of order).
pub async fn a_snapshot_never_goes_back_to_an_older_revision(cache: &dyn Cache) {
    let application_id = ApplicationId::random();
    let newer = snapshot_at(application_id, 21);
    cache.put_policy_snapshot(application_id, newer.clone()).await.expect("put_policy_snapshot");
    cache
        .put_policy_snapshot(application_id, snapshot_at(application_id, 20))
        .await
        .expect("an older put is still Ok");
    let found = cache.get_policy_snapshot(application_id).await.expect("get_policy_snapshot");
    assert_eq!(found.as_ref(), Some(&newer), "the newer snapshot stays");
}

/// A summary read before its build's delete and stored after the eviction is refused.
pub async fn a_summary_of_a_deleted_build_is_refused(cache: &dyn Cache) {
    let stale = summary();
    cache.evict_build(stale.id()).await.expect("evict_build");
    cache.put_build_summary(stale.clone()).await.expect("a refused put is still Ok");
    let found = cache.get_build_summary(stale.id()).await.expect("get_build_summary");
    assert_eq!(found, None, "a deleted build's summary never comes back");
}
