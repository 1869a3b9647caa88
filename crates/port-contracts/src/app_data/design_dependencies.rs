//! `DependencyRepository`: one build per library per version, on a WIP only.

use domain::design::model::VersionDependency;
use domain::model::{ApplicationKind, BuildId};
use domain::ports::AppDataRepository;

use crate::app_data::design_fixtures::{self, Stored};
use crate::app_data::{assert_conflict, assert_no_events, pending_for};
use crate::fixtures;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    a_put_replaces_the_build_of_a_library_and_a_delete_removes_it(repo).await;
    a_committed_version_refuses_dependency_changes(repo).await;
    a_deleted_library_takes_no_new_dependents(repo).await;
}

/// Listed by library id; a second put for a library replaces its build; a delete answers
/// `true` once, then `false`.
pub async fn a_put_replaces_the_build_of_a_library_and_a_delete_removes_it(
    repo: &dyn AppDataRepository,
) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let mut dependencies = [design_fixtures::dependency(), design_fixtures::dependency()];
    dependencies.sort_by_key(|dependency| dependency.library_id);
    for dependency in &dependencies {
        repo.put_dependency(first.id, dependency, &[fixtures::event(application.id)])
            .await
            .expect("put_dependency");
    }
    let replacement =
        VersionDependency { library_id: dependencies[0].library_id, build_id: BuildId::random() };
    repo.put_dependency(first.id, &replacement, &[]).await.expect("put_dependency again");

    let listed = repo.list_dependencies(first.id).await.expect("list_dependencies");
    assert_eq!(listed, [replacement.clone(), dependencies[1].clone()], "one build per library");

    let removed = repo
        .delete_dependency(first.id, replacement.library_id, &[fixtures::event(application.id)])
        .await
        .expect("delete_dependency");
    let again = repo
        .delete_dependency(first.id, replacement.library_id, &[fixtures::event(application.id)])
        .await
        .expect("delete_dependency again");
    assert!(removed && !again, "a dependency is deleted once");
    assert_eq!(repo.list_dependencies(first.id).await.expect("list"), [dependencies[1].clone()]);
    assert_eq!(
        pending_for(repo, application.id).await.len(),
        3,
        "writes that change record events"
    );
}

/// `Conflict` for a put or delete on a committed version; nothing changes.
pub async fn a_committed_version_refuses_dependency_changes(repo: &dyn AppDataRepository) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let dependency = design_fixtures::dependency();
    repo.put_dependency(first.id, &dependency, &[]).await.expect("put_dependency");
    design_fixtures::commit(repo, &first).await;

    assert_conflict(
        repo.put_dependency(
            first.id,
            &design_fixtures::dependency(),
            &[fixtures::event(application.id)],
        )
        .await,
        "adding a dependency to a committed version",
    );
    assert_conflict(
        repo.delete_dependency(first.id, dependency.library_id, &[fixtures::event(application.id)])
            .await,
        "removing a dependency of a committed version",
    );
    assert_eq!(repo.list_dependencies(first.id).await.expect("list"), [dependency]);
    assert_no_events(repo, application.id, "refused dependency changes").await;
}

/// A library designed here and deleted takes no new dependent; one known only by its
/// imported builds (no application row) is not refused.
pub async fn a_deleted_library_takes_no_new_dependents(repo: &dyn AppDataRepository) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let library = design_fixtures::stored(repo, ApplicationKind::Library).await.application;
    let deleted = repo
        .delete_application(library.id, fixtures::now(), &[])
        .await
        .expect("delete_application of a library nobody depends on");
    assert!(deleted, "the library is deleted");

    assert_conflict(
        repo.put_dependency(
            first.id,
            &VersionDependency { library_id: library.id, build_id: BuildId::random() },
            &[fixtures::event(application.id)],
        )
        .await,
        "depending on a deleted library",
    );
    let imported_only = design_fixtures::dependency();
    repo.put_dependency(first.id, &imported_only, &[])
        .await
        .expect("a library with no application here is not refused");
    assert_eq!(repo.list_dependencies(first.id).await.expect("list"), [imported_only]);
    assert_no_events(repo, application.id, "a refused dependency").await;
}
