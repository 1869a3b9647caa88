//! `ResourceRepository`: one name per (version, type), copy on write of committed resource
//! versions, compare-and-set on the etag, and pages of contents for builds.

use domain::design::model::{ResourceChange, ResourceStatus, ResourceUpdate, ResourceVersion};
use domain::model::{ApplicationKind, PageRequest, RawJson};
use domain::ports::AppDataRepository;
use futures_util::future::join_all;

use crate::app_data::design_fixtures::{self, Stored};
use crate::app_data::design_versions::assert_one_winner;
use crate::app_data::{assert_conflict, assert_no_events, pending_for};
use crate::fixtures;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    a_created_resource_is_in_the_manifest_and_reads_back_with_content(repo).await;
    a_taken_name_or_definition_id_or_a_committed_version_refuses_a_create(repo).await;
    of_racing_creates_with_one_name_exactly_one_wins(repo).await;
    a_wip_resource_changes_in_place_and_a_committed_one_is_copied(repo).await;
    a_stale_etag_or_a_taken_name_changes_nothing(repo).await;
    unlinking_removes_the_link_and_only_a_wip_resource_version(repo).await;
    contents_are_paged_by_type_then_definition_id(repo).await;
}

fn change(
    resource: &ResourceVersion,
    content: &str,
    expected_etag: Option<String>,
) -> ResourceChange {
    ResourceChange {
        resource_type: resource.resource_type.clone(),
        definition_id: resource.definition_id.clone(),
        name: resource.name.clone(),
        content: RawJson::from_validated(content.to_owned()),
        expected_etag,
        copy_id: design_fixtures::resource_version_id(),
        at: fixtures::seconds_from_now(1),
    }
}

/// The manifest lists it (type, then name) without content; `find_resource` returns it as
/// stored; the events are recorded.
pub async fn a_created_resource_is_in_the_manifest_and_reads_back_with_content(
    repo: &dyn AppDataRepository,
) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let b = design_fixtures::resource("PROCESS", "b-process");
    let a = design_fixtures::resource("PROCESS", "a-process");
    let tag = design_fixtures::resource("ENUMERATION", "z-enum");
    for resource in [&b, &a, &tag] {
        repo.create_resource(first.id, resource, &[fixtures::event(application.id)])
            .await
            .expect("create_resource");
    }

    let manifest = repo.list_manifest(first.id).await.expect("list_manifest");
    let found = repo
        .find_resource(first.id, &a.resource_type, &a.definition_id)
        .await
        .expect("find_resource");

    assert_eq!(manifest, [tag.manifest_entry(), a.manifest_entry(), b.manifest_entry()]);
    assert_eq!(found.as_ref(), Some(&a), "a resource reads back as stored");
    assert_eq!(pending_for(repo, application.id).await.len(), 3, "each create records events");
    let elsewhere = repo
        .find_resource(first.id, &fixtures::resource_type("TASK_VIEW"), &a.definition_id)
        .await
        .expect("find_resource");
    assert_eq!(elsewhere, None, "a resource is found under its own type only");
}

/// `Conflict` for a name the type has in the version, for a definition id the type has, and
/// in a committed version; nothing stored. Another type may use the name.
pub async fn a_taken_name_or_definition_id_or_a_committed_version_refuses_a_create(
    repo: &dyn AppDataRepository,
) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let original = design_fixtures::resource("PROCESS", "taken");
    design_fixtures::add(repo, first.id, &original).await;
    let same_name = design_fixtures::resource("PROCESS", "taken");
    let same_definition = ResourceVersion {
        name: design_fixtures::resource_name("free"),
        ..design_fixtures::resource("PROCESS", "x")
    };
    let same_definition =
        ResourceVersion { definition_id: original.definition_id.clone(), ..same_definition };

    assert_conflict(
        repo.create_resource(first.id, &same_name, &[fixtures::event(application.id)]).await,
        "creating a resource with a name the type has in the version",
    );
    assert_conflict(
        repo.create_resource(first.id, &same_definition, &[fixtures::event(application.id)]).await,
        "creating a resource with a definition id the type has in the version",
    );
    let manifest = repo.list_manifest(first.id).await.expect("list_manifest");
    assert_eq!(manifest, [original.manifest_entry()], "refused creates store nothing");
    assert_no_events(repo, application.id, "refused creates").await;
    let other_type = design_fixtures::resource("ENUMERATION", "taken");
    design_fixtures::add(repo, first.id, &other_type).await;

    design_fixtures::commit(repo, &first).await;
    assert_conflict(
        repo.create_resource(first.id, &design_fixtures::resource("PROCESS", "late"), &[]).await,
        "creating a resource in a committed version",
    );
}

