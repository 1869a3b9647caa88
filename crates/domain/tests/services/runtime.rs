//! `RuntimeService`: which build is live for a caller, and reading it.

use adapter_memory::FailureKind;
use domain::model::{
    ApplicationId, PageRequest, PolicyOverride, PolicyOverrideId, PolicyRule, PolicySource,
    PolicyTarget, Principal, ResourceDefinitionId, ResourceName, SubjectType, WorkspaceId,
};
use domain::ports::Cache;
use domain::runtime::OverrideInput;
use domain::runtime::ports::PolicyRepository;
use test_support::BuildFixture;
use time::OffsetDateTime;

use crate::helpers::{Env, admin, code_of, minutes_ago, on_branch, principal, user};

fn override_input(
    subject_type: SubjectType,
    subject_id: &str,
    target: PolicyTarget,
) -> OverrideInput {
    OverrideInput { subject_type, subject_id: subject_id.to_owned(), target }
}

#[tokio::test]
async fn without_a_policy_resolution_is_no_active_policy() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    env.import(&BuildFixture::new(application_id).resources(1).build()).await;

    let result = env.runtime.active_build(application_id, None, &user("ana")).await;

    assert_eq!(code_of(result), "no_active_policy");
}

#[tokio::test]
async fn a_global_build_policy_resolves_to_that_build_even_when_newer_ones_exist() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let fixed = BuildFixture::new(application_id).resources(2).created_at(minutes_ago(60)).build();
    env.import(&fixed).await;
    env.import(&BuildFixture::new(application_id).resources(1).build()).await;
    env.set_policy(application_id, PolicyTarget::Build(fixed.id())).await;

    let active =
        env.runtime.active_build(application_id, None, &user("ana")).await.expect("active build");

    assert_eq!(active.id(), fixed.id());
    assert_eq!(
        (&active.settings, &active.dependencies),
        (&fixed.settings, &fixed.dependencies),
        "its summary comes back (settings and dependencies with the header)"
    );
}

#[tokio::test]
async fn a_global_branch_policy_resolves_to_the_newest_build_of_the_branch_by_creation_time() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let newest = BuildFixture::new(application_id).resources(1).created_at(minutes_ago(5)).build();
    let older_imported_later =
        BuildFixture::new(application_id).resources(1).created_at(minutes_ago(10)).build();
    let newer_on_another_branch =
        BuildFixture::new(application_id).resources(1).on_branch("dev").build();
    env.import(&newest).await;
    env.import(&older_imported_later).await;
    env.import(&newer_on_another_branch).await;
    env.import(&BuildFixture::new(ApplicationId::random()).resources(1).build()).await;
    env.set_policy(application_id, on_branch("main")).await;

    assert_eq!(env.active_build_id(application_id, &user("ana")).await, newest.id());
}

#[tokio::test]
async fn builds_created_at_the_same_instant_are_ordered_by_storage_time() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let created_at = minutes_ago(5);
    let stored_first =
        BuildFixture::new(application_id).resources(1).created_at(created_at).build();
    let stored_last = BuildFixture::new(application_id).resources(1).created_at(created_at).build();
    env.import(&stored_first).await;
    env.import(&stored_last).await;
    env.set_policy(application_id, on_branch("main")).await;

    assert_eq!(env.active_build_id(application_id, &user("ana")).await, stored_last.id());
}

#[tokio::test]
async fn importing_a_newer_build_moves_a_branch_policy_at_once() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let first = BuildFixture::new(application_id).resources(1).created_at(minutes_ago(5)).build();
    env.import(&first).await;
    env.set_policy(application_id, on_branch("main")).await;
    assert_eq!(
        env.active_build_id(application_id, &user("ana")).await,
        first.id(),
        "before the newer import"
    );

    let newer = BuildFixture::new(application_id).resources(1).build();
    env.import(&newer).await;

    assert_eq!(
        env.active_build_id(application_id, &user("ana")).await,
        newer.id(),
        "the cached resolution was evicted"
    );
}

#[tokio::test]
async fn a_branch_without_builds_is_no_build_on_branch() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    env.import(&BuildFixture::new(application_id).resources(1).build()).await;
    env.set_policy(application_id, on_branch("dev")).await;

    let result = env.runtime.active_build(application_id, None, &user("ana")).await;

    assert_eq!(code_of(result), "no_build_on_branch");
}

