//! `VersionService`: branches from committed versions, one WIP per branch, commits with
//! checked messages, discards.

use domain::design::model::{CommitMessage, VersionStatus};
use domain::design::{NewBranch, VersionPatch};
use domain::model::{ApplicationKind, PageRequest};

use crate::design_helpers::{DesignEnv, message};
use test_support::branch;

use crate::helpers::{admin, code_of};

#[tokio::test]
async fn a_commit_message_outside_the_charset_or_too_long_is_invalid_commit_message() {
    for bad in ["", "no: colons", &"x".repeat(51)] {
        let err = CommitMessage::parse(bad).expect_err("refused");
        assert_eq!(domain::DomainError::from(err).code(), "invalid_commit_message", "{bad:?}");
    }
}

#[tokio::test]
async fn a_wip_identical_to_its_parent_is_nothing_to_commit() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let first = design.main_wip(app.id).await;
    design.add_process(app.id, first, "p", "{}").await;
    design.commit(app.id, first).await;
    let wip = design.versions.start_wip(&admin(), app.id, &branch("main")).await.expect("start");

    let refused = design.versions.commit(&admin(), app.id, wip.id, message("again")).await;

    assert_eq!(code_of(refused), "nothing_to_commit");
}

#[tokio::test]
async fn committing_a_committed_version_is_version_committed() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let first = design.main_wip(app.id).await;
    design.commit(app.id, first).await;

    let again = design.versions.commit(&admin(), app.id, first, message("again")).await;

    assert_eq!(code_of(again), "version_committed");
}

#[tokio::test]
async fn a_second_wip_on_a_branch_is_wip_exists() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;

    let refused = design.versions.start_wip(&admin(), app.id, &branch("main")).await;

    assert_eq!(code_of(refused), "wip_exists");
}

#[tokio::test]
async fn branches_start_from_committed_versions_only_and_have_unique_names() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let first = design.main_wip(app.id).await;
    let from = |name: &str| NewBranch { name: branch(name), from_version_id: first };

    let from_wip = design.versions.create_branch(&admin(), app.id, from("feature")).await;
    design.commit(app.id, first).await;
    let (created, wip) =
        design.versions.create_branch(&admin(), app.id, from("feature")).await.expect("branch");
    let twice = design.versions.create_branch(&admin(), app.id, from("feature")).await;

    assert_eq!(code_of(from_wip), "version_not_committed");
    assert_eq!(code_of(twice), "branch_exists");
    assert_eq!(created.created_from, Some(first));
    assert_eq!((wip.status, wip.parent_id), (VersionStatus::Wip, Some(first)));
    let branches = design.versions.list_branches(app.id).await.expect("branches");
    assert_eq!(branches.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(), ["main", "feature"]);
    let on_feature = design
        .versions
        .list(app.id, Some(&branch("feature")), PageRequest::default())
        .await
        .expect("list");
    assert_eq!(on_feature.items, [wip]);
}

#[tokio::test]
async fn settings_change_on_a_wip_only_and_the_message_on_a_committed_version_only() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let first = design.main_wip(app.id).await;
    let mut settings = design.versions.get(app.id, first).await.expect("get").settings;
    settings.theme_id = Some("dark".to_owned());
    let patch_settings = VersionPatch { settings: Some(settings.clone()), commit_message: None };
    let patch_message = VersionPatch { settings: None, commit_message: Some(message("renamed")) };

    let message_on_wip =
        design.versions.patch(&admin(), app.id, first, patch_message.clone()).await;
    let patched = design.versions.patch(&admin(), app.id, first, patch_settings.clone()).await;
    design.commit(app.id, first).await;
    let settings_on_committed =
        design.versions.patch(&admin(), app.id, first, patch_settings).await;
    let renamed = design.versions.patch(&admin(), app.id, first, patch_message).await;

    assert_eq!(code_of(message_on_wip), "version_not_committed");
    assert_eq!(patched.expect("patch settings").settings, settings);
    assert_eq!(code_of(settings_on_committed), "version_committed");
    assert_eq!(renamed.expect("patch message").commit_message, Some(message("renamed")));
}

#[tokio::test]
async fn the_only_version_of_a_branch_cannot_be_discarded_and_a_later_wip_can() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let first = design.main_wip(app.id).await;

    let last = design.versions.discard(&admin(), app.id, first).await;
    design.commit(app.id, first).await;
    let committed = design.versions.discard(&admin(), app.id, first).await;
    let wip = design.versions.start_wip(&admin(), app.id, &branch("main")).await.expect("start");
    design.versions.discard(&admin(), app.id, wip.id).await.expect("discard");

    assert_eq!(code_of(last), "last_version");
    assert_eq!(code_of(committed), "version_committed");
    assert_eq!(code_of(design.versions.get(app.id, wip.id).await), "version_not_found");
}

#[tokio::test]
async fn versions_are_listed_newest_first_and_a_version_of_another_application_is_not_found() {
    let design = DesignEnv::new();
    let app = design.create("loans", ApplicationKind::Application).await.application;
    let other = design.create("cards", ApplicationKind::Application).await.application;
    let first = design.main_wip(app.id).await;
    design.commit(app.id, first).await;
    let wip = design.versions.start_wip(&admin(), app.id, &branch("main")).await.expect("start");

    let listed = design.versions.list(app.id, None, PageRequest::default()).await.expect("list");

    let ids: Vec<_> = listed.items.iter().map(|version| version.id).collect();
    assert_eq!(ids, [wip.id, first]);
    assert_eq!(code_of(design.versions.get(other.id, first).await), "version_not_found");
    assert_eq!(
        code_of(design.versions.list(app.id, Some(&branch("nope")), PageRequest::default()).await),
        "branch_not_found"
    );
}
