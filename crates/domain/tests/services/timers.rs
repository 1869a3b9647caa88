//! Scheduled processes: which build's timers the scheduler hears about on every kind of
//! change (policy edits, builds stored and deleted on a followed branch, overrides, timer
//! switches), and the switches' round trip through export and import.

use std::sync::Arc;

use build_archive::{ArchiveLimits, ArchivePackager, export_archive, read_archive};
use domain::builds::{BuildService, ImportOutcome};
use domain::design::{BuildCreationService, CreatedBuild, NewBuild};
use domain::model::{
    ApplicationId, ApplicationKind, Build, BuildId, BuildTimer, DomainEvent, PolicyTarget,
    ScheduleCommand, SubjectType, TimerId,
};
use domain::runtime::ScheduledProcessService;
use test_support::BuildFixture;

use crate::design_helpers::DesignEnv;
use crate::helpers::{Env, admin, code_of, minutes_ago, on_branch, request};

/// A build of `application_id` on `branch`, created `minutes` ago, with one PROCESS per
/// node id; the timer of each process is on unless its node id starts with `off`.
fn build_with_timers(
    application_id: ApplicationId,
    branch: &str,
    minutes: i64,
    node_ids: &[&str],
) -> (Build, Vec<BuildTimer>) {
    let entries: Vec<_> = node_ids
        .iter()
        .map(|node| {
            test_support::entry("PROCESS", &format!("proc-{node}"), &format!("Process {node}"))
        })
        .collect();
    let mut fixture =
        BuildFixture::new(application_id).on_branch(branch).created_at(minutes_ago(minutes));
    for entry in &entries {
        fixture = fixture.entry(entry.clone());
    }
    let timers = entries
        .iter()
        .zip(node_ids)
        .map(|(entry, node)| BuildTimer {
            activated: !node.starts_with("off"),
            ..test_support::timer(entry, node, "0 0 2 * * *")
        })
        .collect();
    (fixture.build(), timers)
}

impl Env {
    fn scheduled(&self) -> ScheduledProcessService {
        ScheduledProcessService::new(self.fakes.ports())
    }

    async fn import_with_timers(&self, build: &Build, timers: &[BuildTimer]) {
        let request = domain::builds::ImportRequest { timers: timers.to_vec(), ..request(build) };
        match self.builds.import(&admin(), request).await {
            Ok(ImportOutcome::Created(_)) => {}
            other => panic!("importing a new build should create it, got {other:?}"),
        }
    }

    /// The timer events recorded about `application_id` since `since` events were
    /// (command, build, node id), in order.
    async fn timer_events_since(
        &self,
        application_id: ApplicationId,
        since: usize,
    ) -> Vec<(ScheduleCommand, BuildId, String)> {
        self.pending_for(application_id).await[since..]
            .iter()
            .filter_map(|event| match event {
                DomainEvent::Timer { command, timer } => {
                    Some((*command, timer.build_id, timer.node_id.to_string()))
                }
                _ => None,
            })
            .collect()
    }

    async fn mark(&self, application_id: ApplicationId) -> usize {
        self.pending_for(application_id).await.len()
    }
}

fn set(build: &Build, node: &str) -> (ScheduleCommand, BuildId, String) {
    (ScheduleCommand::Set, build.id(), node.to_owned())
}

fn stop(build: &Build, node: &str) -> (ScheduleCommand, BuildId, String) {
    (ScheduleCommand::Stop, build.id(), node.to_owned())
}

fn timer_id(node: &str) -> TimerId {
    TimerId::parse(&format!("proc-{node}.{node}")).expect("a valid timer id")
}

#[tokio::test]
async fn a_first_global_policy_sets_only_the_activated_timers_of_its_build() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (build, timers) = build_with_timers(application_id, "main", 10, &["t1", "off2"]);
    env.import_with_timers(&build, &timers).await;
    let since = env.mark(application_id).await;

    env.set_policy(application_id, PolicyTarget::Build(build.id())).await;

    assert_eq!(env.timer_events_since(application_id, since).await, [set(&build, "t1")]);
}

