//! A stand-in for the platform's process engine, for rtm's local stack and its tour only
//! (`cargo xtask services up` starts it; `services env` points `RTM_PROCESS_ENGINE_URL` at
//! it). It runs no process: it records each start it receives and answers as the engine
//! would, with a start DTO in the original's shape.
//!
//! - `POST /api/process/{name}/start`: recorded (method, path, the `Fx-*` headers, whether an
//!   `Authorization` header came, never its value, and the body); answered 200 with
//!   `{uuid (new each time), state: "STARTED", processDefinitionName, buildId and
//!   applicationId from the headers, tokens, instanceMetadata, …}`, or 401 without an
//!   `Authorization` header (the real engine acts for the caller, so rtm must pass it on);
//! - `GET /starts`: what was recorded, oldest first (the last [`KEPT_STARTS`]);
//! - `GET /`: what this is, for `services status`.

use std::collections::VecDeque;
use std::sync::Mutex;

use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::{Value, json};

/// The service's name, as `GET /` says it (and `services status` looks for it).
pub const NAME: &str = "engine-stand-in";
/// How many starts are kept for `GET /starts`.
pub const KEPT_STARTS: usize = 10_000;
/// The largest body taken: above rtm's 5 MB limit, so that rtm's limit is what a test meets.
const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// One start as the stand-in received it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedStart {
    /// Order of arrival, from 1.
    pub sequence: u64,
    pub method: String,
    /// As sent, still percent-encoded.
    pub path: String,
    /// The `{name}` of the path, decoded.
    pub process_name: String,
    pub fx_app_id: Option<String>,
    pub fx_build_id: Option<String>,
    pub fx_workspace_id: Option<String>,
    pub fx_process_name: Option<String>,
    /// Whether an `Authorization` header came; its value is never kept.
    pub authorization: bool,
    pub content_type: Option<String>,
    /// The body as JSON, or as text when it is not JSON.
    pub body: Value,
    /// The status answered.
    pub status: u16,
    /// The process instance answered (`uuid` of the start DTO), when one was.
    pub process_instance_uuid: Option<String>,
}

/// What the stand-in has received.
#[derive(Debug, Default)]
pub struct Recorder {
    starts: Mutex<(u64, VecDeque<RecordedStart>)>,
}

impl Recorder {
    /// The starts kept, oldest first.
    pub fn starts(&self) -> Vec<RecordedStart> {
        let guard = self.starts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.1.iter().cloned().collect()
    }

    fn record(&self, mut start: RecordedStart) -> u64 {
        let mut guard = self.starts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        guard.0 += 1;
        start.sequence = guard.0;
        if guard.1.len() == KEPT_STARTS {
            guard.1.pop_front();
        }
        guard.1.push_back(start);
        guard.0
    }
}

/// The stand-in's routes, over `recorder`.
pub fn configure(recorder: web::Data<Recorder>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(recorder)
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .route("/", web::get().to(about))
            .route("/starts", web::get().to(starts))
            .route("/api/process/{name}/start", web::post().to(start))
            .default_service(web::to(|| async {
                HttpResponse::NotFound().json(json!({"message": "the engine stand-in serves POST /api/process/{name}/start, GET /starts and GET /"}))
            }));
    }
}

async fn about(recorder: web::Data<Recorder>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "service": NAME,
        "description": "a stand-in for the process engine: records starts, runs nothing",
        "starts": recorder.starts().len(),
    }))
}

async fn starts(recorder: web::Data<Recorder>) -> HttpResponse {
    HttpResponse::Ok().json(recorder.starts())
}

