//! `ConfigDefaultsRepository`: defaults by key, set all at once, on a WIP only.

use domain::model::ApplicationKind;
use domain::ports::AppDataRepository;

use crate::app_data::design_fixtures::{self, Stored};
use crate::app_data::{assert_conflict, assert_no_events, pending_for};
use crate::fixtures;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    config_defaults_are_listed_by_key_replaced_by_key_and_deleted_once(repo).await;
    a_committed_version_refuses_config_default_changes(repo).await;
}

/// A put of many creates or replaces by key and records its events; lists are by key; a
/// delete answers `true` once, then `false`.
pub async fn config_defaults_are_listed_by_key_replaced_by_key_and_deleted_once(
    repo: &dyn AppDataRepository,
) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let params = [design_fixtures::param("zeta", "1"), design_fixtures::param("alpha", "2")];
    repo.put_config_defaults(first.id, &params, &[fixtures::event(application.id)])
        .await
        .expect("put_config_defaults");
    let replacement = design_fixtures::param("zeta", "replaced");
    repo.put_config_defaults(first.id, std::slice::from_ref(&replacement), &[])
        .await
        .expect("put_config_defaults again");

    let listed = repo.list_config_defaults(first.id).await.expect("list_config_defaults");
    assert_eq!(listed, [params[1].clone(), replacement], "by key, replaced by key");

    let key = fixtures::key("alpha");
    let removed = repo
        .delete_config_default(first.id, &key, &[fixtures::event(application.id)])
        .await
        .expect("delete_config_default");
    let again = repo
        .delete_config_default(first.id, &key, &[fixtures::event(application.id)])
        .await
        .expect("delete_config_default again");
    assert!(removed && !again, "a default is deleted once");
    assert_eq!(
        pending_for(repo, application.id).await.len(),
        2,
        "writes that change record events"
    );
}

/// `Conflict` for a put or delete on a committed version: none of the put is stored.
pub async fn a_committed_version_refuses_config_default_changes(repo: &dyn AppDataRepository) {
    let Stored { application, first, .. } =
        design_fixtures::stored(repo, ApplicationKind::Application).await;
    let kept = design_fixtures::param("kept", "1");
    repo.put_config_defaults(first.id, std::slice::from_ref(&kept), &[]).await.expect("put");
    design_fixtures::commit(repo, &first).await;

    let many = [design_fixtures::param("a", "1"), design_fixtures::param("kept", "2")];
    assert_conflict(
        repo.put_config_defaults(first.id, &many, &[fixtures::event(application.id)]).await,
        "setting config defaults of a committed version",
    );
    assert_conflict(
        repo.delete_config_default(first.id, &kept.key, &[fixtures::event(application.id)]).await,
        "removing a config default of a committed version",
    );
    assert_eq!(repo.list_config_defaults(first.id).await.expect("list"), [kept]);
    assert_no_events(repo, application.id, "refused config default changes").await;
}
