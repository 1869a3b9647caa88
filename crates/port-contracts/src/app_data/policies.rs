//! `PolicyRepository`: the global policy and overrides, their keys and their references.

use domain::model::{
    ApplicationId, BuildHeader, PolicyOverride, PolicyOverrideId, PolicyTarget, SubjectType,
};
use domain::ports::AppDataRepository;
use test_support::BuildFixture;

use crate::app_data::{assert_conflict, assert_no_events, pending_for, store_header, unchanged};
use crate::fixtures;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    an_application_without_a_policy_has_none(repo).await;
    the_global_policy_is_set_and_replaced_with_its_events(repo).await;
    a_global_policy_naming_a_missing_build_is_a_conflict(repo).await;
    a_global_policy_naming_another_applications_build_is_a_conflict(repo).await;
    overrides_are_listed_by_subject_type_then_subject_id(repo).await;
    an_override_is_found_only_in_its_application(repo).await;
    a_subject_has_at_most_one_override_per_application(repo).await;
    an_override_naming_a_missing_or_foreign_build_is_a_conflict(repo).await;
    an_override_is_updated_unless_that_gives_a_subject_two(repo).await;
    an_override_is_deleted_once(repo).await;
    the_policy_revision_is_the_sequence_of_the_last_policy_event(repo).await;
}

async fn stored_build(repo: &dyn AppDataRepository, application_id: ApplicationId) -> BuildHeader {
    let header = BuildFixture::new(application_id).header();
    store_header(repo, &header).await;
    header
}

fn on_main() -> PolicyTarget {
    PolicyTarget::LatestOnBranch(fixtures::branch("main"))
}

/// `find_active_policy` is `Ok(None)` before any is set.
pub async fn an_application_without_a_policy_has_none(repo: &dyn AppDataRepository) {
    let found = repo.find_active_policy(ApplicationId::random()).await.expect("find_active_policy");
    assert_eq!(found, None, "a fresh application has no global policy");
}

/// A BUILD policy naming the application's build is stored, a LATEST_ON_BRANCH policy
/// replaces it, and each put records its events.
pub async fn the_global_policy_is_set_and_replaced_with_its_events(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();
    let header = stored_build(repo, application_id).await;
    let fixed = fixtures::policy(application_id, PolicyTarget::Build(header.id));
    let events = [fixtures::event(application_id)];

    repo.put_active_policy(&fixed, &unchanged(repo, application_id).await, &events)
        .await
        .expect("put_active_policy naming the application's build");
    let found = repo.find_active_policy(application_id).await.expect("find_active_policy");
    assert_eq!(found.as_ref(), Some(&fixed), "the policy reads back as put");

    let on_branch = fixtures::policy(application_id, on_main());
    repo.put_active_policy(&on_branch, &unchanged(repo, application_id).await, &events)
        .await
        .expect("put_active_policy replacing the policy");
    let found = repo.find_active_policy(application_id).await.expect("find_active_policy");
    assert_eq!(found.as_ref(), Some(&on_branch), "a second put replaces the policy");

    let recorded = pending_for(repo, application_id).await;
    assert_eq!(recorded.len(), 2, "each put records its events, got {recorded:?}");
}

/// `Conflict` for a BUILD target without a header: nothing stored, nothing recorded.
pub async fn a_global_policy_naming_a_missing_build_is_a_conflict(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();
    let policy =
        fixtures::policy(application_id, PolicyTarget::Build(domain::model::BuildId::random()));

    let schedule = unchanged(repo, application_id).await;
    let refused =
        repo.put_active_policy(&policy, &schedule, &[fixtures::event(application_id)]).await;

    assert_conflict(refused, "a global policy naming a build that does not exist");
    let found = repo.find_active_policy(application_id).await.expect("find_active_policy");
    assert_eq!(found, None, "a refused policy is not stored");
    assert_no_events(repo, application_id, "a refused policy").await;
}

