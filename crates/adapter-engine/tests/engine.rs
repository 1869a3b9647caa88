//! `HttpProcessEngine` against real local HTTP servers on random ports: an actix-web engine
//! that records every request it receives and answers as the test tells it, a closed port,
//! and a TCP server that answers something that is not HTTP.
#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::header::HeaderMap;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use adapter_engine::{EngineConfig, HttpProcessEngine};
use domain::model::{ApplicationId, BuildId, RawJson, ResourceName, WorkspaceId};
use domain::ports::{Credentials, EngineError, EngineStart, ProcessEngine};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
const START_DATA: &str =
    r#"{ "amount": 12000,  "applicant": {"name": "Ana"}, "tags": ["a", "b"] }"#;

/// A request as the engine received it.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    /// As sent: still percent-encoded.
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
    /// The client's end of the connection: the same for requests on one pooled connection.
    peer: Option<SocketAddr>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }
}

/// What the engine answers.
#[derive(Debug, Clone)]
struct Answer {
    status: u16,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    /// How long the engine takes before it answers.
    delay: Duration,
}

impl Answer {
    fn json(status: u16, body: &str) -> Self {
        Self {
            status,
            content_type: Some("application/json"),
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    fn text(status: u16, body: &str) -> Self {
        Self { content_type: Some("text/plain"), ..Self::json(status, body) }
    }

    fn after(self, delay: Duration) -> Self {
        Self { delay, ..self }
    }
}

struct EngineState {
    received: Arc<Mutex<Vec<Received>>>,
    answer: Answer,
}

async fn record(req: HttpRequest, body: web::Bytes, state: web::Data<EngineState>) -> HttpResponse {
    state.received.lock().unwrap().push(Received {
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
        headers: req.headers().clone(),
        body: body.to_vec(),
        peer: req.peer_addr(),
    });
    let answer = &state.answer;
    actix_web::rt::time::sleep(answer.delay).await;
    let mut response =
        HttpResponse::build(actix_web::http::StatusCode::from_u16(answer.status).unwrap());
    if let Some(content_type) = answer.content_type {
        response.content_type(content_type);
    }
    response.body(answer.body.clone())
}

/// A process engine on a random local port.
struct FakeEngine {
    address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeEngine {
    fn answering(answer: Answer) -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = web::Data::new(EngineState { received: received.clone(), answer });
        let server = HttpServer::new(move || {
            App::new().app_data(state.clone()).default_service(web::to(record))
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let address = server.addrs()[0];
        actix_web::rt::spawn(server.run());
        Self { address, received }
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn client(base_url: &str, timeout: Duration) -> HttpProcessEngine {
    let mut config = EngineConfig::new(base_url).unwrap();
    config.timeout = timeout;
    HttpProcessEngine::new(config).unwrap()
}

fn start(process_name: &str, workspace_id: Option<WorkspaceId>) -> EngineStart {
    EngineStart {
        process_name: ResourceName::parse(process_name).unwrap(),
        application_id: ApplicationId::random(),
        build_id: BuildId::random(),
        workspace_id,
        credentials: Credentials::bearer(TOKEN),
        body: RawJson::from_validated(START_DATA.to_owned()),
    }
}

/// Generous for the tests that do not measure time, so that a slow machine never fails them.
const PATIENT: Duration = Duration::from_secs(10);

#[actix_web::test]
async fn an_accepted_start_comes_back_unchanged_and_the_engine_got_every_header_and_the_body() {
    let dto = r#"{"uuid":"0b6e","state":"STARTED","processDefinitionName":"loan application"}"#;
    let engine = FakeEngine::answering(Answer {
        content_type: Some("application/json;charset=UTF-8"),
        ..Answer::json(201, dto)
    });
    let workspace_id = WorkspaceId::random();
    let sent = start("loan application", Some(workspace_id));

    let answer = client(&engine.url(), PATIENT).start(sent.clone()).await.unwrap();

    assert_eq!(answer.status, 201);
    assert_eq!(answer.content_type.as_deref(), Some("application/json;charset=UTF-8"));
    assert_eq!(answer.body, dto.as_bytes());
    let received = engine.received();
    assert_eq!(received.len(), 1, "one request: {received:?}");
    let request = &received[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/process/loan%20application/start");
    assert_eq!(request.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("fx-appid"), Some(sent.application_id.to_string().as_str()));
    assert_eq!(request.header("fx-buildid"), Some(sent.build_id.to_string().as_str()));
    assert_eq!(request.header("fx-workspaceid"), Some(workspace_id.to_string().as_str()));
    assert_eq!(request.header("fx-processname"), Some("loan application"));
    assert_eq!(request.body, START_DATA.as_bytes(), "the start data byte for byte");
}

#[actix_web::test]
async fn a_build_without_a_workspace_sends_no_workspace_header() {
    let engine = FakeEngine::answering(Answer::json(200, "{}"));

    client(&engine.url(), PATIENT).start(start("onboarding", None)).await.unwrap();

    assert_eq!(engine.received()[0].header("fx-workspaceid"), None);
}

#[actix_web::test]
async fn an_engine_behind_a_path_prefix_gets_the_start_under_it_with_the_name_as_one_segment() {
    let engine = FakeEngine::answering(Answer::json(200, "{}"));

    client(&format!("{}/engine/", engine.url()), PATIENT)
        .start(start("a/b?c", None))
        .await
        .unwrap();

    assert_eq!(engine.received()[0].path, "/engine/api/process/a%2Fb%3Fc/start");
}

#[actix_web::test]
async fn a_4xx_with_a_json_message_is_a_refusal_with_that_status_and_message() {
    let body = r#"{"timestamp":"2026-12-01T10:00:00Z","status":422,"error":"Unprocessable Entity","message":"amount must be positive","path":"/api/process/x/start"}"#;
    let engine = FakeEngine::answering(Answer::json(422, body));

    let err = client(&engine.url(), PATIENT).start(start("x", None)).await.unwrap_err();

    match err {
        EngineError::Refused { status, message } => {
            assert_eq!(status, 422);
            assert_eq!(message, "amount must be positive");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[actix_web::test]
async fn a_4xx_without_json_is_a_refusal_with_its_body_text_bounded() {
    let long = format!("the process is disabled. {}", "Really. ".repeat(200));
    let engine = FakeEngine::answering(Answer::text(403, &long));

    let err = client(&engine.url(), PATIENT).start(start("x", None)).await.unwrap_err();

    let EngineError::Refused { status, message } = err else {
        panic!("expected a refusal, got {err:?}");
    };
    assert_eq!(status, 403);
    assert!(message.starts_with("the process is disabled."), "{message}");
    assert!(message.chars().count() <= 501, "bounded: {} characters", message.chars().count());
}

#[actix_web::test]
async fn a_5xx_is_a_failure_with_its_status_and_the_start_was_sent_once() {
    let engine = FakeEngine::answering(Answer::json(500, r#"{"message":"NullPointerException"}"#));

    let err = client(&engine.url(), PATIENT).start(start("x", None)).await.unwrap_err();

    assert!(matches!(err, EngineError::Failed { status: 500 }), "{err:?}");
    assert_eq!(engine.received().len(), 1, "a failed POST is never sent again");
}

#[actix_web::test]
async fn a_redirect_is_not_followed_since_that_would_send_the_start_again() {
    let engine = FakeEngine::answering(Answer { content_type: None, ..Answer::json(307, "") });

    let err = client(&engine.url(), PATIENT).start(start("x", None)).await.unwrap_err();

    assert!(matches!(err, EngineError::Failed { status: 502 }), "{err:?}");
    assert_eq!(engine.received().len(), 1);
}

#[actix_web::test]
async fn a_closed_port_is_unreachable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);

    let err =
        client(&format!("http://{address}"), PATIENT).start(start("x", None)).await.unwrap_err();

    assert!(matches!(err, EngineError::Unreachable(_)), "{err:?}");
}

#[actix_web::test]
async fn a_slow_engine_times_out_within_the_bound_and_got_the_start_exactly_once() {
    let engine = FakeEngine::answering(Answer::json(200, "{}").after(Duration::from_secs(30)));
    let timeout = Duration::from_millis(300);
    let began = Instant::now();

    let err = client(&engine.url(), timeout).start(start("x", None)).await.unwrap_err();

    let took = began.elapsed();
    assert!(matches!(err, EngineError::TimedOut), "{err:?}");
    assert!(took >= timeout, "not before the timeout: {took:?}");
    assert!(took < Duration::from_secs(3), "within a bound of the timeout: {took:?}");
    assert_eq!(engine.received().len(), 1, "a timed-out POST is never sent again");
}

#[actix_web::test]
async fn an_answer_that_is_not_http_is_a_bad_gateway_and_the_start_was_sent_once() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    actix_web::rt::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            counted.fetch_add(1, Ordering::SeqCst);
            let mut buffer = vec![0; 64 * 1024];
            let _ = socket.read(&mut buffer).await;
            let _ = socket.write_all(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
            let _ = socket.shutdown().await;
        }
    });

    let err =
        client(&format!("http://{address}"), PATIENT).start(start("x", None)).await.unwrap_err();

    assert!(matches!(err, EngineError::Failed { status: 502 }), "{err:?}");
    assert_eq!(connections.load(Ordering::SeqCst), 1, "one connection, no second attempt");
}

#[actix_web::test]
async fn an_accepted_answer_over_the_bound_is_a_bad_gateway() {
    let engine = FakeEngine::answering(Answer::json(200, &format!("\"{}\"", "x".repeat(4096))));
    let mut config = EngineConfig::new(&engine.url()).unwrap();
    config.max_answer_bytes = 1024;
    let client = HttpProcessEngine::new(config).unwrap();

    let err = client.start(start("x", None)).await.unwrap_err();

    assert!(matches!(err, EngineError::Failed { status: 502 }), "{err:?}");
}

#[actix_web::test]
async fn starts_in_a_row_share_the_pooled_connection_and_each_is_sent_once() {
    let engine = FakeEngine::answering(Answer::json(200, "{}"));
    let client = client(&engine.url(), PATIENT);

    for _ in 0..3 {
        client.start(start("x", None)).await.unwrap();
    }

    let peers: Vec<_> = engine.received().iter().map(|request| request.peer).collect();
    assert_eq!(peers.len(), 3);
    assert!(peers.iter().all(|peer| *peer == peers[0]), "one connection: {peers:?}");
}
