//! `PolicyService`: the global policy and its overrides.

use domain::model::{
    ApplicationId, AuditAction, BuildId, DomainEvent, PolicyOverride, PolicyOverrideId,
    PolicyTarget, SubjectType,
};
use domain::runtime::OverrideInput;
use domain::runtime::ports::PolicyRepository;
use test_support::BuildFixture;
use time::OffsetDateTime;

use crate::helpers::{Env, admin, code_of, on_branch, user};

fn input(subject_type: SubjectType, subject_id: &str, target: PolicyTarget) -> OverrideInput {
    OverrideInput { subject_type, subject_id: subject_id.to_owned(), target }
}

/// A legacy ROLE override, stored directly: the service refuses to create one.
async fn stored_role_override(env: &Env, application_id: ApplicationId) -> PolicyOverride {
    let role_override = PolicyOverride {
        id: PolicyOverrideId::random(),
        application_id,
        subject_type: SubjectType::Role,
        subject_id: "ROLE_BETA".to_owned(),
        target: on_branch("main"),
        updated_by: "migration".to_owned(),
        updated_at: OffsetDateTime::now_utc(),
    };
    env.fakes
        .app_data
        .insert_policy_override(&role_override, &[])
        .await
        .expect("storing a legacy ROLE override");
    role_override
}

#[tokio::test]
async fn an_application_without_a_global_policy_has_no_active_policy() {
    let env = Env::new();

    assert_eq!(code_of(env.policies.get(ApplicationId::random()).await), "no_active_policy");
}

#[tokio::test]
async fn setting_the_global_policy_stores_it_and_announces_it() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let live = BuildFixture::new(application_id).resources(1).build();
    env.import(&live).await;
    let before = env.pending_for(application_id).await.len();

    let set = env
        .policies
        .set(&user("ana"), application_id, PolicyTarget::Build(live.id()))
        .await
        .expect("set");

    assert_eq!(set.updated_by, "ana");
    assert_eq!(env.policies.get(application_id).await.expect("get"), set);
    let events = env.pending_for(application_id).await;
    assert!(
        matches!(&events[before..], [DomainEvent::ActivePolicyUpdated { .. }, DomainEvent::Audit(audit)] if audit.action == AuditAction::SetActivePolicy && audit.username == "ana"),
        "policy events, got {events:?}"
    );
}

#[tokio::test]
async fn a_global_policy_may_name_a_branch_that_has_no_build_yet() {
    let env = Env::new();
    let application_id = ApplicationId::random();

    env.policies.set(&admin(), application_id, on_branch("next")).await.expect("set");

    assert_eq!(env.policies.get(application_id).await.expect("get").target, on_branch("next"));
}

#[tokio::test]
async fn a_global_policy_naming_an_unknown_or_foreign_build_is_refused() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let foreign = BuildFixture::new(ApplicationId::random()).resources(1).build();
    env.import(&foreign).await;

    let unknown =
        env.policies.set(&admin(), application_id, PolicyTarget::Build(BuildId::random())).await;
    let mismatch =
        env.policies.set(&admin(), application_id, PolicyTarget::Build(foreign.id())).await;

    assert_eq!(code_of(unknown), "build_not_found");
    assert_eq!(code_of(mismatch), "application_mismatch");
    assert_eq!(
        code_of(env.policies.get(application_id).await),
        "no_active_policy",
        "nothing is stored"
    );
    assert!(env.pending_for(application_id).await.is_empty(), "nothing is announced");
}

#[tokio::test]
async fn an_override_is_added_listed_updated_and_deleted() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (first, second) = (
        BuildFixture::new(application_id).resources(1).build(),
        BuildFixture::new(application_id).resources(1).build(),
    );
    env.import(&first).await;
    env.import(&second).await;

    let added = env
        .policies
        .add_override(
            &user("ana"),
            application_id,
            input(SubjectType::User, "bob", PolicyTarget::Build(first.id())),
        )
        .await
        .expect("add");
    assert_eq!(
        env.policies.list_overrides(application_id).await.expect("list"),
        std::slice::from_ref(&added)
    );

    let updated = env
        .policies
        .update_override(
            &admin(),
            application_id,
            added.id,
            input(SubjectType::Group, "team", PolicyTarget::Build(second.id())),
        )
        .await
        .expect("update");
    assert_eq!(
        (updated.id, updated.subject_type, updated.subject_id.as_str()),
        (added.id, SubjectType::Group, "team"),
        "same id, new subject"
    );
    assert_eq!(updated.updated_by, "admin");
    assert_eq!(env.policies.list_overrides(application_id).await.expect("list"), [updated]);

    env.policies.delete_override(&admin(), application_id, added.id).await.expect("delete");
    assert!(env.policies.list_overrides(application_id).await.expect("list").is_empty());
    let audits: Vec<AuditAction> = env
        .pending_for(application_id)
        .await
        .into_iter()
        .filter_map(|event| match event {
            DomainEvent::Audit(audit) => Some(audit.action),
            _ => None,
        })
        .collect();
    assert_eq!(
        &audits[audits.len() - 3..],
        [
            AuditAction::CreatePolicyOverride,
            AuditAction::UpdatePolicyOverride,
            AuditAction::DeletePolicyOverride
        ]
    );
}