/// `Conflict` for a BUILD target of another application: the previous policy stays.
pub async fn a_global_policy_naming_another_applications_build_is_a_conflict(
    repo: &dyn AppDataRepository,
) {
    let application_id = ApplicationId::random();
    let before = fixtures::policy(application_id, on_main());
    repo.put_active_policy(&before, &unchanged(repo, application_id).await, &[])
        .await
        .expect("put_active_policy on a branch");
    let foreign = stored_build(repo, ApplicationId::random()).await;

    let schedule = unchanged(repo, application_id).await;
    let refused = repo
        .put_active_policy(
            &fixtures::policy(application_id, PolicyTarget::Build(foreign.id)),
            &schedule,
            &[fixtures::event(application_id)],
        )
        .await;

    assert_conflict(refused, "a global policy naming another application's build");
    let found = repo.find_active_policy(application_id).await.expect("find_active_policy");
    assert_eq!(found.as_ref(), Some(&before), "a refused put leaves the previous policy");
    assert_no_events(repo, application_id, "a refused policy").await;
}

/// Ordered by subject type (USER, GROUP, ROLE, as `SubjectType` orders them), then subject
/// id; only the application's own.
pub async fn overrides_are_listed_by_subject_type_then_subject_id(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();
    let subjects = [
        (SubjectType::Group, "b-team"),
        (SubjectType::Role, "ROLE_X"),
        (SubjectType::User, "zoe"),
        (SubjectType::Group, "a-team"),
        (SubjectType::User, "adam"),
    ];
    for (subject_type, subject_id) in subjects {
        let policy_override =
            fixtures::policy_override(application_id, subject_type, subject_id, on_main());
        repo.insert_policy_override(&policy_override, &[]).await.expect("insert_policy_override");
    }
    let elsewhere =
        fixtures::policy_override(ApplicationId::random(), SubjectType::User, "adam", on_main());
    repo.insert_policy_override(&elsewhere, &[])
        .await
        .expect("insert_policy_override in another application");

    let listed = repo.list_policy_overrides(application_id).await.expect("list_policy_overrides");

    let order: Vec<(SubjectType, &str)> =
        listed.iter().map(|found| (found.subject_type, found.subject_id.as_str())).collect();
    assert_eq!(
        order,
        [
            (SubjectType::User, "adam"),
            (SubjectType::User, "zoe"),
            (SubjectType::Group, "a-team"),
            (SubjectType::Group, "b-team"),
            (SubjectType::Role, "ROLE_X")
        ],
        "overrides by subject type, then subject id, this application's only"
    );
}

/// Found by application and id, as inserted; `None` under another application or for an
/// unknown id.
pub async fn an_override_is_found_only_in_its_application(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();
    let header = stored_build(repo, application_id).await;
    let policy_override = fixtures::policy_override(
        application_id,
        SubjectType::User,
        "alice",
        PolicyTarget::Build(header.id),
    );
    repo.insert_policy_override(&policy_override, &[]).await.expect("insert_policy_override");

    let found = repo
        .find_policy_override(application_id, policy_override.id)
        .await
        .expect("find_policy_override");
    let elsewhere = repo
        .find_policy_override(ApplicationId::random(), policy_override.id)
        .await
        .expect("find_policy_override");
    let unknown = repo
        .find_policy_override(application_id, PolicyOverrideId::random())
        .await
        .expect("find_policy_override");

    assert_eq!(found.as_ref(), Some(&policy_override), "an override reads back as inserted");
    assert_eq!(elsewhere, None, "an override is not found under another application");
    assert_eq!(unknown, None, "an unknown override id is not found");
}

