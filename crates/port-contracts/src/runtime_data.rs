//! Behaviour every `RuntimeDataStore` must show: staged data is invisible, published data
//! never changes, repeated imports converge.

use domain::model::{ApplicationId, Build, BuildId, BuildResource, PageRequest};
use domain::ports::{PortError, RuntimeDataStore};
use test_support::BuildFixture;

use crate::fixtures;

/// Runs every check of the port.
pub async fn run_all(store: &dyn RuntimeDataStore) {
    crate::health::a_reachable_backend_answers_ping(store).await;
    staged_resources_are_invisible_until_the_build_is_published(store).await;
    a_published_build_and_its_resources_read_back(store).await;
    resources_are_listed_by_name_one_type_at_a_time_and_paged(store).await;
    staging_a_resource_again_replaces_it(store).await;
    staging_resources_of_a_published_build_is_a_conflict(store).await;
    publishing_the_same_build_again_is_a_no_op(store).await;
    publishing_another_checksum_under_a_published_id_is_a_conflict(store).await;
    discarding_removes_published_and_staged_data(store).await;
}

/// A build of a fresh application with `names` as PROCESS resources.
fn build_with(names: &[&str]) -> (Build, Vec<BuildResource>) {
    let build = names
        .iter()
        .fold(BuildFixture::new(ApplicationId::random()), |build, name| {
            build.resource("PROCESS", name)
        })
        .build();
    let resources = test_support::resources_of(&build);
    (build, resources)
}

async fn stage_and_publish(
    store: &dyn RuntimeDataStore,
    build: &Build,
    resources: &[BuildResource],
) {
    store.stage_resources(build.id(), resources).await.expect("stage_resources of a fresh build");
    store.publish_build(build).await.expect("publish_build of a fresh build");
}

async fn assert_invisible(
    store: &dyn RuntimeDataStore,
    build_id: BuildId,
    resource: &BuildResource,
    context: &str,
) {
    let entry = &resource.entry;
    let build = store.find_build(build_id).await.expect("find_build");
    assert_eq!(build, None, "{context}: find_build sees nothing");
    let by_id = store
        .find_resource(build_id, &entry.resource_type, &entry.definition_id)
        .await
        .expect("find_resource");
    assert_eq!(by_id, None, "{context}: find_resource sees nothing");
    let by_name = store
        .find_resource_by_name(build_id, &entry.resource_type, &entry.name)
        .await
        .expect("find_resource_by_name");
    assert_eq!(by_name, None, "{context}: find_resource_by_name sees nothing");
    let page = store
        .list_resources(build_id, &entry.resource_type, PageRequest::default())
        .await
        .expect("list_resources");
    assert!(
        page.items.is_empty() && page.total == 0,
        "{context}: list_resources gives an empty page, got {page:?}"
    );
}

/// Readers see nothing of a build before it is published.
pub async fn staged_resources_are_invisible_until_the_build_is_published(
    store: &dyn RuntimeDataStore,
) {
    let (build, resources) = build_with(&["one", "two"]);

    store.stage_resources(build.id(), &resources).await.expect("stage_resources");

    assert_invisible(store, build.id(), &resources[0], "a staged, unpublished build").await;
    store.discard_build(build.id()).await.expect("discard_build");
}

/// The build reads back equal; each resource by definition id and by name.
pub async fn a_published_build_and_its_resources_read_back(store: &dyn RuntimeDataStore) {
    let (build, resources) = build_with(&["first", "second"]);

    stage_and_publish(store, &build, &resources).await;

    let found = store.find_build(build.id()).await.expect("find_build");
    assert_eq!(found.as_ref(), Some(&build), "a published build reads back unchanged");
    for resource in &resources {
        let entry = &resource.entry;
        let by_id = store
            .find_resource(build.id(), &entry.resource_type, &entry.definition_id)
            .await
            .expect("find_resource");
        assert_eq!(by_id.as_ref(), Some(resource), "a resource reads back by definition id");
        let by_name = store
            .find_resource_by_name(build.id(), &entry.resource_type, &entry.name)
            .await
            .expect("find_resource_by_name");
        assert_eq!(by_name.as_ref(), Some(resource), "a resource reads back by name");
    }
    let other_type = fixtures::resource_type("ENUMERATION");
    let missing = store
        .find_resource(build.id(), &other_type, &resources[0].entry.definition_id)
        .await
        .expect("find_resource");
    assert_eq!(missing, None, "a resource is found under its own type only");
}

/// Ordered by name, only the asked type, pages cut from that order with the whole total.
pub async fn resources_are_listed_by_name_one_type_at_a_time_and_paged(
    store: &dyn RuntimeDataStore,
) {
    let (mut build, mut resources) = build_with(&["charlie", "alpha", "bravo"]);
    let enumeration = fixtures::resource(build.id(), "ENUMERATION", "aardvark");
    build.manifest.push(enumeration.entry.clone());
    resources.push(enumeration);
    stage_and_publish(store, &build, &resources).await;
    let process = fixtures::resource_type("PROCESS");

    let all = store
        .list_resources(build.id(), &process, PageRequest::default())
        .await
        .expect("list_resources");
    let second_page = store
        .list_resources(build.id(), &process, PageRequest::new(1, 2).expect("page"))
        .await
        .expect("list_resources");

    let names: Vec<&str> = all.items.iter().map(|resource| resource.entry.name.as_str()).collect();
    assert_eq!(names, ["alpha", "bravo", "charlie"], "resources of the asked type, by name");
    assert_eq!(all.total, 3, "the total counts the asked type only");
    let names: Vec<&str> =
        second_page.items.iter().map(|resource| resource.entry.name.as_str()).collect();
    assert_eq!(names, ["charlie"], "page 1 of size 2");
    assert_eq!(second_page.total, 3, "every page carries the total");
}

