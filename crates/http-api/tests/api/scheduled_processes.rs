//! Scheduled processes through the build-management API: the timers of the global build,
//! their switches (and what the scheduler is told), and the switches' trip through export
//! and import.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::TestRequest;
use domain::model::{DomainEvent, ScheduleCommand};
use domain::ports::Outbox as _;
use serde_json::{Value, json};

use crate::helpers::{TestApp, entries_of, example, get, put_json, send, upload};

const SERVICING_APP: &str = "9d4b2f6e-1c3a-4e5b-8d7f-0a1b2c3d4e5f";
const SERVICING_BUILD: &str = "5e7c1ce0-0000-4000-8000-000000000001";
const REMINDERS: &str = "6a1f3c5e-7b9d-4e1f-8a3c-5e7b9d1f3a01.node_every_morning";
const SNAPSHOT: &str = "6a1f3c5e-7b9d-4e1f-8a3c-5e7b9d1f3a02.node_every_six_hours";

fn scheduled() -> String {
    format!("/api/build-mgmt/app/{SERVICING_APP}/scheduled-processes")
}

fn patch(path: &str, token: &str, body: &Value) -> TestRequest {
    TestRequest::patch()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .set_json(body)
}

/// The app with the Loan Servicing build imported and, when `global`, made the global build.
async fn servicing<S, B>(app: &TestApp, service: &S, global: bool)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let archive = example("loan-servicing-1");
    let reply =
        send(service, upload("/api/build-mgmt/builds/import", &app.admin(), &archive)).await;
    assert_eq!(reply.status, 201, "{}", String::from_utf8_lossy(&reply.bytes));
    if global {
        servicing_policy(app, service).await;
    }
}

/// The commands and schedule ids of the timer events recorded so far.
async fn timer_events(app: &TestApp) -> Vec<(ScheduleCommand, String)> {
    app.fakes
        .app_data
        .pending_events(usize::MAX)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|record| match record.event {
            DomainEvent::Timer { command, timer } => Some((command, timer.schedule_id())),
            _ => None,
        })
        .collect()
}

#[actix_web::test]
async fn the_timers_of_the_global_build_are_listed_with_their_processes() {
    let app = TestApp::new();
    let service = app.service().await;
    servicing(&app, &service, false).await;
    send(&service, get(&scheduled(), &app.admin())).await.assert_error(404, "no_active_policy");
    servicing_policy(&app, &service).await;

    let reader = app.token("viewer", &[], &["ROLE_BUILDS_MANAGE_READ"]);
    let reply = send(&service, get(&scheduled(), &reader)).await;

    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!([
            {
                "timerId": REMINDERS,
                "buildId": SERVICING_BUILD,
                "processDefinitionName": "overdue_reminders",
                "swimlane": "collections",
                "timerName": "Every working day at 08:00",
                "timerType": "CRON",
                "expression": "0 0 8 * * MON-FRI",
                "activated": true
            },
            {
                "timerId": SNAPSHOT,
                "buildId": SERVICING_BUILD,
                "processDefinitionName": "portfolio_snapshot",
                "swimlane": "risk",
                "timerName": "Every six hours",
                "timerType": "CYCLE",
                "expression": "R/2027-01-01T00:00:00Z/PT6H",
                "activated": true
            }
        ])
    );
    let nobody = app.token("nobody", &[], &[]);
    send(&service, get(&scheduled(), &nobody)).await.assert_error(403, "forbidden");
}

async fn servicing_policy<S, B>(app: &TestApp, service: &S)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let policy = format!("/api/build-mgmt/app/{SERVICING_APP}/active-policy");
    let body = json!({"type": "BUILD", "buildId": SERVICING_BUILD});
    assert_eq!(send(service, put_json(&policy, &app.admin(), &body)).await.status, 200);
}