#[tokio::test]
async fn a_new_global_build_stops_every_timer_of_the_old_one_then_sets_its_own() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (old, old_timers) = build_with_timers(application_id, "main", 20, &["t1", "off2"]);
    let (new, new_timers) = build_with_timers(application_id, "main", 10, &["t3", "off4"]);
    env.import_with_timers(&old, &old_timers).await;
    env.import_with_timers(&new, &new_timers).await;
    env.set_policy(application_id, PolicyTarget::Build(old.id())).await;
    let since = env.mark(application_id).await;

    env.set_policy(application_id, PolicyTarget::Build(new.id())).await;

    assert_eq!(
        env.timer_events_since(application_id, since).await,
        [stop(&old, "off2"), stop(&old, "t1"), set(&new, "t3")],
        "a stop for every timer of the old build, a set for each activated one of the new"
    );
    let stop_event = env.pending_for(application_id).await[since..]
        .iter()
        .find_map(|event| match event {
            DomainEvent::Timer { timer, .. } => Some(timer.schedule_id()),
            _ => None,
        })
        .expect("a timer event");
    assert_eq!(stop_event, format!("{application_id}:Process off2:off2"));
}

#[tokio::test]
async fn a_policy_edit_that_keeps_the_global_build_records_no_timer_event() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (build, timers) = build_with_timers(application_id, "main", 10, &["t1"]);
    env.import_with_timers(&build, &timers).await;
    env.set_policy(application_id, PolicyTarget::Build(build.id())).await;
    let since = env.mark(application_id).await;

    env.set_policy(application_id, PolicyTarget::Build(build.id())).await;
    env.set_policy(application_id, on_branch("main")).await;

    assert!(
        env.timer_events_since(application_id, since).await.is_empty(),
        "the same build again, and the branch whose newest it is, change nothing"
    );
    assert!(env.pending_for(application_id).await.len() > since, "the edits were recorded");
}

#[tokio::test]
async fn overrides_never_start_or_stop_timers() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (global, global_timers) = build_with_timers(application_id, "main", 20, &["t1"]);
    let (other, other_timers) = build_with_timers(application_id, "dev", 10, &["t2"]);
    env.import_with_timers(&global, &global_timers).await;
    env.import_with_timers(&other, &other_timers).await;
    env.set_policy(application_id, PolicyTarget::Build(global.id())).await;
    let since = env.mark(application_id).await;

    let added = env
        .add_override(application_id, SubjectType::User, "alice", PolicyTarget::Build(other.id()))
        .await;
    env.add_override(application_id, SubjectType::Group, "testers", on_branch("dev")).await;
    env.policies.delete_override(&admin(), application_id, added.id).await.unwrap();

    assert!(env.timer_events_since(application_id, since).await.is_empty());
}

#[tokio::test]
async fn a_new_newest_build_on_the_followed_branch_takes_over_the_timers() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    env.set_policy(application_id, on_branch("main")).await;
    let (first, first_timers) = build_with_timers(application_id, "main", 30, &["t1"]);
    let since = env.mark(application_id).await;
    env.import_with_timers(&first, &first_timers).await;
    assert_eq!(
        env.timer_events_since(application_id, since).await,
        [set(&first, "t1")],
        "the branch's first build becomes the global one"
    );

    let (second, second_timers) = build_with_timers(application_id, "main", 10, &["t1", "t2"]);
    let since = env.mark(application_id).await;
    env.import_with_timers(&second, &second_timers).await;
    assert_eq!(
        env.timer_events_since(application_id, since).await,
        [stop(&first, "t1"), set(&second, "t1"), set(&second, "t2")]
    );

    let (older, older_timers) = build_with_timers(application_id, "main", 20, &["t9"]);
    let (elsewhere, elsewhere_timers) = build_with_timers(application_id, "dev", 1, &["t8"]);
    let since = env.mark(application_id).await;
    env.import_with_timers(&older, &older_timers).await;
    env.import_with_timers(&elsewhere, &elsewhere_timers).await;
    assert!(
        env.timer_events_since(application_id, since).await.is_empty(),
        "an older build of the branch, or a build of another branch, changes nothing"
    );
}

