//! Process start over REST, against a recording process engine: the build each start goes
//! to, what the engine receives, and every refusal of issue 7 that is REST.

use actix_web::http::header::CONTENT_LENGTH;
use actix_web::test::{self, TestRequest};
use adapter_memory::ScriptedAnswer;
use serde_json::json;

use crate::helpers::{
    LIBRARY_APP, LOAN_APP, LOAN_BUILD_1, LOAN_BUILD_2, TestApp, import_examples, post_json,
    put_json, send,
};

const WORKSPACE: &str = "0c4d2e6f-3a5b-4c7d-8e9f-a0b1c2d3e4f5";
const PROCESS: &str = "loan_application";
/// Start data with spacing and key order a re-serialisation would change.
const START_DATA: &str =
    "{\"loanAmount\" : 12000,\n  \"applicant\": {\"name\": \"Ana\"}, \"aaa\": [1.50, true]}";
const FIVE_MB: usize = 5 * 1024 * 1024;

fn on_build(app: &str, build: &str, process: &str) -> String {
    format!("/api/runtime/app/{app}/build/{build}/process-name/{process}/start")
}

fn on_active(app: &str, process: &str) -> String {
    format!("/api/runtime/app/{app}/process-name/{process}/start")
}

fn on_active_in(workspace: &str, app: &str, process: &str) -> String {
    format!("/api/runtime/wks/{workspace}/app/{app}/process-name/{process}/start")
}

fn test_run(app: &str, build: &str, process: &str) -> String {
    format!("/api/runtime-internal/app/{app}/build/{build}/process-name/{process}/start")
}

fn post_raw(path: &str, token: &str, body: impl Into<Vec<u8>>) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", "application/json"))
        .set_payload(body.into())
}

fn policy() -> String {
    format!("/api/build-mgmt/app/{LOAN_APP}/active-policy")
}

/// The app with the example builds imported and the global policy on `global`.
async fn with_examples<S, B>(service: &S, app: &TestApp, global: &str)
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    import_examples(service, app).await;
    let reply = send(
        service,
        put_json(&policy(), &app.admin(), &json!({"type": "BUILD", "buildId": global})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json());
}

#[actix_web::test]
async fn a_start_on_a_build_reaches_the_engine_with_the_token_the_fx_ids_and_the_body_byte_for_byte()
 {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let engine_answer = r#"{"uuid":"7f1c","state":"STARTED","buildId":"b1","processDefinitionName":"loan_application","tokens":[{"id":1,"state":"ACTIVE"}]}"#;
    app.engine.answer_next(ScriptedAnswer::Accept { status: 201, body: engine_answer.to_owned() });
    let token = app.token("alice", &[], &[]);

    let reply =
        send(&service, post_raw(&on_build(LOAN_APP, LOAN_BUILD_1, PROCESS), &token, START_DATA))
            .await;

    assert_eq!(reply.status, 201, "the engine's status: {:?}", reply.bytes);
    assert_eq!(reply.bytes, engine_answer.as_bytes(), "the engine's body, unchanged");
    assert_eq!(reply.headers.get("content-type").unwrap(), "application/json");
    let starts = app.engine.starts();
    assert_eq!(starts.len(), 1);
    let start = &starts[0];
    assert_eq!(start.process_name.as_str(), PROCESS);
    assert_eq!(start.application_id.to_string(), LOAN_APP);
    assert_eq!(start.build_id.to_string(), LOAN_BUILD_1);
    assert_eq!(start.workspace_id.map(|id| id.to_string()).as_deref(), Some(WORKSPACE));
    assert_eq!(start.credentials.expose(), format!("Bearer {token}"), "the caller's header");
    assert_eq!(start.body.as_str(), START_DATA, "the start data byte for byte");
}

