//! `BuildCatalog`: headers, their order, and who may delete them.

use domain::model::{
    ApplicationId, ApplicationKind, BuildId, DomainEvent, PageRequest, PolicyTarget, SubjectType,
};
use domain::ports::AppDataRepository;
use test_support::BuildFixture;

use crate::app_data::{assert_conflict, assert_no_events, pending_for, store_header, unchanged};
use crate::fixtures;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    an_unknown_build_has_no_header(repo).await;
    a_stored_header_is_found_as_it_was_stored(repo).await;
    builds_are_listed_newest_first_and_paged(repo).await;
    the_latest_build_of_a_branch_is_its_newest(repo).await;
    the_kind_of_an_application_comes_from_its_builds(repo).await;
    deleting_a_build_removes_its_header_and_records_events(repo).await;
    deleting_an_unknown_build_is_false_and_records_nothing(repo).await;
    a_build_named_by_the_global_policy_cannot_be_deleted(repo).await;
    a_build_named_by_an_override_cannot_be_deleted(repo).await;
}

/// `find_build_header` is `Ok(None)` for an id nobody stored.
pub async fn an_unknown_build_has_no_header(repo: &dyn AppDataRepository) {
    let found = repo.find_build_header(BuildId::random()).await.expect("find_build_header");
    assert_eq!(found, None, "an unknown build id has no header");
}

/// A header reads back equal, field for field.
pub async fn a_stored_header_is_found_as_it_was_stored(repo: &dyn AppDataRepository) {
    let header = BuildFixture::new(ApplicationId::random())
        .created_at(fixtures::seconds_from_now(-60))
        .stored_at(fixtures::now())
        .description("with every optional field")
        .in_workspace(domain::model::WorkspaceId::random())
        .header();
    store_header(repo, &header).await;

    let found = repo.find_build_header(header.id).await.expect("find_build_header");

    assert_eq!(found.as_ref(), Some(&header), "a stored header reads back unchanged");
}

/// Newest first by creation time, then storage time; other applications' builds excluded;
/// pages cut from that order with the total of the whole list.
pub async fn builds_are_listed_newest_first_and_paged(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();
    let oldest =
        BuildFixture::new(application_id).created_at(fixtures::seconds_from_now(-30)).header();
    let tied_stored_first =
        BuildFixture::new(application_id).created_at(fixtures::seconds_from_now(-10)).header();
    let mut tied_stored_last = BuildFixture::new(application_id)
        .on_branch("dev")
        .created_at(tied_stored_first.created_at)
        .header();
    tied_stored_last.stored_at = tied_stored_first.stored_at + time::Duration::seconds(5);
    let foreign = BuildFixture::new(ApplicationId::random()).header();
    for header in [&tied_stored_first, &foreign, &oldest, &tied_stored_last] {
        store_header(repo, header).await;
    }

    let all = repo
        .list_build_headers(application_id, PageRequest::default())
        .await
        .expect("list_build_headers");
    let first = repo
        .list_build_headers(application_id, page(0, 2))
        .await
        .expect("list_build_headers page 0");
    let second = repo
        .list_build_headers(application_id, page(1, 2))
        .await
        .expect("list_build_headers page 1");
    let beyond = repo
        .list_build_headers(application_id, page(2, 2))
        .await
        .expect("list_build_headers page 2");

    let expected = vec![tied_stored_last.clone(), tied_stored_first.clone(), oldest.clone()];
    assert_eq!(all.items, expected, "newest created first; a tie goes to the one stored last");
    assert_eq!(all.total, 3, "the total counts the application's builds only");
    assert_eq!(first.items, expected[..2], "page 0 of size 2");
    assert_eq!(first.total, 3, "every page carries the total");
    assert_eq!(second.items, expected[2..], "page 1 of size 2");
    assert!(beyond.items.is_empty(), "a page past the end is empty, got {:?}", beyond.items);
    assert_eq!(beyond.total, 3, "a page past the end still carries the total");
}

/// The newest build of the branch by creation time, then storage time; `None` for a branch
/// without builds; builds of other branches and applications do not count.
pub async fn the_latest_build_of_a_branch_is_its_newest(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();
    let main = fixtures::branch("main");
    let old =
        BuildFixture::new(application_id).created_at(fixtures::seconds_from_now(-20)).header();
    let tied_stored_first =
        BuildFixture::new(application_id).created_at(fixtures::seconds_from_now(-10)).header();
    let mut tied_stored_last =
        BuildFixture::new(application_id).created_at(tied_stored_first.created_at).header();
    tied_stored_last.stored_at = tied_stored_first.stored_at + time::Duration::seconds(1);
    let newer_on_dev = BuildFixture::new(application_id).on_branch("dev").header();
    let newer_elsewhere = BuildFixture::new(ApplicationId::random()).header();
    for header in [&tied_stored_last, &old, &newer_on_dev, &tied_stored_first, &newer_elsewhere] {
        store_header(repo, header).await;
    }

    let latest_main =
        repo.find_latest_build_on_branch(application_id, &main).await.expect("latest on main");
    let latest_dev = repo
        .find_latest_build_on_branch(application_id, &fixtures::branch("dev"))
        .await
        .expect("latest on dev");
    let latest_none = repo
        .find_latest_build_on_branch(application_id, &fixtures::branch("no-builds"))
        .await
        .expect("latest on empty branch");

    assert_eq!(
        latest_main.map(|header| header.id),
        Some(tied_stored_last.id),
        "newest on main, tie broken by storage time"
    );
    assert_eq!(latest_dev.map(|header| header.id), Some(newer_on_dev.id), "newest on dev");
    assert_eq!(latest_none, None, "a branch without builds has no latest build");
}