/// Staging a (build, type, definition id) again replaces the staged resource.
pub async fn staging_a_resource_again_replaces_it(store: &dyn RuntimeDataStore) {
    let (build, resources) = build_with(&["only"]);
    let mut changed = resources[0].clone();
    changed.content = domain::model::RawJson::from_validated(r#"{"changed":true}"#.to_owned());

    store.stage_resources(build.id(), &resources).await.expect("stage_resources");
    store
        .stage_resources(build.id(), std::slice::from_ref(&changed))
        .await
        .expect("stage_resources again");
    store.publish_build(&build).await.expect("publish_build");

    let entry = &changed.entry;
    let found = store
        .find_resource(build.id(), &entry.resource_type, &entry.definition_id)
        .await
        .expect("find_resource");
    assert_eq!(found.as_ref(), Some(&changed), "the second staging replaced the first");
    let listed = store
        .list_resources(build.id(), &entry.resource_type, PageRequest::default())
        .await
        .expect("list_resources");
    assert_eq!(listed.total, 1, "a restaged resource is stored once");
}

/// `Conflict` when the build is published: its resources do not change.
pub async fn staging_resources_of_a_published_build_is_a_conflict(store: &dyn RuntimeDataStore) {
    let (build, resources) = build_with(&["only"]);
    stage_and_publish(store, &build, &resources).await;
    let mut changed = resources[0].clone();
    changed.content = domain::model::RawJson::from_validated(r#"{"changed":true}"#.to_owned());
    let extra = fixtures::resource(build.id(), "PROCESS", "extra");

    let refused = store.stage_resources(build.id(), &[changed, extra.clone()]).await;

    assert!(
        matches!(refused, Err(PortError::Conflict(_))),
        "staging into a published build: expected Conflict, got {refused:?}"
    );
    let entry = &resources[0].entry;
    let kept = store
        .find_resource(build.id(), &entry.resource_type, &entry.definition_id)
        .await
        .expect("find_resource");
    assert_eq!(kept.as_ref(), Some(&resources[0]), "a published resource never changes");
    let added = store
        .find_resource_by_name(build.id(), &extra.entry.resource_type, &extra.entry.name)
        .await
        .expect("find_resource_by_name");
    assert_eq!(added, None, "a published build gains no resource");
}

/// Publishing the same id and checksum again is `Ok` and changes nothing.
pub async fn publishing_the_same_build_again_is_a_no_op(store: &dyn RuntimeDataStore) {
    let (build, resources) = build_with(&["only"]);
    stage_and_publish(store, &build, &resources).await;

    store.publish_build(&build).await.expect("publishing the same build again is Ok");

    let found = store.find_build(build.id()).await.expect("find_build");
    assert_eq!(found.as_ref(), Some(&build), "the build is unchanged");
}

/// `Conflict` for another checksum under a published id; the published build stays.
pub async fn publishing_another_checksum_under_a_published_id_is_a_conflict(
    store: &dyn RuntimeDataStore,
) {
    let (build, resources) = build_with(&["only"]);
    stage_and_publish(store, &build, &resources).await;
    let mut other = build.clone();
    other.header.checksum = fixtures::checksum();
    other.header.name = "other content".to_owned();

    let refused = store.publish_build(&other).await;

    assert!(
        matches!(refused, Err(PortError::Conflict(_))),
        "publishing another checksum: expected Conflict, got {refused:?}"
    );
    let found = store.find_build(build.id()).await.expect("find_build");
    assert_eq!(found.as_ref(), Some(&build), "the published build stays");
}

/// A discarded build is gone with its resources, published or staged; discarding nothing
/// is `Ok`; the id can then be staged and published afresh.
pub async fn discarding_removes_published_and_staged_data(store: &dyn RuntimeDataStore) {
    let (published, published_resources) = build_with(&["one"]);
    stage_and_publish(store, &published, &published_resources).await;
    let (staged, staged_resources) = build_with(&["two"]);
    store.stage_resources(staged.id(), &staged_resources).await.expect("stage_resources");

    store.discard_build(published.id()).await.expect("discard_build of a published build");
    store.discard_build(staged.id()).await.expect("discard_build of a staged build");
    store.discard_build(BuildId::random()).await.expect("discarding nothing is not an error");

    assert_invisible(store, published.id(), &published_resources[0], "a discarded published build")
        .await;
    store.publish_build(&staged).await.expect("publish_build after discard");
    let found = store.find_build(staged.id()).await.expect("find_build");
    assert_eq!(found.as_ref(), Some(&staged), "a discarded id can be published afresh");
    let entry = &staged_resources[0].entry;
    let resource = store
        .find_resource(staged.id(), &entry.resource_type, &entry.definition_id)
        .await
        .expect("find_resource");
    assert_eq!(resource, None, "discarded staged resources do not come back with a later publish");

    let mut again = published.clone();
    again.header.checksum = fixtures::checksum();
    stage_and_publish(store, &again, &published_resources).await;
    let found = store.find_build(published.id()).await.expect("find_build");
    assert_eq!(found.as_ref(), Some(&again), "after discard, the id takes any content");
}