#[tokio::test]
async fn a_second_override_for_one_subject_is_override_exists() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    env.add_override(application_id, SubjectType::User, "ana", on_branch("main")).await;
    let bob = env.add_override(application_id, SubjectType::User, "bob", on_branch("main")).await;

    let added = env
        .policies
        .add_override(&admin(), application_id, input(SubjectType::User, "ana", on_branch("dev")))
        .await;
    let updated = env
        .policies
        .update_override(
            &admin(),
            application_id,
            bob.id,
            input(SubjectType::User, "ana", on_branch("dev")),
        )
        .await;

    assert_eq!(code_of(added), "override_exists");
    assert_eq!(code_of(updated), "override_exists");
    assert_eq!(
        env.policies.list_overrides(application_id).await.expect("list").len(),
        2,
        "nothing is added"
    );
}

#[tokio::test]
async fn an_override_with_a_bad_subject_or_build_is_refused() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let foreign = BuildFixture::new(ApplicationId::random()).resources(1).build();
    env.import(&foreign).await;

    let blank = env
        .policies
        .add_override(&admin(), application_id, input(SubjectType::User, "  ", on_branch("main")))
        .await;
    let unknown = env
        .policies
        .add_override(
            &admin(),
            application_id,
            input(SubjectType::User, "ana", PolicyTarget::Build(BuildId::random())),
        )
        .await;
    let mismatch = env
        .policies
        .add_override(
            &admin(),
            application_id,
            input(SubjectType::User, "ana", PolicyTarget::Build(foreign.id())),
        )
        .await;

    assert_eq!(code_of(blank), "invalid_request");
    assert_eq!(code_of(unknown), "build_not_found");
    assert_eq!(code_of(mismatch), "application_mismatch");
    assert!(env.policies.list_overrides(application_id).await.expect("list").is_empty());
}

#[tokio::test]
async fn role_overrides_cannot_be_created() {
    let env = Env::new();
    let application_id = ApplicationId::random();

    let result = env
        .policies
        .add_override(
            &admin(),
            application_id,
            input(SubjectType::Role, "ROLE_BETA", on_branch("main")),
        )
        .await;

    assert_eq!(code_of(result), "role_override_deprecated");
    assert!(env.policies.list_overrides(application_id).await.expect("list").is_empty());
}

#[tokio::test]
async fn role_overrides_cannot_be_changed_nor_become_the_target_of_a_change() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let legacy = stored_role_override(&env, application_id).await;
    let user_override =
        env.add_override(application_id, SubjectType::User, "ana", on_branch("main")).await;

    let change_legacy = env
        .policies
        .update_override(
            &admin(),
            application_id,
            legacy.id,
            input(SubjectType::User, "bob", on_branch("main")),
        )
        .await;
    let into_role = env
        .policies
        .update_override(
            &admin(),
            application_id,
            user_override.id,
            input(SubjectType::Role, "ROLE_X", on_branch("main")),
        )
        .await;

    assert_eq!(code_of(change_legacy), "role_override_deprecated");
    assert_eq!(code_of(into_role), "role_override_deprecated");
    assert_eq!(
        env.policies.list_overrides(application_id).await.expect("list"),
        [user_override, legacy],
        "nothing changed"
    );
}

#[tokio::test]
async fn role_overrides_are_listed_and_can_be_deleted() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let legacy = stored_role_override(&env, application_id).await;
    assert_eq!(
        env.policies.list_overrides(application_id).await.expect("list"),
        std::slice::from_ref(&legacy)
    );

    env.policies.delete_override(&admin(), application_id, legacy.id).await.expect("delete");

    assert!(env.policies.list_overrides(application_id).await.expect("list").is_empty());
}

#[tokio::test]
async fn an_unknown_override_is_not_found() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let elsewhere = env
        .policies
        .add_override(
            &admin(),
            ApplicationId::random(),
            input(SubjectType::User, "ana", on_branch("main")),
        )
        .await
        .expect("add");

    let updated = env
        .policies
        .update_override(
            &admin(),
            application_id,
            PolicyOverrideId::random(),
            input(SubjectType::User, "ana", on_branch("main")),
        )
        .await;
    let deleted =
        env.policies.delete_override(&admin(), application_id, PolicyOverrideId::random()).await;
    let other_application =
        env.policies.delete_override(&admin(), application_id, elsewhere.id).await;

    assert_eq!(code_of(updated), "policy_override_not_found");
    assert_eq!(code_of(deleted), "policy_override_not_found");
    assert_eq!(
        code_of(other_application),
        "policy_override_not_found",
        "an override is reached through its own application"
    );
    assert!(env.pending_for(application_id).await.is_empty(), "nothing is announced");
}
