//! `TimerRegistry`: timers stored and gone with their header, switches, and the schedule's
//! compare-and-set, which every write that takes a `ScheduleMove` honours.

use domain::model::{
    ApplicationId, BuildHeader, BuildTimer, DomainEvent, PolicyTarget, ScheduleMove, TimerSchedule,
};
use domain::ports::{AppDataRepository, PortError};
use test_support::BuildFixture;

use crate::app_data::{assert_no_events, claimed, pending_for, unchanged};
use crate::fixtures;

/// Runs every check of the role.
pub async fn run_all(repo: &dyn AppDataRepository) {
    an_application_never_scheduled_is_at_revision_zero(repo).await;
    timers_are_stored_with_their_header_and_listed_in_order(repo).await;
    a_schedule_move_goes_through_once_from_its_revision(repo).await;
    an_outdated_move_writes_nothing_whatever_the_write(repo).await;
    of_two_racing_moves_from_one_revision_exactly_one_goes_through(repo).await;
    a_switch_flips_one_timer_moves_the_schedule_and_records_events(repo).await;
    switching_an_unknown_timer_is_false_and_writes_nothing(repo).await;
    a_deleted_build_takes_its_timers_with_it(repo).await;
}

fn assert_outdated<T: std::fmt::Debug>(result: Result<T, PortError>, context: &str) {
    match result {
        Err(PortError::Outdated(_)) => {}
        other => panic!("{context}: expected PortError::Outdated, got {other:?}"),
    }
}

/// A header of a fresh application with two timers: `b.t1` (off) and `a.t1` (on).
fn header_with_timers() -> (BuildHeader, Vec<BuildTimer>) {
    let process_b = test_support::entry("PROCESS", "b", "Process B");
    let process_a = test_support::entry("PROCESS", "a", "Process A");
    let build = BuildFixture::new(ApplicationId::random())
        .entry(process_b.clone())
        .entry(process_a.clone())
        .build();
    let mut off = test_support::timer(&process_b, "t1", "0 0 2 * * *");
    off.activated = false;
    let on = test_support::timer(&process_a, "t1", "0 0 12 * * MON-FRI");
    (build.header, vec![off, on])
}

async fn schedule_of(repo: &dyn AppDataRepository, application_id: ApplicationId) -> TimerSchedule {
    repo.find_timer_schedule(application_id).await.expect("find_timer_schedule")
}

/// `find_timer_schedule` of a fresh application: no build, revision 0.
pub async fn an_application_never_scheduled_is_at_revision_zero(repo: &dyn AppDataRepository) {
    let application_id = ApplicationId::random();
    assert_eq!(schedule_of(repo, application_id).await, TimerSchedule::unscheduled(application_id));
}

/// The timers of `complete_import` read back with their switches, ordered by process then
/// node; a build without timers, or unknown, has none.
pub async fn timers_are_stored_with_their_header_and_listed_in_order(repo: &dyn AppDataRepository) {
    let (header, timers) = header_with_timers();
    let schedule = unchanged(repo, header.application_id).await;
    repo.complete_import(&header, claimed(repo, &header).await, &timers, &schedule, &[])
        .await
        .expect("complete_import");

    let listed = repo.list_build_timers(header.id).await.expect("list_build_timers");
    let expected = vec![timers[1].clone(), timers[0].clone()];
    assert_eq!(listed, expected, "timers read back as stored, ordered by process then node");

    let plain = BuildFixture::new(ApplicationId::random()).header();
    let schedule = unchanged(repo, plain.application_id).await;
    repo.complete_import(&plain, claimed(repo, &plain).await, &[], &schedule, &[])
        .await
        .expect("complete_import");
    assert!(repo.list_build_timers(plain.id).await.expect("list_build_timers").is_empty());
    assert!(
        repo.list_build_timers(domain::model::BuildId::random())
            .await
            .expect("list_build_timers")
            .is_empty()
    );
}

