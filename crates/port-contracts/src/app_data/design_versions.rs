//! `VersionRepository`: at most one WIP per branch, commits that happen once and freeze
//! the resources, WIP starts that copy links, and discards.

use domain::design::model::{ResourceStatus, Version, VersionStatus};
use domain::model::{ApplicationKind, PageRequest};
use domain::ports::{AppDataRepository, PortError};
use futures_util::future::join_all;

use crate::app_data::design_fixtures::{self, Stored};
use crate::app_data::{assert_conflict, assert_no_events, pending_for};
use crate::fixtures;

/// How many writers a race check sets against each other.
const RACERS: usize = 8;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    versions_are_listed_newest_first_per_branch(repo).await;
    starting_a_wip_copies_links_dependencies_and_parameters_not_contents(repo).await;
    a_second_wip_on_a_branch_or_one_without_a_committed_parent_is_a_conflict(repo).await;
    of_racing_wip_starts_exactly_one_wins(repo).await;
    a_commit_freezes_the_version_and_its_wip_resources(repo).await;
    of_racing_commits_exactly_one_wins(repo).await;
    an_update_changes_settings_unless_the_status_changed(repo).await;
    a_discard_removes_the_wip_and_its_wip_resources_only(repo).await;
}

/// Asserts that exactly one of `results` is `Ok` and every other a `Conflict`.
pub(crate) fn assert_one_winner<T: std::fmt::Debug>(
    results: Vec<Result<T, PortError>>,
    context: &str,
) {
    let wins = results.iter().filter(|result| result.is_ok()).count();
    assert_eq!(wins, 1, "{context}: exactly one racer wins, got {results:?}");
    for result in results.into_iter().filter(Result::is_err) {
        assert_conflict(result, context);
    }
}

/// Newest first by creation time; the branch filter keeps one branch; other applications'
/// versions never show; `find_latest_committed` is the newest COMMITTED one.
pub async fn versions_are_listed_newest_first_per_branch(repo: &dyn AppDataRepository) {
    let Stored { application, main, first } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let first = design_fixtures::commit(repo, &first).await;
    let second = design_fixtures::wip_after(&first);
    repo.start_wip(&second, &[]).await.expect("start_wip");
    let second = design_fixtures::commit(repo, &second).await;
    let third = design_fixtures::wip_after(&second);
    repo.start_wip(&third, &[]).await.expect("start_wip");
    design_fixtures::stored(repo, ApplicationKind::Application).await;

    let all = repo
        .list_versions(application.id, None, PageRequest::default())
        .await
        .expect("list_versions");
    let on_main = repo
        .list_versions(application.id, Some(&main.name), PageRequest::new(0, 2).expect("page"))
        .await
        .expect("list_versions on main");
    let elsewhere = repo
        .list_versions(application.id, Some(&fixtures::branch("nowhere")), PageRequest::default())
        .await
        .expect("list_versions on an unknown branch");
    let latest = repo
        .find_latest_committed(application.id, &main.name)
        .await
        .expect("find_latest_committed");

    assert_eq!(all.items, [third.clone(), second.clone(), first], "newest first");
    assert_eq!(all.total, 3, "the application's versions only");
    assert_eq!(on_main.items, [third, second.clone()], "a page of the branch");
    assert!(elsewhere.items.is_empty(), "an unknown branch has no versions");
    assert_eq!(latest, Some(second), "the newest committed version of the branch");
}

/// The WIP and its events are stored in one write; it links the parent's resource
/// versions (same ids), dependencies and parameters; changing the WIP leaves the parent.
pub async fn starting_a_wip_copies_links_dependencies_and_parameters_not_contents(
    repo: &dyn AppDataRepository,
) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let kept = design_fixtures::resource("PROCESS", "kept");
    let dropped = design_fixtures::resource("ENUMERATION", "dropped");
    design_fixtures::add(repo, first.id, &kept).await;
    design_fixtures::add(repo, first.id, &dropped).await;
    let dependency = design_fixtures::dependency();
    repo.put_dependency(first.id, &dependency, &[]).await.expect("put_dependency");
    let param = design_fixtures::param("timeout", "30");
    repo.put_config_defaults(first.id, std::slice::from_ref(&param), &[]).await.expect("put");
    let parent = design_fixtures::commit(repo, &first).await;
    let wip = design_fixtures::wip_after(&parent);

    repo.start_wip(&wip, &[fixtures::event(application.id)]).await.expect("start_wip");

    let ids = |manifest: Vec<domain::design::model::VersionManifestEntry>| {
        manifest.into_iter().map(|entry| entry.resource_version_id).collect::<Vec<_>>()
    };
    let linked = ids(repo.list_manifest(wip.id).await.expect("list_manifest"));
    assert_eq!(linked, [dropped.id.clone(), kept.id.clone()], "the WIP links the same versions");
    assert_eq!(repo.list_dependencies(wip.id).await.expect("deps"), [dependency]);
    assert_eq!(repo.list_config_defaults(wip.id).await.expect("params"), [param]);
    assert_eq!(pending_for(repo, application.id).await.len(), 1, "the start records its events");

    repo.unlink_resource(wip.id, &dropped.resource_type, &dropped.definition_id, &[])
        .await
        .expect("unlink_resource");
    repo.delete_config_default(wip.id, &fixtures::key("timeout"), &[])
        .await
        .expect("delete_config_default");
    let parent_links = ids(repo.list_manifest(parent.id).await.expect("list_manifest"));
    assert_eq!(parent_links, [dropped.id.clone(), kept.id], "the parent keeps its links");
    assert_eq!(repo.list_config_defaults(parent.id).await.expect("params").len(), 1);
    let still = repo
        .find_resource(parent.id, &dropped.resource_type, &dropped.definition_id)
        .await
        .expect("find_resource");
    assert_eq!(
        still.map(|resource| resource.content),
        Some(dropped.content),
        "a committed resource version unlinked from a WIP keeps its content"
    );
}