/// `Conflict` for a second override of one (application, subject type, subject id); the
/// same subject id under another type or application is fine.
pub async fn a_subject_has_at_most_one_override_per_application(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();
    let first = fixtures::policy_override(application_id, SubjectType::User, "alice", on_main());
    repo.insert_policy_override(&first, &[]).await.expect("insert_policy_override");

    let second = fixtures::policy_override(application_id, SubjectType::User, "alice", on_main());
    let refused = repo.insert_policy_override(&second, &[fixtures::event(application_id)]).await;

    assert_conflict(refused, "a second USER override for one subject");
    assert_no_events(repo, application_id, "a refused insert").await;
    let found =
        repo.find_policy_override(application_id, second.id).await.expect("find_policy_override");
    assert_eq!(found, None, "a refused override is not stored");
    let as_group =
        fixtures::policy_override(application_id, SubjectType::Group, "alice", on_main());
    repo.insert_policy_override(&as_group, &[])
        .await
        .expect("the same subject id as a GROUP is another subject");
    let elsewhere =
        fixtures::policy_override(ApplicationId::random(), SubjectType::User, "alice", on_main());
    repo.insert_policy_override(&elsewhere, &[])
        .await
        .expect("the same subject in another application is another subject");
}

/// `Conflict` on insert and on update for a BUILD target that does not exist or belongs to
/// another application; the stored override is unchanged.
pub async fn an_override_naming_a_missing_or_foreign_build_is_a_conflict(
    repo: &dyn AppDataRepository,
) {
    let application_id = ApplicationId::random();
    let foreign = stored_build(repo, ApplicationId::random()).await;
    let bad_targets =
        [PolicyTarget::Build(domain::model::BuildId::random()), PolicyTarget::Build(foreign.id)];
    for target in &bad_targets {
        let policy_override =
            fixtures::policy_override(application_id, SubjectType::User, "bob", target.clone());
        let refused =
            repo.insert_policy_override(&policy_override, &[fixtures::event(application_id)]).await;
        assert_conflict(refused, &format!("inserting an override naming {target:?}"));
    }
    let stored = fixtures::policy_override(application_id, SubjectType::User, "bob", on_main());
    repo.insert_policy_override(&stored, &[]).await.expect("insert_policy_override on a branch");
    for target in bad_targets {
        let changed = PolicyOverride { target: target.clone(), ..stored.clone() };
        let refused =
            repo.update_policy_override(&changed, &[fixtures::event(application_id)]).await;
        assert_conflict(refused, &format!("updating an override to name {target:?}"));
    }
    let kept =
        repo.find_policy_override(application_id, stored.id).await.expect("find_policy_override");
    assert_eq!(kept.as_ref(), Some(&stored), "refused updates leave the override");
    assert_no_events(repo, application_id, "refused inserts and updates").await;
}

/// `Ok(true)` and the new value; `Ok(false)` for an unknown id; `Conflict` (and nothing
/// changed) when the change gives a subject a second override.
pub async fn an_override_is_updated_unless_that_gives_a_subject_two(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();
    let header = stored_build(repo, application_id).await;
    let alice = fixtures::policy_override(application_id, SubjectType::User, "alice", on_main());
    let bob = fixtures::policy_override(application_id, SubjectType::User, "bob", on_main());
    for policy_override in [&alice, &bob] {
        repo.insert_policy_override(policy_override, &[]).await.expect("insert_policy_override");
    }

    let retargeted = PolicyOverride { target: PolicyTarget::Build(header.id), ..alice.clone() };
    let updated = repo
        .update_policy_override(&retargeted, &[fixtures::event(application_id)])
        .await
        .expect("update_policy_override");
    assert!(updated, "updating a stored override answers true");
    let found =
        repo.find_policy_override(application_id, alice.id).await.expect("find_policy_override");
    assert_eq!(found.as_ref(), Some(&retargeted), "the update is stored");
    assert_eq!(pending_for(repo, application_id).await.len(), 1, "the update records its event");

    let unknown = PolicyOverride {
        id: PolicyOverrideId::random(),
        subject_id: "carol".to_owned(),
        ..alice.clone()
    };
    let updated = repo
        .update_policy_override(&unknown, &[])
        .await
        .expect("update_policy_override of an unknown id");
    assert!(!updated, "updating an unknown override answers false");
    let moved = PolicyOverride { application_id: ApplicationId::random(), ..alice.clone() };
    let updated = repo
        .update_policy_override(&moved, &[])
        .await
        .expect("update_policy_override under another application");
    assert!(!updated, "an override is matched by application and id");

    let bob_as_alice = PolicyOverride { subject_id: "alice".to_owned(), ..bob.clone() };
    let refused =
        repo.update_policy_override(&bob_as_alice, &[fixtures::event(application_id)]).await;
    assert_conflict(refused, "an update that gives a subject two overrides");
    let kept =
        repo.find_policy_override(application_id, bob.id).await.expect("find_policy_override");
    assert_eq!(kept.as_ref(), Some(&bob), "a refused update changes nothing");
    assert_eq!(
        pending_for(repo, application_id).await.len(),
        1,
        "a refused update records nothing"
    );
}

