//! Request metrics at `/actuator/prometheus` and the request log line.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::test::{self, TestRequest};
use http_api::{AppInfo, Health, Readiness, Scrape};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::helpers::{LOAN_APP, TestApp, get, send};

/// The test binary's recorder: the middleware records through the global `metrics` facade,
/// as in the server, and actix runs handlers on tasks a thread-local recorder would miss.
fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(http_api::metric_names::HTTP_SERVER_REQUESTS_SECONDS.to_owned()),
                    &[0.01, 0.1, 1.0],
                )
                .unwrap()
                .install_recorder()
                .unwrap()
        })
        .clone()
}

/// The lines of the scrape that start with `name{` and carry every one of `labels`.
fn series<'a>(text: &'a str, name: &str, labels: &[&str]) -> Vec<&'a str> {
    text.lines()
        .filter(|line| line.starts_with(&format!("{name}{{")))
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .collect()
}

async fn scrape(handle: PrometheusHandle) -> String {
    let management = test::init_service(
        http_api::management_app(Readiness::default(), Health::default(), AppInfo::default())
            .configure(http_api::prometheus_endpoint(Scrape::new(move || handle.render()))),
    )
    .await;
    let response = test::call_service(
        &management,
        TestRequest::get().uri("/actuator/prometheus").to_request(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers().get("content-type").unwrap().to_str().unwrap();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    String::from_utf8(test::read_body(response).await.to_vec()).unwrap()
}

#[actix_web::test]
async fn a_request_is_counted_under_its_route_pattern_with_status_outcome_and_error_code() {
    let handle = recorder();
    let app = TestApp::new();
    let service = app.service().await;
    let path = format!("/api/runtime/app/{LOAN_APP}/build/info");
    send(&service, get(&path, &app.token("alice", &[], &[])))
        .await
        .assert_error(404, "no_active_policy");

    let text = scrape(handle).await;
    let counted = series(
        &text,
        "http_server_requests_seconds_count",
        &[
            r#"method="GET""#,
            r#"uri="/api/runtime/app/{appId}/build/info""#,
            r#"status="404""#,
            r#"outcome="CLIENT_ERROR""#,
            r#"exception="no_active_policy""#,
        ],
    );
    assert_eq!(counted.len(), 1, "one series for the route, in:\n{text}");
    let count: f64 = counted[0].rsplit(' ').next().unwrap().parse().unwrap();
    assert!(count >= 1.0, "{}", counted[0]);
    // A histogram, not a summary: buckets a dashboard can aggregate across replicas.
    assert!(
        !series(&text, "http_server_requests_seconds_bucket", &[r#"le="0.1""#]).is_empty(),
        "{text}"
    );
    // The application id is in the path, never in a label.
    assert!(!text.contains(LOAN_APP), "{text}");
}

#[actix_web::test]
async fn an_unmatched_path_is_counted_as_unknown_and_a_success_as_none() {
    let handle = recorder();
    let app = TestApp::new();
    let service = app.service().await;
    let probe = format!("/wp-admin/{}", uuid::Uuid::new_v4());
    send(&service, TestRequest::get().uri(&probe)).await.assert_error(404, "route_not_found");
    let reply = send(&service, TestRequest::get().uri("/v3/api-docs")).await;
    assert_eq!(reply.status, 200);

    let text = scrape(handle).await;
    assert!(
        !series(
            &text,
            "http_server_requests_seconds_count",
            &[r#"uri="UNKNOWN""#, r#"status="404""#, r#"outcome="CLIENT_ERROR""#],
        )
        .is_empty(),
        "{text}"
    );
    assert!(!text.contains("wp-admin"), "the path of an unmatched request is no label:\n{text}");
    assert!(
        !series(
            &text,
            "http_server_requests_seconds_count",
            &[
                r#"uri="/v3/api-docs""#,
                r#"status="200""#,
                r#"outcome="SUCCESS""#,
                r#"exception="None""#
            ],
        )
        .is_empty(),
        "{text}"
    );
}

/// The value of the one series `name{labels}` in `text`, 0 when absent.
fn value(text: &str, name: &str, labels: &[&str]) -> f64 {
    series(text, name, labels)
        .first()
        .map_or(0.0, |line| line.rsplit(' ').next().unwrap().parse().unwrap())
}

#[actix_web::test]
async fn a_repeated_token_is_counted_as_a_token_cache_hit() {
    let handle = recorder();
    let app = TestApp::new();
    let service = app.service().await;
    let gets = "rtm_cache_gets_total";
    let hits = [r#"cache="token""#, r#"result="hit""#];
    let misses = [r#"cache="token""#, r#"result="miss""#];
    let before = scrape(handle.clone()).await;
    let token = app.token(&format!("user-{}", uuid::Uuid::new_v4()), &[], &[]);
    let path = format!("/api/runtime/app/{LOAN_APP}/build/info");
    for _ in 0..3 {
        send(&service, get(&path, &token)).await.assert_error(404, "no_active_policy");
    }

    // Other tests of this binary may count too: at least this test's reads are there.
    let after = scrape(handle).await;
    assert!(value(&after, gets, &hits) >= value(&before, gets, &hits) + 2.0, "{after}");
    assert!(value(&after, gets, &misses) >= value(&before, gets, &misses) + 1.0, "{after}");
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[actix_web::test]
async fn every_request_writes_one_json_line_with_route_status_trace_id_and_user_never_the_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(move || writer.clone())
        .finish();
    // actix's test runtime runs the request on this thread: a thread default sees it.
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::new();
    let service = app.service().await;
    let token = app.token("alice", &["/loans"], &[]);
    let path = format!("/api/runtime/app/{LOAN_APP}/build/info");
    let reply = send(&service, get(&path, &token)).await;
    reply.assert_error(404, "no_active_policy");
    let trace_id = reply.json()["traceId"].as_str().unwrap().to_owned();
    send(&service, TestRequest::get().uri("/v3/api-docs")).await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .filter(|line: &serde_json::Value| line["target"] == "http_api::request")
        .collect();
    assert_eq!(lines.len(), 2, "one line per request:\n{text}");
    let line = &lines[0];
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], "/api/runtime/app/{appId}/build/info");
    assert_eq!(line["status"], 404);
    assert_eq!(line["exception"], "no_active_policy");
    assert_eq!(line["trace_id"], trace_id.as_str(), "the error body's traceId finds the line");
    assert_eq!(line["user"], "alice");
    assert!(line["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(lines[1]["route"], "/v3/api-docs");
    assert!(lines[1].get("user").is_none(), "no user on an anonymous request: {}", lines[1]);
    assert!(!text.contains(&token), "the token is never logged:\n{text}");
}