#[actix_web::test]
async fn starts_on_the_active_build_go_to_the_build_of_the_callers_user_override_group_override_or_global_policy()
 {
    let app = TestApp::new();
    let service = app.service().await;
    with_examples(&service, &app, LOAN_BUILD_1).await;
    let overrides = format!("{}/overrides", policy());
    for (subject_type, subject, build) in
        [("GROUP", "testers", LOAN_BUILD_2), ("USER", "carol", LOAN_BUILD_1)]
    {
        let body = json!({"subjectType": subject_type, "subjectId": subject, "type": "BUILD", "buildId": build});
        assert_eq!(send(&service, post_json(&overrides, &app.admin(), &body)).await.status, 201);
    }

    let callers = [
        ("alice", &[][..], "global policy"),
        ("bob", &["/testers"][..], "group override"),
        ("carol", &["testers"][..], "user override, over the group's"),
    ];
    for (user, groups, _) in callers {
        let token = app.token(user, groups, &[]);
        let reply = send(&service, post_raw(&on_active(LOAN_APP, PROCESS), &token, "{}")).await;
        assert_eq!(reply.status, 200, "{user}: {:?}", reply.bytes);
        let in_workspace = on_active_in(WORKSPACE, LOAN_APP, PROCESS);
        let reply = send(&service, post_raw(&in_workspace, &token, "{}")).await;
        assert_eq!(reply.status, 200, "{user} in the workspace: {:?}", reply.bytes);
    }

    let builds: Vec<String> =
        app.engine.starts().iter().map(|start| start.build_id.to_string()).collect();
    let expected =
        [LOAN_BUILD_1, LOAN_BUILD_1, LOAN_BUILD_2, LOAN_BUILD_2, LOAN_BUILD_1, LOAN_BUILD_1];
    assert_eq!(builds, expected, "alice (global), bob (group), carol (user), each on both routes");
    let answer = send(
        &service,
        post_raw(&on_active(LOAN_APP, PROCESS), &app.token("bob", &["testers"], &[]), ""),
    )
    .await
    .json();
    assert_eq!(answer["buildId"], LOAN_BUILD_2, "the engine's start DTO names the build");
    assert_eq!(answer["state"], "STARTED");
}

#[actix_web::test]
async fn a_build_of_another_application_or_workspace_is_a_404_and_nothing_reaches_the_engine() {
    let app = TestApp::new();
    let service = app.service().await;
    with_examples(&service, &app, LOAN_BUILD_1).await;
    let token = app.token("alice", &[], &[]);
    let other_workspace = uuid::Uuid::new_v4().to_string();

    for path in [
        on_build(LIBRARY_APP, LOAN_BUILD_1, PROCESS),
        on_build(LOAN_APP, &uuid::Uuid::new_v4().to_string(), PROCESS),
        on_active_in(&other_workspace, LOAN_APP, PROCESS),
    ] {
        send(&service, post_raw(&path, &token, "{}")).await.assert_error(404, "build_not_found");
    }
    send(&service, post_raw(&on_active(LIBRARY_APP, PROCESS), &token, "{}"))
        .await
        .assert_error(404, "no_active_policy");

    assert!(app.engine.starts().is_empty(), "nothing reached the engine");
}

#[actix_web::test]
async fn a_process_the_build_does_not_hold_is_a_404_process_not_found_and_nothing_reaches_the_engine()
 {
    let app = TestApp::new();
    let service = app.service().await;
    with_examples(&service, &app, LOAN_BUILD_1).await;
    let token = app.token("alice", &[], &[]);

    for path in [
        on_build(LOAN_APP, LOAN_BUILD_1, "no_such_process"),
        on_active(LOAN_APP, "no_such_process"),
        // A resource of that name exists, but it is not a PROCESS.
        on_active(LOAN_APP, "loan_types"),
    ] {
        let reply = send(&service, post_raw(&path, &token, "{}")).await;
        reply.assert_error(404, "process_not_found");
    }

    assert!(app.engine.starts().is_empty(), "nothing reached the engine");
}

#[actix_web::test]
async fn start_data_over_5_mb_is_a_413_whether_or_not_its_length_is_declared() {
    let app = TestApp::new();
    let service = app.service().await;
    with_examples(&service, &app, LOAN_BUILD_1).await;
    let token = app.token("alice", &[], &[]);
    let over = format!("{{\"blob\": \"{}\"}}", "x".repeat(FIVE_MB));
    let path = on_build(LOAN_APP, LOAN_BUILD_1, PROCESS);

    send(&service, post_raw(&path, &token, over.clone()))
        .await
        .assert_error(413, "payload_too_large");
    // Without a Content-Length (as a chunked upload) the limit holds while reading.
    let mut undeclared = post_raw(&path, &token, over).to_request();
    undeclared.headers_mut().remove(CONTENT_LENGTH);
    let response = test::call_service(&service, undeclared).await;
    assert_eq!(response.status(), 413);

    assert!(app.engine.starts().is_empty(), "nothing reached the engine");
    let at_limit = format!("{{\"blob\": \"{}\"}}", "x".repeat(FIVE_MB - 12));
    assert_eq!(at_limit.len(), FIVE_MB);
    let reply = send(&service, post_raw(&path, &token, at_limit)).await;
    assert_eq!(reply.status, 200, "exactly 5 MB is accepted");
}

