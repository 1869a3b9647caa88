//! Timer schedules on PostgreSQL through the domain's services: the set/stop events of a
//! policy change survive a crash before the relay ran, and racing policy edits never leave
//! the scheduler told to run two builds' timers.

use std::collections::BTreeMap;
use std::sync::Arc;

use adapter_memory::{Fakes, InMemoryEventPublisher};
use domain::builds::{BuildService, ImportOutcome, ImportRequest};
use domain::model::{
    ApplicationId, Build, BuildId, BuildTimer, DomainEvent, OutboxRecord, PolicyTarget, Principal,
    ScheduleCommand,
};
use domain::ports::{Ports, TimerRegistry as _};
use domain::relay::OutboxRelay;
use domain::runtime::PolicyService;
use test_support::BuildFixture;

use crate::support::TestSchema;

fn admin() -> Principal {
    Principal {
        subject: "admin".to_owned(),
        username: Some("admin".to_owned()),
        groups: Default::default(),
        roles: Default::default(),
        client_id: None,
    }
}

/// The ports of one replica: the repository on the test schema, everything else in memory
/// (shared, so that every replica sees the same builds and blobs), and `events`.
fn ports(
    app_data: Arc<adapter_postgres::PgAppDataRepository>,
    fakes: &Fakes,
    events: Arc<InMemoryEventPublisher>,
) -> Ports {
    Ports { app_data, events, ..fakes.ports() }
}

/// A build with two timer-started processes, `report` and `reminder`, both on.
fn build_with_timers(application_id: ApplicationId, minutes_old: i64) -> (Build, Vec<BuildTimer>) {
    let report = test_support::entry("PROCESS", "report", "report");
    let reminder = test_support::entry("PROCESS", "reminder", "reminder");
    let build = BuildFixture::new(application_id)
        .created_at(test_support::now() - time::Duration::minutes(minutes_old))
        .entry(report.clone())
        .entry(reminder.clone())
        .build();
    let timers = vec![
        test_support::timer(&report, "nightly", "0 0 2 * * *"),
        test_support::timer(&reminder, "hourly", "0 0 * * * *"),
    ];
    (build, timers)
}

async fn import(builds: &BuildService, build: &Build, timers: &[BuildTimer]) {
    let request = ImportRequest {
        build: build.clone(),
        resources: test_support::resources_of(build),
        binaries: Vec::new(),
        timers: timers.to_vec(),
        archive: bytes::Bytes::from_static(b"archive"),
        expected_application: None,
    };
    match builds.import(&admin(), request).await {
        Ok(ImportOutcome::Created(_)) => {}
        other => panic!("a new build should be created: {other:?}"),
    }
}