#[tokio::test]
async fn a_user_override_beats_a_group_override_which_beats_the_global_policy() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (global, for_group, for_user) = (
        BuildFixture::new(application_id).resources(1).build(),
        BuildFixture::new(application_id).resources(1).build(),
        BuildFixture::new(application_id).resources(1).build(),
    );
    for each in [&global, &for_group, &for_user] {
        env.import(each).await;
    }
    env.set_policy(application_id, PolicyTarget::Build(global.id())).await;
    env.add_override(
        application_id,
        SubjectType::Group,
        "team",
        PolicyTarget::Build(for_group.id()),
    )
    .await;
    env.add_override(application_id, SubjectType::User, "ana", PolicyTarget::Build(for_user.id()))
        .await;

    assert_eq!(
        env.active_build_id(application_id, &principal("ana", &["team"], &[])).await,
        for_user.id(),
        "user in the group"
    );
    assert_eq!(
        env.active_build_id(application_id, &principal("bob", &["team"], &[])).await,
        for_group.id(),
        "another user in the group"
    );
    assert_eq!(
        env.active_build_id(application_id, &user("carl")).await,
        global.id(),
        "a user in no group"
    );
}

#[tokio::test]
async fn resolution_names_the_rule_that_chose_user_group_or_global() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (global, for_group, for_user) = (
        BuildFixture::new(application_id).resources(1).build(),
        BuildFixture::new(application_id).resources(1).build(),
        BuildFixture::new(application_id).resources(1).build(),
    );
    for each in [&global, &for_group, &for_user] {
        env.import(each).await;
    }
    env.set_policy(application_id, PolicyTarget::Build(global.id())).await;
    let team = env
        .add_override(
            application_id,
            SubjectType::Group,
            "team",
            PolicyTarget::Build(for_group.id()),
        )
        .await;
    let ana = env
        .add_override(application_id, SubjectType::User, "ana", PolicyTarget::Build(for_user.id()))
        .await;
    let resolve = |principal: Principal| {
        let runtime = env.runtime.clone();
        async move {
            let active = runtime.resolve(application_id, None, &principal).await.expect("resolve");
            (active.build.id(), active.rule)
        }
    };

    assert_eq!(
        resolve(Principal::named("ana", ["team".to_owned()])).await,
        (for_user.id(), PolicyRule::UserOverride(ana.id)),
        "a named user, as the runtime-internal API asks"
    );
    assert_eq!(
        resolve(principal("bob", &["/team"], &[])).await,
        (for_group.id(), PolicyRule::GroupOverride(team.id))
    );
    assert_eq!(resolve(user("carl")).await, (global.id(), PolicyRule::Global));
    assert_eq!(PolicyRule::UserOverride(ana.id).source(), PolicySource::User);
    assert_eq!(PolicyRule::GroupOverride(team.id).override_id(), Some(team.id));
    assert_eq!(PolicyRule::Global.source().as_str(), "GLOBAL");
    assert_eq!(PolicyRule::Global.override_id(), None);
}

#[tokio::test]
async fn a_user_override_matches_the_username_or_the_subject() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (global, by_subject, by_username) = (
        BuildFixture::new(application_id).resources(1).build(),
        BuildFixture::new(application_id).resources(1).build(),
        BuildFixture::new(application_id).resources(1).build(),
    );
    for each in [&global, &by_subject, &by_username] {
        env.import(each).await;
    }
    env.set_policy(application_id, PolicyTarget::Build(global.id())).await;
    env.add_override(
        application_id,
        SubjectType::User,
        "sub-ana",
        PolicyTarget::Build(by_subject.id()),
    )
    .await;
    env.add_override(
        application_id,
        SubjectType::User,
        "bob",
        PolicyTarget::Build(by_username.id()),
    )
    .await;

    assert_eq!(
        env.active_build_id(application_id, &user("ana")).await,
        by_subject.id(),
        "matched by the token's sub"
    );
    assert_eq!(
        env.active_build_id(application_id, &user("bob")).await,
        by_username.id(),
        "matched by preferred_username"
    );
    let mut service_account = user("ignored");
    service_account.username = None;
    service_account.subject = "bob".to_owned();
    assert_eq!(
        env.active_build_id(application_id, &service_account).await,
        by_username.id(),
        "a subject equal to the override's id"
    );
}