#[actix_web::test]
async fn start_data_must_be_a_json_object_and_an_empty_body_is_the_empty_object() {
    let app = TestApp::new();
    let service = app.service().await;
    with_examples(&service, &app, LOAN_BUILD_1).await;
    let token = app.token("alice", &[], &[]);
    let path = on_build(LOAN_APP, LOAN_BUILD_1, PROCESS);

    for body in ["[1, 2]", "\"start\"", "42", "null"] {
        send(&service, post_raw(&path, &token, body)).await.assert_error(400, "invalid_start_data");
    }
    send(&service, post_raw(&path, &token, "{\"a\": ")).await.assert_error(400, "malformed_json");
    assert!(app.engine.starts().is_empty(), "nothing reached the engine");

    let reply = send(&service, post_raw(&path, &token, "")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(app.engine.starts()[0].body.as_str(), "{}");
}

#[actix_web::test]
async fn an_engine_refusal_keeps_its_status_and_message_under_process_engine_refused() {
    let app = TestApp::new();
    let service = app.service().await;
    with_examples(&service, &app, LOAN_BUILD_1).await;
    app.engine.answer_next(ScriptedAnswer::Refuse {
        status: 422,
        message: "loanAmount must be positive".to_owned(),
    });

    let reply = send(
        &service,
        post_raw(&on_active(LOAN_APP, PROCESS), &app.token("alice", &[], &[]), "{}"),
    )
    .await;

    reply.assert_error(422, "process_engine_refused");
    let message = reply.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("loanAmount must be positive"), "{message}");
}

#[actix_web::test]
async fn an_engine_that_fails_cannot_be_reached_or_is_slow_is_502_503_504_process_engine_unavailable()
 {
    let app = TestApp::new();
    let service = app.service().await;
    with_examples(&service, &app, LOAN_BUILD_1).await;
    let token = app.token("alice", &[], &[]);
    let path = on_build(LOAN_APP, LOAN_BUILD_1, PROCESS);

    for (scripted, status) in [
        (ScriptedAnswer::Fail { status: 500 }, 502),
        (ScriptedAnswer::Unreachable, 503),
        (ScriptedAnswer::TimeOut, 504),
    ] {
        app.engine.answer_next(scripted.clone());
        let reply = send(&service, post_raw(&path, &token, "{}")).await;
        reply.assert_error(status, "process_engine_unavailable");
        let message = reply.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains("process engine"), "{scripted:?}: {message}");
    }
}

#[actix_web::test]
async fn without_an_engine_a_start_is_503_process_engine_not_configured_naming_the_variable() {
    let app = TestApp::without_process_engine();
    let service = app.service().await;
    with_examples(&service, &app, LOAN_BUILD_1).await;

    let reply = send(
        &service,
        post_raw(&on_active(LOAN_APP, PROCESS), &app.token("alice", &[], &[]), "{}"),
    )
    .await;

    reply.assert_error(503, "process_engine_not_configured");
    let message = reply.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("RTM_PROCESS_ENGINE_URL"), "{message}");
}

#[actix_web::test]
async fn every_start_route_needs_a_token() {
    let app = TestApp::new();
    let service = app.service().await;
    with_examples(&service, &app, LOAN_BUILD_1).await;

    for path in [
        on_build(LOAN_APP, LOAN_BUILD_1, PROCESS),
        on_active(LOAN_APP, PROCESS),
        on_active_in(WORKSPACE, LOAN_APP, PROCESS),
        test_run(LOAN_APP, LOAN_BUILD_2, PROCESS),
    ] {
        let request = TestRequest::post().uri(&path).set_payload("{}");
        send(&service, request).await.assert_error(401, "missing_token");
    }
    assert!(app.engine.starts().is_empty());
}

#[actix_web::test]
async fn the_designer_test_run_needs_builds_read_and_starts_on_any_build_of_the_application() {
    let app = TestApp::new();
    let service = app.service().await;
    with_examples(&service, &app, LOAN_BUILD_1).await;
    let path = test_run(LOAN_APP, LOAN_BUILD_2, PROCESS);

    send(&service, post_raw(&path, &app.token("alice", &[], &[]), "{}"))
        .await
        .assert_error(403, "forbidden");
    assert!(app.engine.starts().is_empty());

    let designer = app.token("designer", &[], &["ROLE_BUILDS_MANAGE_READ"]);
    let reply = send(&service, post_raw(&path, &designer, START_DATA)).await;
    assert_eq!(reply.status, 200, "{:?}", reply.bytes);
    let starts = app.engine.starts();
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0].build_id.to_string(), LOAN_BUILD_2, "not the active build: the one named");
    assert_eq!(starts[0].body.as_str(), START_DATA);
    send(&service, post_raw(&test_run(LIBRARY_APP, LOAN_BUILD_2, PROCESS), &designer, "{}"))
        .await
        .assert_error(404, "build_not_found");
}