/// `None` for an application without builds, else the kind its builds carry.
pub async fn the_kind_of_an_application_comes_from_its_builds(repo: &dyn AppDataRepository) {
    let unknown =
        repo.find_application_kind(ApplicationId::random()).await.expect("find_application_kind");
    assert_eq!(unknown, None, "an application without builds has no known kind");

    let library = BuildFixture::new(ApplicationId::random()).library().header();
    store_header(repo, &library).await;
    let project = BuildFixture::new(ApplicationId::random()).header();
    store_header(repo, &project).await;

    let library_kind =
        repo.find_application_kind(library.application_id).await.expect("find_application_kind");
    let project_kind =
        repo.find_application_kind(project.application_id).await.expect("find_application_kind");
    assert_eq!(library_kind, Some(ApplicationKind::Library), "a library's builds say library");
    assert_eq!(
        project_kind,
        Some(ApplicationKind::Application),
        "a project's builds say application"
    );
}

/// `Ok(true)`, the header is gone and the events are recorded.
pub async fn deleting_a_build_removes_its_header_and_records_events(repo: &dyn AppDataRepository) {
    let header = BuildFixture::new(ApplicationId::random()).header();
    store_header(repo, &header).await;
    let events =
        [DomainEvent::BuildDeleted { application_id: header.application_id, build_id: header.id }];

    let schedule = unchanged(repo, header.application_id).await;
    let deleted =
        repo.delete_build_header(header.id, &schedule, &events).await.expect("delete_build_header");

    assert!(deleted, "deleting a stored header answers true");
    let found = repo.find_build_header(header.id).await.expect("find_build_header");
    assert_eq!(found, None, "a deleted header is gone");
    let recorded: Vec<_> = pending_for(repo, header.application_id)
        .await
        .into_iter()
        .map(|record| record.event)
        .collect();
    assert_eq!(recorded, events, "the delete records its events");
}

/// `Ok(false)` and no event for a build that has no header.
pub async fn deleting_an_unknown_build_is_false_and_records_nothing(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();

    let schedule = unchanged(repo, application_id).await;
    let deleted = repo
        .delete_build_header(BuildId::random(), &schedule, &[fixtures::event(application_id)])
        .await
        .expect("delete_build_header");

    assert!(!deleted, "deleting an unknown header answers false");
    assert_no_events(repo, application_id, "deleting an unknown header").await;
}

/// `Conflict` while the global policy names the build: nothing removed, nothing recorded.
/// Once the policy points elsewhere, the delete goes through.
pub async fn a_build_named_by_the_global_policy_cannot_be_deleted(repo: &dyn AppDataRepository) {
    let header = BuildFixture::new(ApplicationId::random()).header();
    let application_id = header.application_id;
    store_header(repo, &header).await;
    repo.put_active_policy(
        &fixtures::policy(application_id, PolicyTarget::Build(header.id)),
        &unchanged(repo, application_id).await,
        &[],
    )
    .await
    .expect("put_active_policy naming a stored build");

    let schedule = unchanged(repo, application_id).await;
    let refused =
        repo.delete_build_header(header.id, &schedule, &[fixtures::event(application_id)]).await;

    assert_conflict(refused, "deleting a build the global policy names");
    let kept = repo.find_build_header(header.id).await.expect("find_build_header");
    assert_eq!(kept.as_ref(), Some(&header), "a refused delete removes nothing");
    assert_no_events(repo, application_id, "a refused delete").await;

    repo.put_active_policy(
        &fixtures::policy(application_id, PolicyTarget::LatestOnBranch(fixtures::branch("main"))),
        &unchanged(repo, application_id).await,
        &[],
    )
    .await
    .expect("put_active_policy on a branch");
    let deleted = repo
        .delete_build_header(header.id, &unchanged(repo, application_id).await, &[])
        .await
        .expect("delete once the policy points elsewhere");
    assert!(deleted, "a build no policy names can be deleted");
}

/// `Conflict` while an override of the application names the build.
pub async fn a_build_named_by_an_override_cannot_be_deleted(repo: &dyn AppDataRepository) {
    let header = BuildFixture::new(ApplicationId::random()).header();
    let application_id = header.application_id;
    store_header(repo, &header).await;
    let policy_override = fixtures::policy_override(
        application_id,
        SubjectType::Group,
        "team",
        PolicyTarget::Build(header.id),
    );
    repo.insert_policy_override(&policy_override, &[])
        .await
        .expect("insert_policy_override naming a stored build");

    let schedule = unchanged(repo, application_id).await;
    let refused =
        repo.delete_build_header(header.id, &schedule, &[fixtures::event(application_id)]).await;

    assert_conflict(refused, "deleting a build an override names");
    let kept = repo.find_build_header(header.id).await.expect("find_build_header");
    assert!(kept.is_some(), "a refused delete removes nothing");
    assert_no_events(repo, application_id, "a refused delete").await;

    repo.delete_policy_override(application_id, policy_override.id, &[])
        .await
        .expect("delete_policy_override");
    let deleted = repo
        .delete_build_header(header.id, &unchanged(repo, application_id).await, &[])
        .await
        .expect("delete once the override is gone");
    assert!(deleted, "a build no override names can be deleted");
}

fn page(number: u32, size: u32) -> PageRequest {
    PageRequest::new(number, size).expect("valid page request")
}