/// A move from the record's revision names the new build at the next revision; the same
/// move again is `Outdated`.
pub async fn a_schedule_move_goes_through_once_from_its_revision(repo: &dyn AppDataRepository) {
    let (header, timers) = header_with_timers();
    let application_id = header.application_id;
    let start = schedule_of(repo, application_id).await;
    let to_header = start.move_to(Some(header.id));
    repo.complete_import(&header, claimed(repo, &header).await, &timers, &to_header, &[])
        .await
        .expect("complete_import");

    let moved = schedule_of(repo, application_id).await;
    assert_eq!(
        moved,
        TimerSchedule { application_id, build_id: Some(header.id), revision: 1 },
        "the first move names the build at revision 1"
    );

    let policy = fixtures::policy(application_id, PolicyTarget::Build(header.id));
    let stale = repo.put_active_policy(&policy, &to_header, &[]).await;
    assert_outdated(stale, "a second move from revision 0");
    let kept = repo.find_active_policy(application_id).await.expect("find_active_policy");
    assert_eq!(kept, None, "an outdated put stores nothing");

    repo.put_active_policy(&policy, &moved.move_to(moved.build_id), &[])
        .await
        .expect("a move from the current revision");
    assert_eq!(schedule_of(repo, application_id).await.revision, 2, "every move counts");
}

/// `Outdated` from `complete_import`, `put_active_policy` and `delete_build_header` alike:
/// nothing stored, removed or recorded, the schedule as it was.
pub async fn an_outdated_move_writes_nothing_whatever_the_write(repo: &dyn AppDataRepository) {
    let (header, timers) = header_with_timers();
    let application_id = header.application_id;
    let first = BuildFixture::new(application_id).header();
    let schedule = unchanged(repo, application_id).await;
    repo.complete_import(&first, claimed(repo, &first).await, &[], &schedule, &[])
        .await
        .expect("complete_import");
    let before = schedule_of(repo, application_id).await;
    let stale = ScheduleMove { expected_revision: before.revision + 5, ..before.move_to(None) };
    let events = [fixtures::event(application_id)];

    assert_outdated(
        repo.complete_import(&header, claimed(repo, &header).await, &timers, &stale, &events).await,
        "complete_import from another revision",
    );
    assert_eq!(repo.find_build_header(header.id).await.expect("find_build_header"), None);
    assert!(repo.list_build_timers(header.id).await.expect("list_build_timers").is_empty());

    let policy = fixtures::policy(application_id, PolicyTarget::Build(first.id));
    assert_outdated(
        repo.put_active_policy(&policy, &stale, &events).await,
        "put_active_policy from another revision",
    );
    assert_eq!(repo.find_active_policy(application_id).await.expect("find_active_policy"), None);

    assert_outdated(
        repo.delete_build_header(first.id, &stale, &events).await,
        "delete_build_header from another revision",
    );
    assert!(repo.find_build_header(first.id).await.expect("find_build_header").is_some());

    assert_eq!(schedule_of(repo, application_id).await, before, "the schedule did not move");
    assert_no_events(repo, application_id, "outdated writes").await;
}

/// Two writes that computed their moves from one revision, run at once: one stores its
/// change, the other is `Outdated` and stores nothing.
pub async fn of_two_racing_moves_from_one_revision_exactly_one_goes_through(
    repo: &dyn AppDataRepository,
) {
    let application_id = ApplicationId::random();
    let first = BuildFixture::new(application_id).header();
    let second = BuildFixture::new(application_id).header();
    let from = schedule_of(repo, application_id).await;

    let (to_first, to_second) = (from.move_to(Some(first.id)), from.move_to(Some(second.id)));
    let (first_owner, second_owner) = (claimed(repo, &first).await, claimed(repo, &second).await);
    let (one, two) = futures_util::future::join(
        repo.complete_import(&first, first_owner, &[], &to_first, &[]),
        repo.complete_import(&second, second_owner, &[], &to_second, &[]),
    )
    .await;

    let (winner, loser) = match (&one, &two) {
        (Ok(()), Err(PortError::Outdated(_))) => (&first, &second),
        (Err(PortError::Outdated(_)), Ok(())) => (&second, &first),
        other => panic!("expected one success and one Outdated, got {other:?}"),
    };
    assert_eq!(
        schedule_of(repo, application_id).await,
        TimerSchedule { application_id, build_id: Some(winner.id), revision: from.revision + 1 }
    );
    assert_eq!(repo.find_build_header(loser.id).await.expect("find_build_header"), None);
}

