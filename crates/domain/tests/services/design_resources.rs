//! `ResourceService`: names per (version, type), copy on write, `If-Match`, binaries.

use bytes::Bytes;
use domain::design::ResourceEdit;
use domain::design::model::ResourceStatus;
use domain::model::{ApplicationKind, PageRequest};
use domain::ports::{BlobKey, BlobStore};

use crate::design_helpers::{DesignEnv, assert_new_id, json, new_resource, process};
use test_support::branch;

use crate::helpers::{admin, code_of};

fn edit(content: &str, if_match: Option<String>) -> ResourceEdit {
    ResourceEdit { name: None, content: json(content), if_match }
}

#[tokio::test]
async fn editing_after_a_commit_copies_the_edited_resource_only_and_the_commit_keeps_the_old_content()
 {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let first = design.main_wip(app.id).await;
    let edited = design.add_process(app.id, first, "edited", r#"{"v":1}"#).await;
    let untouched = design.add_process(app.id, first, "untouched", r#"{"v":1}"#).await;
    design.commit(app.id, first).await;
    let wip = design.versions.start_wip(&admin(), app.id, &branch("main")).await.expect("start");

    let updated = design
        .resources
        .update(
            &admin(),
            app.id,
            wip.id,
            process(),
            edited.definition_id.clone(),
            edit(r#"{"v":2}"#, None),
        )
        .await
        .expect("update");

    assert_new_id(&edited.id, &updated.id);
    assert_eq!(updated.definition_id, edited.definition_id, "the definition id stays");
    assert_eq!(updated.status, ResourceStatus::Wip);
    let manifest = design.resources.manifest(app.id, wip.id).await.expect("manifest");
    let ids: Vec<_> = manifest.iter().map(|entry| entry.resource_version_id.clone()).collect();
    assert_eq!(ids, [updated.id.clone(), untouched.id.clone()], "the other keeps its id");
    let committed = design
        .resources
        .get(app.id, first, &process(), &edited.definition_id)
        .await
        .expect("get from the commit");
    assert_eq!(committed.id, edited.id);
    assert_eq!(committed.content, json(r#"{"v":1}"#), "the commit still shows the old content");

    let again = design
        .resources
        .update(
            &admin(),
            app.id,
            wip.id,
            process(),
            edited.definition_id.clone(),
            edit(r#"{"v":3}"#, None),
        )
        .await
        .expect("update again");
    assert_eq!(again.id, updated.id, "a WIP resource version changes in place");
    design
        .versions
        .commit(&admin(), app.id, wip.id, crate::design_helpers::message("v2"))
        .await
        .expect("commit");
}

#[tokio::test]
async fn a_stale_if_match_is_precondition_failed_and_the_current_one_passes() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let wip = design.main_wip(app.id).await;
    let resource = design.add_process(app.id, wip, "guarded", "{}").await;
    let definition_id = resource.definition_id.clone();
    let current = design.resources.get(app.id, wip, &process(), &definition_id).await.expect("get");

    let first = design
        .resources
        .update(
            &admin(),
            app.id,
            wip,
            process(),
            definition_id.clone(),
            edit(r#"{"a":1}"#, Some(current.etag())),
        )
        .await
        .expect("update with the current etag");
    let stale = design
        .resources
        .update(
            &admin(),
            app.id,
            wip,
            process(),
            definition_id,
            edit(r#"{"a":2}"#, Some(current.etag())),
        )
        .await;

    assert_ne!(first.etag(), current.etag(), "the etag changes with the content");
    assert_eq!(code_of(stale), "precondition_failed");
}

#[tokio::test]
async fn a_name_taken_in_the_version_and_type_is_resource_name_taken() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let wip = design.main_wip(app.id).await;
    design.add_process(app.id, wip, "taken", "{}").await;
    let other = design.add_process(app.id, wip, "other", "{}").await;

    let created = design
        .resources
        .create(&admin(), app.id, wip, process(), new_resource("taken", "{}"))
        .await;
    let renamed = design
        .resources
        .update(
            &admin(),
            app.id,
            wip,
            process(),
            other.definition_id,
            ResourceEdit {
                name: Some("taken".parse().expect("valid")),
                content: json("{}"),
                if_match: None,
            },
        )
        .await;
    let elsewhere = domain::model::ResourceType::parse("ENUMERATION").expect("valid");
    design
        .resources
        .create(&admin(), app.id, wip, elsewhere, new_resource("taken", "{}"))
        .await
        .expect("another type may use the name");

    assert_eq!(code_of(created), "resource_name_taken");
    assert_eq!(code_of(renamed), "resource_name_taken");
}

#[tokio::test]
async fn resources_of_a_committed_version_cannot_change() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let first = design.main_wip(app.id).await;
    let resource = design.add_process(app.id, first, "frozen", "{}").await;
    design.commit(app.id, first).await;

    let created = design
        .resources
        .create(&admin(), app.id, first, process(), new_resource("late", "{}"))
        .await;
    let updated = design
        .resources
        .update(
            &admin(),
            app.id,
            first,
            process(),
            resource.definition_id.clone(),
            edit("{}", None),
        )
        .await;
    let deleted =
        design.resources.delete(&admin(), app.id, first, &process(), &resource.definition_id).await;

    assert_eq!(code_of(created), "version_committed");
    assert_eq!(code_of(updated), "version_committed");
    assert_eq!(code_of(deleted), "version_committed");
}

#[tokio::test]
async fn a_content_naming_an_unstored_binary_is_unknown_binary() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let wip = design.main_wip(app.id).await;
    let sha = "ab".repeat(32);
    let content = format!(r#"{{"image":"binaries/{sha}"}}"#);

    let refused = design
        .resources
        .create(&admin(), app.id, wip, process(), new_resource("logo", &content))
        .await;
    design
        .env
        .fakes
        .blobs
        .put(&BlobKey::binary(&sha).expect("valid"), Bytes::from_static(b"png"))
        .await
        .expect("store the binary");
    let accepted = design
        .resources
        .create(&admin(), app.id, wip, process(), new_resource("logo", &content))
        .await;

    assert_eq!(code_of(refused), "unknown_binary");
    accepted.expect("a stored binary may be named");
}

#[tokio::test]
async fn a_deleted_resource_is_unlinked_from_the_wip_and_listed_no_more() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let wip = design.main_wip(app.id).await;
    let doomed = design.add_process(app.id, wip, "doomed", "{}").await;
    let kept = design.add_process(app.id, wip, "kept", "{}").await;

    design
        .resources
        .delete(&admin(), app.id, wip, &process(), &doomed.definition_id)
        .await
        .expect("delete");

    let listed =
        design.resources.list(app.id, wip, &process(), PageRequest::default()).await.expect("list");
    assert_eq!(listed.items, [kept.manifest_entry()]);
    assert_eq!(
        code_of(design.resources.get(app.id, wip, &process(), &doomed.definition_id).await),
        "resource_not_found"
    );
    assert_eq!(
        code_of(
            design.resources.delete(&admin(), app.id, wip, &process(), &doomed.definition_id).await
        ),
        "resource_not_found"
    );
}