/// Racing creates of one name in one (version, type): exactly one `Ok`, one resource.
pub async fn of_racing_creates_with_one_name_exactly_one_wins(repo: &dyn AppDataRepository) {
    let Stored { first, .. } = design_fixtures::stored(repo, ApplicationKind::Application).await;
    let racers: Vec<ResourceVersion> =
        (0..8).map(|_| design_fixtures::resource("PROCESS", "contested")).collect();

    let results =
        join_all(racers.iter().map(|resource| repo.create_resource(first.id, resource, &[]))).await;

    assert_one_winner(results, "racing creates with one name");
    assert_eq!(repo.list_manifest(first.id).await.expect("list_manifest").len(), 1);
}

/// In a WIP resource version: same id, new content, revision up, new etag. In a committed
/// one: a WIP copy with `copy_id`, linked from the WIP, while the committed version keeps
/// the old id and content.
pub async fn a_wip_resource_changes_in_place_and_a_committed_one_is_copied(
    repo: &dyn AppDataRepository,
) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let resource = design_fixtures::resource("PROCESS", "edited");
    design_fixtures::add(repo, first.id, &resource).await;
    let in_place = change(&resource, r#"{"v":2}"#, Some(resource.etag()));

    let ResourceUpdate::Updated(updated) = repo
        .update_resource(first.id, &in_place, &[fixtures::event(application.id)])
        .await
        .expect("update_resource")
    else {
        panic!("an update with the current etag changes the resource");
    };

    assert_eq!(updated.id, resource.id, "a WIP resource version changes in place");
    assert_eq!(updated.content, in_place.content);
    assert_eq!(updated.revision, resource.revision + 1, "the revision goes up");
    assert_ne!(updated.etag(), resource.etag(), "the etag changes with the content");
    let read = repo
        .find_resource(first.id, &resource.resource_type, &resource.definition_id)
        .await
        .expect("find_resource");
    assert_eq!(read.as_ref(), Some(&updated), "the change is stored");

    let parent = design_fixtures::commit(repo, &first).await;
    let wip = design_fixtures::wip_after(&parent);
    repo.start_wip(&wip, &[]).await.expect("start_wip");
    let copy = change(&resource, r#"{"v":3}"#, None);
    let ResourceUpdate::Updated(copied) =
        repo.update_resource(wip.id, &copy, &[]).await.expect("update_resource")
    else {
        panic!("an update without an etag changes the resource");
    };

    assert_eq!(copied.id, copy.copy_id, "a committed resource version is copied");
    assert_eq!(copied.definition_id, resource.definition_id, "under the same definition id");
    assert_eq!(copied.status, ResourceStatus::Wip, "the copy is WIP");
    assert_eq!(copied.content, copy.content);
    let in_parent = repo
        .find_resource(parent.id, &resource.resource_type, &resource.definition_id)
        .await
        .expect("find_resource")
        .expect("the committed version keeps its resource");
    assert_eq!(in_parent.id, resource.id, "the committed version keeps the old id");
    assert_eq!(in_parent.content, in_place.content, "and the old content");
    assert_eq!(in_parent.status, ResourceStatus::Committed);
    let missing = ResourceChange {
        definition_id: domain::model::ResourceDefinitionId::parse("missing").expect("valid"),
        ..copy
    };
    assert_eq!(
        repo.update_resource(wip.id, &missing, &[]).await.expect("update_resource"),
        ResourceUpdate::Missing,
        "a resource the version does not link is missing"
    );
}

/// A stale etag: `StaleEtag` with the current one; a name another resource of the type has:
/// `Conflict`; a committed version: `Conflict`. Nothing changes, nothing is recorded.
pub async fn a_stale_etag_or_a_taken_name_changes_nothing(repo: &dyn AppDataRepository) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let resource = design_fixtures::resource("PROCESS", "guarded");
    let neighbour = design_fixtures::resource("PROCESS", "neighbour");
    design_fixtures::add(repo, first.id, &resource).await;
    design_fixtures::add(repo, first.id, &neighbour).await;

    let stale = change(&resource, r#"{"v":9}"#, Some(format!("{}.0", resource.id)));
    let outcome = repo
        .update_resource(first.id, &stale, &[fixtures::event(application.id)])
        .await
        .expect("update_resource");
    assert_eq!(outcome, ResourceUpdate::StaleEtag { current: resource.etag() });

    let renamed = ResourceChange { name: neighbour.name.clone(), ..change(&resource, "{}", None) };
    assert_conflict(
        repo.update_resource(first.id, &renamed, &[fixtures::event(application.id)]).await,
        "renaming a resource to a name the type has",
    );
    let read = repo
        .find_resource(first.id, &resource.resource_type, &resource.definition_id)
        .await
        .expect("find_resource");
    assert_eq!(read.as_ref(), Some(&resource), "refused updates change nothing");
    assert_no_events(repo, application.id, "refused updates").await;

    design_fixtures::commit(repo, &first).await;
    assert_conflict(
        repo.update_resource(first.id, &change(&resource, "{}", None), &[]).await,
        "updating a resource of a committed version",
    );
}

/// `Ok(true)` once and the link is gone; `Ok(false)` after; a committed version refuses.
pub async fn unlinking_removes_the_link_and_only_a_wip_resource_version(
    repo: &dyn AppDataRepository,
) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let resource = design_fixtures::resource("PROCESS", "unlinked");
    design_fixtures::add(repo, first.id, &resource).await;
    let (resource_type, definition_id) = (&resource.resource_type, &resource.definition_id);

    let removed = repo
        .unlink_resource(first.id, resource_type, definition_id, &[fixtures::event(application.id)])
        .await
        .expect("unlink_resource");
    let again = repo
        .unlink_resource(first.id, resource_type, definition_id, &[fixtures::event(application.id)])
        .await
        .expect("unlink_resource again");

    assert!(removed, "unlinking a linked resource answers true");
    assert!(!again, "unlinking it again answers false");
    assert!(repo.list_manifest(first.id).await.expect("list_manifest").is_empty());
    assert_eq!(pending_for(repo, application.id).await.len(), 1, "only the unlink recorded");
    design_fixtures::commit(repo, &first).await;
    assert_conflict(
        repo.unlink_resource(first.id, resource_type, definition_id, &[]).await,
        "unlinking from a committed version",
    );
}

/// Pages of contents in (type, definition id) order, with the total.
pub async fn contents_are_paged_by_type_then_definition_id(repo: &dyn AppDataRepository) {
    let Stored { first, .. } = design_fixtures::stored(repo, ApplicationKind::Application).await;
    let mut resources: Vec<ResourceVersion> = (0..7)
        .map(|i| {
            design_fixtures::resource(
                if i % 2 == 0 { "PROCESS" } else { "ENUMERATION" },
                &format!("r{i}"),
            )
        })
        .collect();
    for resource in &resources {
        design_fixtures::add(repo, first.id, resource).await;
    }
    resources.sort_by(|a, b| {
        (&a.resource_type, &a.definition_id).cmp(&(&b.resource_type, &b.definition_id))
    });

    let mut read = Vec::new();
    for number in 0..3 {
        let page = repo
            .list_resource_contents(first.id, PageRequest::new(number, 3).expect("valid page"))
            .await
            .expect("list_resource_contents");
        assert_eq!(page.total, 7, "every page carries the total");
        read.extend(page.items);
    }

    assert_eq!(read, resources, "the pages together hold every resource, in order, with content");
}