#[tokio::test]
async fn deleting_the_newest_build_of_the_followed_branch_hands_its_timers_to_the_next() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (older, older_timers) = build_with_timers(application_id, "main", 20, &["t1"]);
    let (newest, newest_timers) = build_with_timers(application_id, "main", 10, &["t1", "t2"]);
    let (unrelated, unrelated_timers) = build_with_timers(application_id, "dev", 5, &["t3"]);
    env.import_with_timers(&older, &older_timers).await;
    env.import_with_timers(&newest, &newest_timers).await;
    env.import_with_timers(&unrelated, &unrelated_timers).await;
    env.set_policy(application_id, on_branch("main")).await;

    let since = env.mark(application_id).await;
    env.builds.delete(&admin(), application_id, unrelated.id()).await.unwrap();
    assert!(env.timer_events_since(application_id, since).await.is_empty());

    let since = env.mark(application_id).await;
    env.builds.delete(&admin(), application_id, newest.id()).await.unwrap();
    assert_eq!(
        env.timer_events_since(application_id, since).await,
        [stop(&newest, "t1"), stop(&newest, "t2"), set(&older, "t1")]
    );

    let since = env.mark(application_id).await;
    env.builds.delete(&admin(), application_id, older.id()).await.unwrap();
    assert_eq!(
        env.timer_events_since(application_id, since).await,
        [stop(&older, "t1")],
        "the branch's last build gone, nothing runs"
    );
}

#[tokio::test]
async fn switching_a_timer_of_the_global_build_stops_and_sets_it() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (build, timers) = build_with_timers(application_id, "main", 10, &["t1", "t2"]);
    env.import_with_timers(&build, &timers).await;
    env.set_policy(application_id, PolicyTarget::Build(build.id())).await;
    let scheduled = env.scheduled();

    let since = env.mark(application_id).await;
    let (switched_build, off) =
        scheduled.switch(&admin(), application_id, None, &timer_id("t1"), false).await.unwrap();
    assert_eq!(switched_build, build.id());
    assert!(!off.activated);
    assert_eq!(env.timer_events_since(application_id, since).await, [stop(&build, "t1")]);

    let since = env.mark(application_id).await;
    scheduled.switch(&admin(), application_id, None, &timer_id("t1"), false).await.unwrap();
    assert!(
        env.pending_for(application_id).await.len() == since,
        "switching a timer to what it is records nothing"
    );

    let since = env.mark(application_id).await;
    scheduled.switch(&admin(), application_id, None, &timer_id("t1"), true).await.unwrap();
    assert_eq!(env.timer_events_since(application_id, since).await, [set(&build, "t1")]);

    let listed = scheduled.list(application_id, None).await.unwrap();
    assert_eq!(listed.build_id, build.id());
    assert!(listed.timers.iter().all(|timer| timer.activated));
}

#[tokio::test]
async fn a_timer_switched_off_on_another_build_is_not_set_when_that_build_becomes_global() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (current, current_timers) = build_with_timers(application_id, "main", 20, &["t1"]);
    let (next, next_timers) = build_with_timers(application_id, "main", 10, &["t1", "t2"]);
    env.import_with_timers(&current, &current_timers).await;
    env.import_with_timers(&next, &next_timers).await;
    env.set_policy(application_id, PolicyTarget::Build(current.id())).await;
    let scheduled = env.scheduled();

    let since = env.mark(application_id).await;
    scheduled
        .switch(&admin(), application_id, Some(next.id()), &timer_id("t2"), false)
        .await
        .unwrap();
    assert!(
        env.timer_events_since(application_id, since).await.is_empty(),
        "a timer of a build the scheduler does not run only changes its flag"
    );

    let since = env.mark(application_id).await;
    env.set_policy(application_id, PolicyTarget::Build(next.id())).await;
    assert_eq!(
        env.timer_events_since(application_id, since).await,
        [stop(&current, "t1"), set(&next, "t1")],
        "the switched-off timer is not set"
    );
}

#[tokio::test]
async fn unknown_timers_builds_and_policies_are_refused_with_their_codes() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let scheduled = env.scheduled();
    assert_eq!(code_of(scheduled.list(application_id, None).await), "no_active_policy");

    env.set_policy(application_id, on_branch("main")).await;
    assert_eq!(code_of(scheduled.list(application_id, None).await), "no_build_on_branch");

    let (build, timers) = build_with_timers(application_id, "main", 10, &["t1"]);
    env.import_with_timers(&build, &timers).await;
    let unknown = scheduled.switch(&admin(), application_id, None, &timer_id("nope"), false).await;
    assert_eq!(code_of(unknown), "timer_not_found");
    let foreign = scheduled.list(ApplicationId::random(), Some(build.id())).await;
    assert_eq!(code_of(foreign), "build_not_found");
}