/// `Conflict` for a second WIP on a branch, and for a WIP whose parent is a WIP or of
/// another branch; nothing is stored and nothing recorded.
pub async fn a_second_wip_on_a_branch_or_one_without_a_committed_parent_is_a_conflict(
    repo: &dyn AppDataRepository,
) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let from_wip = design_fixtures::wip_after(&first);
    assert_conflict(
        repo.start_wip(&from_wip, &[fixtures::event(application.id)]).await,
        "starting a WIP on a branch with a WIP (from a WIP parent)",
    );

    let parent = design_fixtures::commit(repo, &first).await;
    let wip = design_fixtures::wip_after(&parent);
    repo.start_wip(&wip, &[]).await.expect("start_wip");
    let second = design_fixtures::wip_after(&parent);
    assert_conflict(
        repo.start_wip(&second, &[fixtures::event(application.id)]).await,
        "starting a second WIP on a branch",
    );
    let mut other_branch = design_fixtures::wip_after(&parent);
    other_branch.branch = fixtures::branch("no-parent");
    assert_conflict(
        repo.start_wip(&other_branch, &[fixtures::event(application.id)]).await,
        "starting a WIP whose parent is on another branch",
    );
    for refused in [&from_wip, &second, &other_branch] {
        assert_eq!(repo.find_version(refused.id).await.expect("find_version"), None);
    }
    assert_no_events(repo, application.id, "refused WIP starts").await;
}

/// Racing starts on one branch: exactly one `Ok`, the rest `Conflict`, one WIP stored.
pub async fn of_racing_wip_starts_exactly_one_wins(repo: &dyn AppDataRepository) {
    let Stored { application, main, first } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let parent = design_fixtures::commit(repo, &first).await;
    let racers: Vec<Version> = (0..RACERS).map(|_| design_fixtures::wip_after(&parent)).collect();

    let results = join_all(racers.iter().map(|wip| repo.start_wip(wip, &[]))).await;

    assert_one_winner(results, "racing WIP starts on one branch");
    let versions = repo
        .list_versions(application.id, Some(&main.name), PageRequest::default())
        .await
        .expect("list_versions");
    assert_eq!(versions.items.iter().filter(|version| version.is_wip()).count(), 1, "one WIP");
}

/// The version is stored COMMITTED with its message; the WIP resource versions it links
/// become COMMITTED at its `committed_at`; a second commit is a `Conflict`; an unknown
/// version is `Ok(false)`.
pub async fn a_commit_freezes_the_version_and_its_wip_resources(repo: &dyn AppDataRepository) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let resource = design_fixtures::resource("PROCESS", "to-commit");
    design_fixtures::add(repo, first.id, &resource).await;
    let committed = design_fixtures::committed(&first);

    let found = repo
        .commit_version(&committed, &[fixtures::event(application.id)])
        .await
        .expect("commit_version");

    assert!(found, "committing a stored WIP answers true");
    let stored = repo.find_version(first.id).await.expect("find_version");
    assert_eq!(stored.as_ref(), Some(&committed), "the version is stored as committed");
    let entry = repo.list_manifest(first.id).await.expect("list_manifest").remove(0);
    assert_eq!(entry.status, ResourceStatus::Committed, "its resources are committed");
    assert_eq!(entry.last_committed_at, committed.committed_at, "at the commit time");
    assert_eq!(pending_for(repo, application.id).await.len(), 1, "the commit records events");

    assert_conflict(
        repo.commit_version(&committed, &[fixtures::event(application.id)]).await,
        "committing a committed version",
    );
    assert_eq!(
        pending_for(repo, application.id).await.len(),
        1,
        "a refused commit records nothing"
    );
    let unknown = design_fixtures::committed(&design_fixtures::wip_after(&committed));
    assert!(!repo.commit_version(&unknown, &[]).await.expect("commit_version"), "unknown: false");
}