#[actix_web::test]
async fn making_the_build_global_sets_its_timers_and_a_patch_stops_and_sets_one() {
    let app = TestApp::new();
    let service = app.service().await;
    servicing(&app, &service, true).await;
    let reminders = format!("{SERVICING_APP}:overdue_reminders:node_every_morning");
    let snapshot = format!("{SERVICING_APP}:portfolio_snapshot:node_every_six_hours");
    assert_eq!(
        timer_events(&app).await,
        [(ScheduleCommand::Set, reminders.clone()), (ScheduleCommand::Set, snapshot)]
    );

    let path = format!("{}/{REMINDERS}", scheduled());
    let editor = app.token("editor", &[], &["ROLE_BUILDS_MANAGE_EDIT"]);
    let reply = send(&service, patch(&path, &editor, &json!({"activated": false}))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["activated"], false);
    assert_eq!(timer_events(&app).await[2..], [(ScheduleCommand::Stop, reminders.clone())]);

    let reply = send(&service, patch(&path, &editor, &json!({"activated": true}))).await;
    assert_eq!(reply.json()["activated"], true);
    assert_eq!(timer_events(&app).await[3..], [(ScheduleCommand::Set, reminders)]);

    let listed = send(&service, get(&scheduled(), &editor)).await.json();
    assert_eq!(listed[0]["activated"], true);
}

#[actix_web::test]
async fn a_patch_refuses_unknown_timers_bad_ids_bad_bodies_and_readers() {
    let app = TestApp::new();
    let service = app.service().await;
    servicing(&app, &service, true).await;
    let admin = app.admin();

    let unknown = format!("{}/6a1f3c5e-7b9d-4e1f-8a3c-5e7b9d1f3a01.node_end", scheduled());
    send(&service, patch(&unknown, &admin, &json!({"activated": false})))
        .await
        .assert_error(404, "timer_not_found");
    let malformed = format!("{}/no-dot-here", scheduled());
    send(&service, patch(&malformed, &admin, &json!({"activated": false})))
        .await
        .assert_error(400, "invalid_request");
    let path = format!("{}/{REMINDERS}", scheduled());
    send(&service, patch(&path, &admin, &json!({"activated": "no"})))
        .await
        .assert_error(400, "malformed_json");
    send(&service, patch(&path, &admin, &json!({"activated": false, "colour": "red"})))
        .await
        .assert_error(400, "malformed_json");
    let reader = app.token("viewer", &[], &["ROLE_BUILDS_MANAGE_READ"]);
    send(&service, patch(&path, &reader, &json!({"activated": false})))
        .await
        .assert_error(403, "forbidden");
    let foreign = format!("{}?buildId=b1a1e001-0000-4000-8000-000000000001", scheduled());
    send(&service, get(&foreign, &admin)).await.assert_error(404, "build_not_found");
    assert!(
        timer_events(&app).await.len() == 2,
        "only the two sets of the policy change were recorded"
    );
}

#[actix_web::test]
async fn a_switch_leaves_with_the_export_and_comes_back_with_the_import() {
    let app = TestApp::new();
    let service = app.service().await;
    servicing(&app, &service, false).await;
    let admin = app.admin();
    let path = format!("{}/{SNAPSHOT}?buildId={SERVICING_BUILD}", scheduled());
    let reply = send(&service, patch(&path, &admin, &json!({"activated": false}))).await;
    assert_eq!(reply.status, 200, "a build that is not global can be switched by its id");
    assert!(timer_events(&app).await.is_empty(), "it is not scheduled, so nothing is sent");

    let export = format!("/api/build-mgmt/app/{SERVICING_APP}/builds/{SERVICING_BUILD}/export");
    let archive = send(&service, get(&export, &admin)).await.bytes.to_vec();
    let entries = entries_of(&archive);
    let schedule = entries
        .iter()
        .find(|(name, _)| name == "schedule.json")
        .map(|(_, bytes)| serde_json::from_slice::<Value>(bytes).unwrap())
        .expect("the export carries schedule.json");
    assert_eq!(
        schedule,
        json!({"formatVersion": 1, "timers": [
            {"timerId": REMINDERS, "activated": true},
            {"timerId": SNAPSHOT, "activated": false}
        ]})
    );

    let elsewhere = TestApp::new();
    let other = elsewhere.service().await;
    let reply =
        send(&other, upload("/api/build-mgmt/builds/import", &elsewhere.admin(), &archive)).await;
    assert_eq!(reply.status, 201);
    let original = send(
        &service,
        get(&format!("/api/build-mgmt/app/{SERVICING_APP}/builds/{SERVICING_BUILD}"), &admin),
    )
    .await
    .json();
    assert_eq!(reply.json()["checksum"], original["checksum"], "the same build, the same checksum");
    let listed = send(
        &other,
        get(&format!("{}?buildId={SERVICING_BUILD}", scheduled()), &elsewhere.admin()),
    )
    .await
    .json();
    assert_eq!(listed[0]["activated"], true);
    assert_eq!(listed[1]["activated"], false, "the switch came back with the import");
}