/// `Ok(true)` and gone with its events recorded; `Ok(false)` the second time or under
/// another application.
pub async fn an_override_is_deleted_once(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();
    let policy_override =
        fixtures::policy_override(application_id, SubjectType::Role, "ROLE_OLD", on_main());
    repo.insert_policy_override(&policy_override, &[]).await.expect("insert_policy_override");

    let elsewhere = repo
        .delete_policy_override(ApplicationId::random(), policy_override.id, &[])
        .await
        .expect("delete under another application");
    assert!(!elsewhere, "an override is not deleted under another application");
    let deleted = repo
        .delete_policy_override(
            application_id,
            policy_override.id,
            &[fixtures::event(application_id)],
        )
        .await
        .expect("delete_policy_override");
    assert!(deleted, "deleting a stored override answers true");
    let again = repo
        .delete_policy_override(
            application_id,
            policy_override.id,
            &[fixtures::event(application_id)],
        )
        .await
        .expect("delete_policy_override again");
    assert!(!again, "deleting it again answers false");

    let found = repo
        .find_policy_override(application_id, policy_override.id)
        .await
        .expect("find_policy_override");
    assert_eq!(found, None, "a deleted override is gone");
    assert_eq!(
        pending_for(repo, application_id).await.len(),
        1,
        "only the delete that removed something records its events"
    );
}

/// `policy_revision` is 0 for an application without policy events; a write that records
/// `ActivePolicyUpdated` raises it to that event's outbox sequence; a write without one (or
/// one for another application) leaves it; it never goes down.
pub async fn the_policy_revision_is_the_sequence_of_the_last_policy_event(
    repo: &dyn AppDataRepository,
) {
    let (application_id, neighbour) = (ApplicationId::random(), ApplicationId::random());
    let revision = |id| async move { repo.policy_revision(id).await.expect("policy_revision") };
    assert_eq!(revision(application_id).await, 0, "no policy event yet: revision 0");

    let header = stored_build(repo, application_id).await;
    assert_eq!(revision(application_id).await, 0, "a write without a policy event keeps it");
    let policy = fixtures::policy(application_id, PolicyTarget::Build(header.id));
    repo.put_active_policy(
        &policy,
        &unchanged(repo, application_id).await,
        &[fixtures::event(application_id)],
    )
    .await
    .expect("put_active_policy");
    let recorded = pending_for(repo, application_id).await;
    let first = recorded.last().expect("the recorded event").sequence;
    assert_eq!(revision(application_id).await, first, "the revision is the event's sequence");

    stored_build(repo, neighbour).await;
    let neighbour_policy = fixtures::policy(neighbour, on_main());
    repo.put_active_policy(
        &neighbour_policy,
        &unchanged(repo, neighbour).await,
        &[fixtures::event(neighbour)],
    )
    .await
    .expect("put_active_policy of another application");
    assert_eq!(revision(application_id).await, first, "another application's event keeps it");

    let on_branch = fixtures::policy(application_id, on_main());
    repo.put_active_policy(
        &on_branch,
        &unchanged(repo, application_id).await,
        &[fixtures::event(application_id)],
    )
    .await
    .expect("put_active_policy again");
    let second = revision(application_id).await;
    let last = pending_for(repo, application_id).await.last().expect("the event").sequence;
    assert!(second > first, "a later policy event raises the revision ({first} → {second})");
    assert_eq!(second, last, "to that event's sequence");
}