/// Racing commits of one WIP: exactly one `Ok`, the rest `Conflict`.
pub async fn of_racing_commits_exactly_one_wins(repo: &dyn AppDataRepository) {
    let Stored { first, .. } = design_fixtures::stored(repo, ApplicationKind::Application).await;
    let racers: Vec<Version> = (0..RACERS).map(|_| design_fixtures::committed(&first)).collect();

    let results = join_all(racers.iter().map(|committed| repo.commit_version(committed, &[])))
        .await
        .into_iter()
        .map(|result| result.map(|found| assert!(found, "the WIP is found")))
        .collect();

    assert_one_winner(results, "racing commits of one WIP");
}

/// Settings and message are replaced when the status matches; a `Conflict` otherwise,
/// changing nothing; an unknown version is `Ok(false)`.
pub async fn an_update_changes_settings_unless_the_status_changed(repo: &dyn AppDataRepository) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let mut changed = first.clone();
    changed.settings.theme_id = Some("dark".to_owned());
    changed.settings.languages = vec!["en".to_owned(), "ro".to_owned()];
    changed.last_changed_at = fixtures::seconds_from_now(1);

    let found = repo
        .update_version(&changed, &[fixtures::event(application.id)])
        .await
        .expect("update_version");

    assert!(found, "updating a stored version answers true");
    assert_eq!(repo.find_version(first.id).await.expect("find").as_ref(), Some(&changed));
    let committed = design_fixtures::commit(repo, &changed).await;
    let mut stale = changed.clone();
    stale.settings.theme_id = Some("light".to_owned());
    assert_conflict(
        repo.update_version(&stale, &[fixtures::event(application.id)]).await,
        "updating a WIP that was committed meanwhile",
    );
    assert_eq!(repo.find_version(first.id).await.expect("find").as_ref(), Some(&committed));
    assert_eq!(pending_for(repo, application.id).await.len(), 1, "only the update recorded");
    let unknown = design_fixtures::wip_after(&committed);
    assert!(!repo.update_version(&unknown, &[]).await.expect("update_version"), "unknown: false");
}

/// A discard removes the WIP, its links, dependencies, parameters and the WIP resource
/// versions it links, not the committed ones; a committed version is a `Conflict`.
pub async fn a_discard_removes_the_wip_and_its_wip_resources_only(repo: &dyn AppDataRepository) {
    let Stored { application, main, first } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let committed_resource = design_fixtures::resource("PROCESS", "committed");
    design_fixtures::add(repo, first.id, &committed_resource).await;
    let parent = design_fixtures::commit(repo, &first).await;
    let wip = design_fixtures::wip_after(&parent);
    repo.start_wip(&wip, &[]).await.expect("start_wip");
    let wip_resource = design_fixtures::resource("PROCESS", "wip-only");
    design_fixtures::add(repo, wip.id, &wip_resource).await;
    repo.put_dependency(wip.id, &design_fixtures::dependency(), &[]).await.expect("put");

    assert_conflict(
        repo.discard_wip(parent.id, &[fixtures::event(application.id)]).await,
        "discarding a committed version",
    );
    assert_no_events(repo, application.id, "a refused discard").await;
    let discarded =
        repo.discard_wip(wip.id, &[fixtures::event(application.id)]).await.expect("discard_wip");

    assert!(discarded, "discarding a stored WIP answers true");
    assert_eq!(repo.find_version(wip.id).await.expect("find_version"), None, "the WIP is gone");
    assert_eq!(repo.find_wip(application.id, &main.name).await.expect("find_wip"), None);
    assert!(repo.list_manifest(wip.id).await.expect("manifest").is_empty(), "no links left");
    assert!(repo.list_dependencies(wip.id).await.expect("deps").is_empty(), "no deps left");
    let kept = repo
        .find_resource(
            parent.id,
            &committed_resource.resource_type,
            &committed_resource.definition_id,
        )
        .await
        .expect("find_resource");
    assert!(kept.is_some(), "the committed resource stays with its version");
    assert_eq!(pending_for(repo, application.id).await.len(), 1, "the discard records events");
    let next = design_fixtures::wip_after(&parent);
    repo.start_wip(&next, &[]).await.expect("a WIP can start again after a discard");
    assert_eq!(next.status, VersionStatus::Wip);
    assert!(!repo.discard_wip(wip.id, &[]).await.expect("discard_wip"), "unknown: false");
}