async fn start(
    req: HttpRequest,
    name: web::Path<String>,
    body: web::Bytes,
    recorder: web::Data<Recorder>,
) -> HttpResponse {
    let headers = req.headers();
    let process_name = name.into_inner();
    let authorization = headers.contains_key(AUTHORIZATION);
    let mut start = RecordedStart {
        sequence: 0,
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
        process_name: process_name.clone(),
        fx_app_id: header(headers, "fx-appid"),
        fx_build_id: header(headers, "fx-buildid"),
        fx_workspace_id: header(headers, "fx-workspaceid"),
        fx_process_name: header(headers, "fx-processname"),
        authorization,
        content_type: header(headers, CONTENT_TYPE.as_str()),
        body: serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
        status: 200,
        process_instance_uuid: None,
    };
    if !authorization {
        start.status = 401;
        let sequence = recorder.record(start);
        tracing::warn!(sequence, process = %process_name, "start refused: no Authorization header");
        return HttpResponse::Unauthorized()
            .json(json!({"status": 401, "error": "Unauthorized", "message": "no Authorization header: rtm must pass the caller's on"}));
    }
    let uuid = uuid::Uuid::new_v4().to_string();
    start.process_instance_uuid = Some(uuid.clone());
    let (app_id, build_id) = (start.fx_app_id.clone(), start.fx_build_id.clone());
    let body_bytes = body.len();
    let sequence = recorder.record(start.clone());
    tracing::info!(
        sequence,
        process = %process_name,
        app_id = start.fx_app_id.as_deref().unwrap_or("-"),
        build_id = start.fx_build_id.as_deref().unwrap_or("-"),
        workspace_id = start.fx_workspace_id.as_deref().unwrap_or("-"),
        body_bytes,
        "start recorded"
    );
    HttpResponse::Ok().json(json!({
        "uuid": uuid,
        "state": "STARTED",
        "processDefinitionName": process_name,
        "processDefinitionFlowxUuid": null,
        "buildId": build_id,
        "buildStatusAtStart": "COMMITTED",
        "applicationId": app_id,
        "parentApplicationId": null,
        "rootApplicationId": null,
        "tokens": [{"id": sequence, "state": "ACTIVE", "statusCurrentNode": "ARRIVED"}],
        "instanceMetadata": {"processInstanceId": sequence, "processInstanceUuid": uuid},
    }))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use actix_web::test::{self, TestRequest};
    use actix_web::{App, body};

    use super::*;

    #[actix_web::test]
    async fn a_start_is_answered_with_a_start_dto_and_listed_without_its_token() {
        let recorder = web::Data::new(Recorder::default());
        let app = test::init_service(App::new().configure(configure(recorder.clone()))).await;
        let request = TestRequest::post()
            .uri("/api/process/loan%20application/start")
            .insert_header(("Authorization", "Bearer secret-token-value"))
            .insert_header(("Fx-AppId", "app-1"))
            .insert_header(("Fx-BuildId", "build-1"))
            .insert_header(("Fx-WorkspaceId", "wks-1"))
            .insert_header(("Fx-ProcessName", "loan application"))
            .insert_header(("Content-Type", "application/json"))
            .set_payload(r#"{"amount": 12000}"#);

        let answer: Value = test::call_and_read_body_json(&app, request.to_request()).await;

        assert_eq!(answer["state"], "STARTED");
        assert_eq!(answer["buildId"], "build-1");
        assert_eq!(answer["applicationId"], "app-1");
        assert_eq!(answer["processDefinitionName"], "loan application");
        assert!(answer["uuid"].as_str().is_some_and(|uuid| uuid.len() == 36), "{answer}");
        let listed = test::call_service(&app, TestRequest::get().uri("/starts").to_request()).await;
        let listed = body::to_bytes(listed.into_body()).await.unwrap();
        assert!(
            !String::from_utf8_lossy(&listed).contains("secret-token-value"),
            "never the token"
        );
        let starts: Value = serde_json::from_slice(&listed).unwrap();
        assert_eq!(starts[0]["authorization"], true);
        assert_eq!(starts[0]["fxWorkspaceId"], "wks-1");
        assert_eq!(starts[0]["body"], json!({"amount": 12000}));
        assert_eq!(starts[0]["processInstanceUuid"], answer["uuid"]);
    }

    #[actix_web::test]
    async fn each_start_gets_a_new_process_instance() {
        let recorder = web::Data::new(Recorder::default());
        let app = test::init_service(App::new().configure(configure(recorder.clone()))).await;
        let start = || {
            TestRequest::post()
                .uri("/api/process/x/start")
                .insert_header(("Authorization", "Bearer t"))
                .set_payload("{}")
                .to_request()
        };

        let first: Value = test::call_and_read_body_json(&app, start()).await;
        let second: Value = test::call_and_read_body_json(&app, start()).await;

        assert_ne!(first["uuid"], second["uuid"]);
        assert_eq!(recorder.starts().len(), 2);
    }

    #[actix_web::test]
    async fn a_start_without_authorization_is_recorded_and_refused() {
        let recorder = web::Data::new(Recorder::default());
        let app = test::init_service(App::new().configure(configure(recorder.clone()))).await;
        let request = TestRequest::post().uri("/api/process/x/start").set_payload("{}");

        let response = test::call_service(&app, request.to_request()).await;

        assert_eq!(response.status(), 401);
        let recorded = recorder.starts();
        assert_eq!((recorded[0].authorization, recorded[0].status), (false, 401));
    }
}