/// A Spring cron timer in the `apply` process, switched off here: the archive an export
/// writes carries the switch, an import elsewhere restores it, the checksum is the same.
#[tokio::test]
async fn a_switch_travels_with_the_export_and_the_checksum_stays() {
    let design = DesignEnv::new();
    let application = design.create("Reports", ApplicationKind::Application).await.application;
    let application_id = application.id;
    let wip = design.main_wip(application_id).await;
    let content = r#"{"nodes":[{"id":"nightly","name":"Nightly","type":"TIMER_START_EVENT","timer":{"type":"CRON","expression":"0 0 2 * * *"}},{"id":"weekly","type":"START_EVENT"}]}"#;
    design.add_process(application_id, wip, "report", content).await;
    design.add_process(application_id, wip, "reminder", r#"{"nodes":[{"id":"r","type":"TIMER_START_EVENT","timer":{"type":"CYCLE","expression":"R/PT1H"}}]}"#).await;
    design.commit(application_id, wip).await;
    let ports = design.env.fakes.ports();
    let packager = Arc::new(ArchivePackager::new(ArchiveLimits::default()));
    let creation = BuildCreationService::new(ports.clone(), BuildService::new(ports), packager);
    let CreatedBuild::Created(header) =
        creation.create(&admin(), application_id, wip, NewBuild::default(), None).await.unwrap()
    else {
        panic!("a new build")
    };
    let scheduled = design.env.scheduled();
    let listed = scheduled.list(application_id, Some(header.id)).await.unwrap();
    assert_eq!(listed.timers.len(), 2, "build creation reads the timers: {listed:?}");
    let nightly = listed
        .timers
        .iter()
        .find(|timer| timer.node_id.as_str() == "nightly")
        .expect("the report's timer")
        .id();
    scheduled.switch(&admin(), application_id, Some(header.id), &nightly, false).await.unwrap();

    let exported = design.env.builds.export(&admin(), application_id, header.id).await.unwrap();
    let archive = export_archive(&exported.archive, true, &exported.timers).unwrap();
    let elsewhere = Env::new();
    let request = read_archive(archive.into(), &ArchiveLimits::default()).unwrap();
    assert_eq!(request.build.header.checksum, header.checksum, "the checksum is the build's");
    let ImportOutcome::Created(imported) =
        elsewhere.builds.import(&admin(), request).await.unwrap()
    else {
        panic!("a new build elsewhere")
    };
    assert_eq!(imported.checksum, header.checksum);

    let restored = elsewhere.scheduled().list(application_id, Some(header.id)).await.unwrap();
    let switches: Vec<(String, bool)> =
        restored.timers.iter().map(|timer| (timer.node_id.to_string(), timer.activated)).collect();
    assert!(switches.contains(&("nightly".to_owned(), false)), "{switches:?}");
    assert!(switches.contains(&("r".to_owned(), true)), "{switches:?}");

    // The original archive, without schedule.json, imports with every timer on.
    let third = Env::new();
    let request = read_archive(exported.archive, &ArchiveLimits::default()).unwrap();
    third.builds.import(&admin(), request).await.unwrap();
    let fresh = third.scheduled().list(application_id, Some(header.id)).await.unwrap();
    assert!(fresh.timers.iter().all(|timer| timer.activated));
}

#[tokio::test]
async fn a_bad_timer_refuses_build_creation_with_its_code() {
    let design = DesignEnv::new();
    let application = design.create("Broken", ApplicationKind::Application).await.application;
    let wip = design.main_wip(application.id).await;
    let content = r#"{"nodes":[{"id":"t","type":"TIMER_START_EVENT","timer":{"type":"CRON","expression":"every day"}}]}"#;
    design.add_process(application.id, wip, "report", content).await;
    design.commit(application.id, wip).await;
    let ports = design.env.fakes.ports();
    let packager = Arc::new(ArchivePackager::new(ArchiveLimits::default()));
    let creation = BuildCreationService::new(ports.clone(), BuildService::new(ports), packager);

    let refused = creation.create(&admin(), application.id, wip, NewBuild::default(), None).await;

    assert_eq!(code_of(refused), "invalid_timer_expression");
    assert!(design.env.fakes.app_data.import_claims().is_empty());
}
