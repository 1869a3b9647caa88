//! `BranchRepository`: branches made from committed versions, with a WIP that links what
//! the version links.

use domain::design::model::{Branch, Version};
use domain::model::{ApplicationKind, ConfigParam};
use domain::ports::AppDataRepository;

use crate::app_data::design_fixtures::{self, Stored};
use crate::app_data::{assert_conflict, assert_no_events, pending_for};
use crate::fixtures;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    a_branch_starts_with_a_wip_linking_what_its_version_links(repo).await;
    a_branch_from_a_wip_or_with_a_taken_name_is_a_conflict_and_stores_nothing(repo).await;
}

fn branch_from(version: &Version, name: &str) -> Branch {
    Branch {
        application_id: version.application_id,
        name: fixtures::branch(name),
        created_from: Some(version.id),
        created_by: "contracts".to_owned(),
        created_at: version.created_at + time::Duration::seconds(10),
    }
}

/// The branch and its WIP are stored in one write with the events; the WIP links the same
/// resource versions (no copy of content), dependencies and parameters; branches list
/// oldest first.
pub async fn a_branch_starts_with_a_wip_linking_what_its_version_links(
    repo: &dyn AppDataRepository,
) {
    let Stored { application, main, first } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let resource = design_fixtures::resource("PROCESS", "onboarding");
    design_fixtures::add(repo, first.id, &resource).await;
    let dependency = design_fixtures::dependency();
    repo.put_dependency(first.id, &dependency, &[]).await.expect("put_dependency");
    let param = design_fixtures::param("api.url", "https://example.test");
    repo.put_config_defaults(first.id, std::slice::from_ref(&param), &[])
        .await
        .expect("put_config_defaults");
    let committed = design_fixtures::commit(repo, &first).await;
    let branch = branch_from(&committed, "feature");
    let mut wip = design_fixtures::wip_after(&committed);
    wip.branch = branch.name.clone();

    repo.create_branch(&branch, &wip, &[fixtures::event(application.id)])
        .await
        .expect("create_branch");

    let found = repo.find_branch(application.id, &branch.name).await.expect("find_branch");
    assert_eq!(found.as_ref(), Some(&branch), "a branch reads back as stored");
    let branches = repo.list_branches(application.id).await.expect("list_branches");
    assert_eq!(branches, [main, branch.clone()], "branches oldest first, main first");
    let stored_wip = repo.find_wip(application.id, &branch.name).await.expect("find_wip");
    assert_eq!(stored_wip.as_ref(), Some(&wip), "the branch starts with its WIP");
    let manifest = repo.list_manifest(wip.id).await.expect("list_manifest");
    let linked: Vec<_> = manifest.iter().map(|entry| &entry.resource_version_id).collect();
    assert_eq!(linked, [&resource.id], "the WIP links the committed resource version itself");
    let dependencies = repo.list_dependencies(wip.id).await.expect("list_dependencies");
    assert_eq!(dependencies, [dependency], "the WIP has the version's dependencies");
    let params: Vec<ConfigParam> =
        repo.list_config_defaults(wip.id).await.expect("list_config_defaults");
    assert_eq!(params, [param], "the WIP has the version's config defaults");
    assert_eq!(pending_for(repo, application.id).await.len(), 1, "the events are recorded");
}

/// From a WIP version, or with a name the application has: `Conflict`, no branch, no
/// version, no event.
pub async fn a_branch_from_a_wip_or_with_a_taken_name_is_a_conflict_and_stores_nothing(
    repo: &dyn AppDataRepository,
) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let from_wip = branch_from(&first, "from-wip");
    let mut wip = design_fixtures::wip_after(&first);
    wip.branch = from_wip.name.clone();

    assert_conflict(
        repo.create_branch(&from_wip, &wip, &[fixtures::event(application.id)]).await,
        "creating a branch from a WIP version",
    );
    assert_eq!(repo.find_branch(application.id, &from_wip.name).await.expect("find"), None);
    assert_eq!(repo.find_version(wip.id).await.expect("find_version"), None, "no WIP stored");

    let committed = design_fixtures::commit(repo, &first).await;
    let taken = branch_from(&committed, "main");
    let mut wip = design_fixtures::wip_after(&committed);
    wip.branch = taken.name.clone();
    assert_conflict(
        repo.create_branch(&taken, &wip, &[fixtures::event(application.id)]).await,
        "creating a branch with a taken name",
    );
    assert_eq!(repo.find_version(wip.id).await.expect("find_version"), None, "no WIP stored");
    assert_no_events(repo, application.id, "refused branch creations").await;
}