/// `switch_timer` changes the one flag, moves the schedule and records its events.
pub async fn a_switch_flips_one_timer_moves_the_schedule_and_records_events(
    repo: &dyn AppDataRepository,
) {
    let (header, timers) = header_with_timers();
    let application_id = header.application_id;
    let schedule = unchanged(repo, application_id).await;
    repo.complete_import(&header, claimed(repo, &header).await, &timers, &schedule, &[])
        .await
        .expect("complete_import");
    let before = schedule_of(repo, application_id).await;
    let events = [fixtures::event(application_id)];

    let switched = repo
        .switch_timer(header.id, &timers[0].id(), true, &before.move_to(before.build_id), &events)
        .await
        .expect("switch_timer");

    assert!(switched, "a timer of the build answers true");
    let listed = repo.list_build_timers(header.id).await.expect("list_build_timers");
    assert!(listed.iter().all(|timer| timer.activated), "b.t1 is on now, a.t1 stayed on");
    assert_eq!(schedule_of(repo, application_id).await.revision, before.revision + 1);
    let recorded: Vec<DomainEvent> =
        pending_for(repo, application_id).await.into_iter().map(|record| record.event).collect();
    assert_eq!(recorded, events, "the switch records its events");

    let stale = repo
        .switch_timer(header.id, &timers[0].id(), false, &before.move_to(before.build_id), &[])
        .await;
    assert_outdated(stale, "a switch from an old revision");
    let listed = repo.list_build_timers(header.id).await.expect("list_build_timers");
    assert!(listed.iter().all(|timer| timer.activated), "an outdated switch changes nothing");
}

/// `Ok(false)` for a timer the build does not have: no move, no event.
pub async fn switching_an_unknown_timer_is_false_and_writes_nothing(repo: &dyn AppDataRepository) {
    let (header, timers) = header_with_timers();
    let application_id = header.application_id;
    let schedule = unchanged(repo, application_id).await;
    repo.complete_import(&header, claimed(repo, &header).await, &timers[..1], &schedule, &[])
        .await
        .expect("complete_import");
    let before = schedule_of(repo, application_id).await;

    let switched = repo
        .switch_timer(
            header.id,
            &timers[1].id(),
            false,
            &before.move_to(before.build_id),
            &[fixtures::event(application_id)],
        )
        .await
        .expect("switch_timer");

    assert!(!switched, "a timer the build does not have answers false");
    assert_eq!(schedule_of(repo, application_id).await, before, "nothing moved");
    assert_no_events(repo, application_id, "switching an unknown timer").await;
}

/// A deleted header's timers are gone; the schedule moves with the delete.
pub async fn a_deleted_build_takes_its_timers_with_it(repo: &dyn AppDataRepository) {
    let (header, timers) = header_with_timers();
    let application_id = header.application_id;
    let schedule = unchanged(repo, application_id).await;
    repo.complete_import(&header, claimed(repo, &header).await, &timers, &schedule, &[])
        .await
        .expect("complete_import");

    let deleted = repo
        .delete_build_header(header.id, &unchanged(repo, application_id).await, &[])
        .await
        .expect("delete_build_header");

    assert!(deleted);
    assert!(repo.list_build_timers(header.id).await.expect("list_build_timers").is_empty());
    assert_eq!(schedule_of(repo, application_id).await.revision, 2, "the delete moved it too");
}