#[tokio::test]
async fn a_group_override_matches_the_group_as_a_path_or_as_a_bare_name() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (global, for_team, for_ops) = (
        BuildFixture::new(application_id).resources(1).build(),
        BuildFixture::new(application_id).resources(1).build(),
        BuildFixture::new(application_id).resources(1).build(),
    );
    for each in [&global, &for_team, &for_ops] {
        env.import(each).await;
    }
    env.set_policy(application_id, PolicyTarget::Build(global.id())).await;
    env.add_override(
        application_id,
        SubjectType::Group,
        "/team",
        PolicyTarget::Build(for_team.id()),
    )
    .await;
    env.add_override(application_id, SubjectType::Group, "ops", PolicyTarget::Build(for_ops.id()))
        .await;

    assert_eq!(
        env.active_build_id(application_id, &principal("ana", &["team"], &[])).await,
        for_team.id(),
        "`/team` matches the bare `team`"
    );
    assert_eq!(
        env.active_build_id(application_id, &principal("ana", &["/team"], &[])).await,
        for_team.id(),
        "`/team` matches `/team`"
    );
    assert_eq!(
        env.active_build_id(application_id, &principal("bob", &["/ops"], &[])).await,
        for_ops.id(),
        "`ops` matches the path `/ops`"
    );
    assert_eq!(
        env.active_build_id(application_id, &principal("carl", &["/other"], &[])).await,
        global.id(),
        "another group matches neither"
    );
}

#[tokio::test]
async fn role_overrides_are_ignored_even_for_callers_with_the_role() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (global, for_role) = (
        BuildFixture::new(application_id).resources(1).build(),
        BuildFixture::new(application_id).resources(1).build(),
    );
    env.import(&global).await;
    env.import(&for_role).await;
    // The service refuses ROLE overrides; older installations may still have some stored.
    let role_override = PolicyOverride {
        id: PolicyOverrideId::random(),
        application_id,
        subject_type: SubjectType::Role,
        subject_id: "ROLE_BETA".to_owned(),
        target: PolicyTarget::Build(for_role.id()),
        updated_by: "migration".to_owned(),
        updated_at: OffsetDateTime::now_utc(),
    };
    env.fakes
        .app_data
        .insert_policy_override(&role_override, &[])
        .await
        .expect("storing a legacy ROLE override");
    let beta_tester = principal("ana", &[], &["ROLE_BETA"]);

    let without_global = env.runtime.active_build(application_id, None, &beta_tester).await;
    env.set_policy(application_id, PolicyTarget::Build(global.id())).await;
    let with_global = env.active_build_id(application_id, &beta_tester).await;

    assert_eq!(
        code_of(without_global),
        "no_active_policy",
        "a ROLE override alone resolves to nothing"
    );
    assert_eq!(with_global, global.id(), "the global policy wins over a ROLE override");
}

#[tokio::test]
async fn a_workspace_must_match_the_builds_when_both_have_one() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let workspace_id = WorkspaceId::random();
    let in_workspace =
        BuildFixture::new(application_id).resources(1).in_workspace(workspace_id).build();
    env.import(&in_workspace).await;
    env.set_policy(application_id, PolicyTarget::Build(in_workspace.id())).await;
    let ana = user("ana");

    let same = env
        .runtime
        .active_build(application_id, Some(workspace_id), &ana)
        .await
        .expect("same workspace");
    let unspecified =
        env.runtime.active_build(application_id, None, &ana).await.expect("no workspace asked");
    let other = env.runtime.active_build(application_id, Some(WorkspaceId::random()), &ana).await;

    assert_eq!(same.id(), in_workspace.id());
    assert_eq!(unspecified.id(), in_workspace.id());
    assert_eq!(code_of(other), "build_not_found", "a build of another workspace is not found");

    let without_workspace = BuildFixture::new(application_id).resources(1).build();
    env.import(&without_workspace).await;
    env.set_policy(application_id, PolicyTarget::Build(without_workspace.id())).await;
    let any = env
        .runtime
        .active_build(application_id, Some(WorkspaceId::random()), &ana)
        .await
        .expect("a build without workspace");
    assert_eq!(any.id(), without_workspace.id(), "a build without a workspace matches any");
}

