//! `ConfigOverrideRepository`: overrides keyed by application and key.

use domain::model::{ApplicationId, ConfigOverride};
use domain::ports::AppDataRepository;

use crate::app_data::pending_for;
use crate::fixtures;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    config_overrides_are_listed_by_key_and_replaced_by_key(repo).await;
    a_config_override_is_deleted_once(repo).await;
}

fn keys(overrides: &[ConfigOverride]) -> Vec<&str> {
    overrides.iter().map(|config_override| config_override.key.as_str()).collect()
}

/// A put creates or replaces by (application, key) and records its events; lists are
/// ordered by key and hold the application's overrides only.
pub async fn config_overrides_are_listed_by_key_and_replaced_by_key(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();
    let first = [
        fixtures::config_override(application_id, "zeta", "1"),
        fixtures::config_override(application_id, "alpha", "2"),
        fixtures::config_override(application_id, "mid.key", "3"),
    ];
    repo.put_config_overrides(&first, &[fixtures::event(application_id)])
        .await
        .expect("put_config_overrides");
    let elsewhere =
        fixtures::config_override(ApplicationId::random(), "alpha", "other application");
    repo.put_config_overrides(std::slice::from_ref(&elsewhere), &[])
        .await
        .expect("put_config_overrides in another application");

    let listed = repo.list_config_overrides(application_id).await.expect("list_config_overrides");
    assert_eq!(
        keys(&listed),
        ["alpha", "mid.key", "zeta"],
        "overrides by key, this application's only"
    );
    assert_eq!(listed[0], first[1], "an override reads back as put");

    let replacement = fixtures::config_override(application_id, "alpha", "replaced");
    repo.put_config_overrides(
        std::slice::from_ref(&replacement),
        &[fixtures::event(application_id)],
    )
    .await
    .expect("put_config_overrides again");

    let listed = repo.list_config_overrides(application_id).await.expect("list_config_overrides");
    assert_eq!(keys(&listed), ["alpha", "mid.key", "zeta"], "a put of a stored key replaces it");
    assert_eq!(listed[0], replacement, "the replacement is stored");
    let other =
        repo.list_config_overrides(elsewhere.application_id).await.expect("list_config_overrides");
    assert_eq!(other, [elsewhere], "another application's override is untouched");
    assert_eq!(pending_for(repo, application_id).await.len(), 2, "each put records its events");
}

/// `Ok(true)` once with the events recorded; `Ok(false)` afterwards and nothing recorded.
pub async fn a_config_override_is_deleted_once(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();
    let kept = fixtures::config_override(application_id, "kept", "1");
    let doomed = fixtures::config_override(application_id, "doomed", "2");
    repo.put_config_overrides(&[kept.clone(), doomed.clone()], &[])
        .await
        .expect("put_config_overrides");

    let deleted = repo
        .delete_config_override(application_id, &doomed.key, &[fixtures::event(application_id)])
        .await
        .expect("delete_config_override");
    let again = repo
        .delete_config_override(application_id, &doomed.key, &[fixtures::event(application_id)])
        .await
        .expect("delete_config_override again");

    assert!(deleted, "deleting a stored override answers true");
    assert!(!again, "deleting it again answers false");
    let listed = repo.list_config_overrides(application_id).await.expect("list_config_overrides");
    assert_eq!(listed, [kept], "only the deleted override is gone");
    assert_eq!(
        pending_for(repo, application_id).await.len(),
        1,
        "only the delete that removed something records its events"
    );
}