fn timer_events(records: &[OutboxRecord]) -> Vec<(ScheduleCommand, BuildId, String)> {
    records
        .iter()
        .filter_map(|record| match &record.event {
            DomainEvent::Timer { command, timer } => {
                Some((*command, timer.build_id, timer.node_id.to_string()))
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_set_and_stop_events_of_a_policy_change_are_delivered_after_a_crash_before_the_relay() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let fakes = Fakes::new();
    let application_id = ApplicationId::random();
    let (first, first_timers) = build_with_timers(application_id, 20);
    let (second, second_timers) = build_with_timers(application_id, 10);
    {
        // A replica that changes the policy twice and dies before its relay runs.
        let repository = Arc::new(schema.repository().await);
        let ports = ports(repository, &fakes, Arc::new(InMemoryEventPublisher::new()));
        let builds = BuildService::new(ports.clone());
        import(&builds, &first, &first_timers).await;
        import(&builds, &second, &second_timers).await;
        let policies = PolicyService::new(ports);
        policies.set(&admin(), application_id, PolicyTarget::Build(first.id())).await.unwrap();
        policies.set(&admin(), application_id, PolicyTarget::Build(second.id())).await.unwrap();
    }

    // A fresh replica on the same database: its relay delivers what the first one recorded.
    let publisher = Arc::new(InMemoryEventPublisher::new());
    let repository = Arc::new(schema.repository().await);
    let relay = OutboxRelay::new(ports(repository.clone(), &fakes, publisher.clone()));
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    // Poll: the new replica first has to take the relay leadership.
    while relay.deliver_pending(1000).await.unwrap() > 0 || publisher.published().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "nothing was delivered within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let delivered: Vec<OutboxRecord> = publisher
        .published()
        .into_iter()
        .filter(|record| record.event.application_id() == application_id)
        .collect();
    assert_eq!(
        timer_events(&delivered),
        [
            (ScheduleCommand::Set, first.id(), "hourly".to_owned()),
            (ScheduleCommand::Set, first.id(), "nightly".to_owned()),
            (ScheduleCommand::Stop, first.id(), "hourly".to_owned()),
            (ScheduleCommand::Stop, first.id(), "nightly".to_owned()),
            (ScheduleCommand::Set, second.id(), "hourly".to_owned()),
            (ScheduleCommand::Set, second.id(), "nightly".to_owned()),
        ],
        "every set and stop, in the order of the changes"
    );
    let schedule = repository.find_timer_schedule(application_id).await.unwrap();
    assert_eq!(schedule.build_id, Some(second.id()));
    drop(relay);
    drop(repository);
    schema.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_policy_edits_leave_the_scheduler_running_exactly_the_last_builds_timers() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let fakes = Fakes::new();
    let application_id = ApplicationId::random();
    let (first, first_timers) = build_with_timers(application_id, 20);
    let (second, second_timers) = build_with_timers(application_id, 10);
    let repository = Arc::new(schema.repository().await);
    let ports = ports(repository.clone(), &fakes, Arc::new(InMemoryEventPublisher::new()));
    let builds = BuildService::new(ports.clone());
    import(&builds, &first, &first_timers).await;
    import(&builds, &second, &second_timers).await;

    // Several replicas (each its own pool) edit the policy at once, back and forth.
    let mut edits = Vec::new();
    for round in 0..12 {
        let replica = Arc::new(schema.repository().await);
        let policies = PolicyService::new(Ports { app_data: replica, ..ports.clone() });
        let target = if round % 2 == 0 { first.id() } else { second.id() };
        edits.push(tokio::spawn(async move {
            policies.set(&admin(), application_id, PolicyTarget::Build(target)).await
        }));
    }
    for edit in edits {
        edit.await.unwrap().expect("every edit goes through, replanned if it lost a race");
    }

    // Replay what the scheduler is told, in outbox order: a stop must stop what runs, a
    // set must not start a second build's timer.
    let records =
        domain::ports::Outbox::pending_events(repository.as_ref(), 100_000).await.unwrap();
    let mut running: BTreeMap<String, BuildId> = BTreeMap::new();
    for record in records.iter().filter(|record| record.event.application_id() == application_id) {
        if let DomainEvent::Timer { command, timer } = &record.event {
            let key = timer.schedule_id();
            match command {
                ScheduleCommand::Set => {
                    let before = running.insert(key.clone(), timer.build_id);
                    assert_eq!(before, None, "set of {key} while {before:?} runs");
                }
                ScheduleCommand::Stop => {
                    let before = running.remove(&key);
                    assert_eq!(before, Some(timer.build_id), "stop of {key} of {}", timer.build_id);
                }
            }
        }
    }
    let policy = domain::runtime::ports::PolicyRepository::find_active_policy(
        repository.as_ref(),
        application_id,
    )
    .await
    .unwrap()
    .expect("a policy");
    let PolicyTarget::Build(last) = policy.target else { panic!("a BUILD policy") };
    assert_eq!(running.len(), 2, "both timers of one build run: {running:?}");
    assert!(running.values().all(|build| *build == last), "{running:?} vs the policy's {last}");
    let schedule = repository.find_timer_schedule(application_id).await.unwrap();
    assert_eq!(schedule.build_id, Some(last));
    drop(ports);
    drop(builds);
    drop(repository);
    schema.drop().await;
}