#[tokio::test]
async fn a_policy_change_takes_effect_at_once_even_with_a_warm_cache() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (first, second, for_ana) = (
        BuildFixture::new(application_id).resources(1).build(),
        BuildFixture::new(application_id).resources(1).build(),
        BuildFixture::new(application_id).resources(1).build(),
    );
    for each in [&first, &second, &for_ana] {
        env.import(each).await;
    }
    env.set_policy(application_id, PolicyTarget::Build(first.id())).await;
    let ana = user("ana");
    assert_eq!(env.active_build_id(application_id, &ana).await, first.id());
    let warm = env.fakes.cache.get_policy_snapshot(application_id).await.expect("cache read");
    assert!(warm.is_some(), "resolution caches the snapshot");

    env.set_policy(application_id, PolicyTarget::Build(second.id())).await;
    assert_eq!(
        env.active_build_id(application_id, &ana).await,
        second.id(),
        "after setting the global policy"
    );

    let added = env
        .add_override(application_id, SubjectType::User, "ana", PolicyTarget::Build(for_ana.id()))
        .await;
    assert_eq!(
        env.active_build_id(application_id, &ana).await,
        for_ana.id(),
        "after adding an override"
    );

    env.policies
        .update_override(
            &admin(),
            application_id,
            added.id,
            override_input(SubjectType::User, "ana", PolicyTarget::Build(first.id())),
        )
        .await
        .expect("update override");
    assert_eq!(
        env.active_build_id(application_id, &ana).await,
        first.id(),
        "after updating the override"
    );

    env.policies
        .delete_override(&admin(), application_id, added.id)
        .await
        .expect("delete override");
    assert_eq!(
        env.active_build_id(application_id, &ana).await,
        second.id(),
        "after deleting the override"
    );
}

#[tokio::test]
async fn a_failing_cache_does_not_fail_resolution_whichever_call_fails() {
    // Cold resolution calls the cache four times: get and put the snapshot, get and put the build.
    for calls_before_failure in 0..4 {
        for kind in [FailureKind::Unavailable, FailureKind::Backend] {
            let env = Env::new();
            let application_id = ApplicationId::random();
            let live = BuildFixture::new(application_id).resources(1).build();
            env.import(&live).await;
            env.set_policy(application_id, PolicyTarget::Build(live.id())).await;
            env.fakes.cache.fail_after_calls(calls_before_failure, kind);

            let active = env.runtime.active_build(application_id, None, &user("ana")).await;

            let active = active.unwrap_or_else(|err| {
                panic!("cache call {calls_before_failure} failing with {kind:?}: {err:?}")
            });
            assert_eq!(active.id(), live.id());
        }
    }
}

#[tokio::test]
async fn resources_are_read_by_id_and_by_name_and_listed_by_name() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let live = BuildFixture::new(application_id).resources(12).build();
    env.import(&live).await;
    let process = test_support::resource_type("PROCESS");

    let first_page = env
        .runtime
        .list_resources(application_id, live.id(), &process, PageRequest::new(0, 5).expect("page"))
        .await
        .expect("list");
    let by_id = env
        .runtime
        .resource(
            application_id,
            live.id(),
            &process,
            &ResourceDefinitionId::parse("def-3").expect("id"),
        )
        .await
        .expect("by id");
    let by_name = env
        .runtime
        .resource_by_name(
            application_id,
            live.id(),
            &process,
            &ResourceName::parse("resource-3").expect("name"),
        )
        .await
        .expect("by name");

    let names: Vec<&str> =
        first_page.items.iter().map(|resource| resource.entry.name.as_str()).collect();
    assert_eq!(
        names,
        ["resource-0", "resource-1", "resource-10", "resource-11", "resource-2"],
        "ordered by name"
    );
    assert_eq!(first_page.total, 12);
    assert_eq!(by_id, by_name, "the same resource by id and by name");
    assert_eq!(by_id.entry.name.as_str(), "resource-3");
}

#[tokio::test]
async fn a_missing_resource_or_a_build_of_another_application_is_not_found() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let live = BuildFixture::new(application_id).resources(1).build();
    env.import(&live).await;
    let process = test_support::resource_type("PROCESS");
    let other_application = ApplicationId::random();

    let missing_id = env
        .runtime
        .resource(
            application_id,
            live.id(),
            &process,
            &ResourceDefinitionId::parse("nope").expect("id"),
        )
        .await;
    let missing_name = env
        .runtime
        .resource_by_name(
            application_id,
            live.id(),
            &process,
            &ResourceName::parse("nope").expect("name"),
        )
        .await;
    let foreign = env
        .runtime
        .list_resources(other_application, live.id(), &process, PageRequest::default())
        .await;
    let foreign_resource = env
        .runtime
        .resource(
            other_application,
            live.id(),
            &process,
            &ResourceDefinitionId::parse("def-0").expect("id"),
        )
        .await;

    assert_eq!(code_of(missing_id), "resource_not_found");
    assert_eq!(code_of(missing_name), "resource_not_found");
    assert_eq!(code_of(foreign), "build_not_found");
    assert_eq!(code_of(foreign_resource), "build_not_found");
}
