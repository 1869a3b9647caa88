//! OpenAPI, Swagger UI, unknown routes, and the management endpoints.

use actix_web::test::{self, TestRequest};
use http_api::{AppInfo, Health, PolicyRevisionSource, Readiness};

use crate::helpers::{TestApp, send};

#[actix_web::test]
async fn the_openapi_document_lists_every_route() {
    let app = TestApp::new();
    let service = app.service().await;
    let reply = send(&service, TestRequest::get().uri("/v3/api-docs")).await;
    assert_eq!(reply.status, 200);
    let document = reply.json();
    let paths = document["paths"].as_object().expect("paths");
    for path in [
        "/api/runtime/app/{appId}/build/info",
        "/api/runtime/wks/{workspaceId}/app/{appId}/build/info",
        "/api/runtime/app/{appId}/build/{buildId}/resources/{type}",
        "/api/runtime/app/{appId}/build/{buildId}/resources/{type}/{definitionId}",
        "/api/runtime/app/{appId}/build/{buildId}/resources/{type}/by-name/{name}",
        "/api/runtime/app/{appId}/build/{buildId}/config-params",
        "/api/runtime/app/{appId}/build/{buildId}/process-name/{name}/start",
        "/api/runtime/app/{appId}/process-name/{name}/start",
        "/api/runtime/wks/{workspaceId}/app/{appId}/process-name/{name}/start",
        "/api/runtime-internal/app/{appId}/build/{buildId}/process-name/{name}/start",
        "/api/runtime-internal/app/{appId}/active-build",
        "/api/runtime-internal/build/{buildId}",
        "/api/runtime-internal/build/{buildId}/config-params",
        "/api/build-mgmt/builds/import",
        "/api/build-mgmt/app/{appId}/builds/import",
        "/api/build-mgmt/app/{appId}/builds",
        "/api/build-mgmt/app/{appId}/builds/{buildId}",
        "/api/build-mgmt/app/{appId}/builds/{buildId}/export",
        "/api/build-mgmt/app/{appId}/active-policy",
        "/api/build-mgmt/app/{appId}/active-policy/overrides",
        "/api/build-mgmt/app/{appId}/active-policy/overrides/{overrideId}",
        "/api/build-mgmt/app/{appId}/config-params/overrides",
        "/api/build-mgmt/app/{appId}/config-params/overrides/{key}",
        "/api/build-mgmt/app/{appId}/config-params/overrides/import",
        "/api/applications",
        "/api/applications/{appId}",
        "/api/applications/{appId}/branches",
        "/api/applications/{appId}/branches/{branch}/versions",
        "/api/applications/{appId}/versions",
        "/api/applications/{appId}/versions/{versionId}",
        "/api/applications/{appId}/versions/{versionId}/commit",
        "/api/applications/{appId}/versions/{versionId}/manifest",
        "/api/applications/{appId}/versions/{versionId}/resources/{type}",
        "/api/applications/{appId}/versions/{versionId}/resources/{type}/{definitionId}",
        "/api/applications/{appId}/binaries",
        "/api/applications/{appId}/versions/{versionId}/dependencies",
        "/api/applications/{appId}/versions/{versionId}/dependencies/{libraryId}",
        "/api/applications/{appId}/versions/{versionId}/config-params",
        "/api/applications/{appId}/versions/{versionId}/config-params/{key}",
        "/api/applications/{appId}/versions/{versionId}/config-params/import",
        "/api/applications/{appId}/versions/{versionId}/builds",
    ] {
        assert!(paths.contains_key(path), "the OpenAPI document lacks {path}");
    }
    assert!(
        document["components"]["securitySchemes"]["bearer"].is_object(),
        "bearer scheme documented"
    );
    let value_body = &document["components"]["schemas"]["OverrideValueBody"]["properties"];
    assert_eq!(
        value_body["type"]["enum"],
        serde_json::json!(["VALUE", "ENV", "ENV_SECRET"]),
        "vocabularies are documented as their words: {value_body}"
    );
}

#[actix_web::test]
async fn swagger_ui_is_served_without_a_download() {
    let app = TestApp::new();
    let service = app.service().await;
    let reply = send(&service, TestRequest::get().uri("/swagger-ui/")).await;
    assert_eq!(reply.status, 200);
    assert!(String::from_utf8_lossy(&reply.bytes).contains("swagger"), "the UI page");
}

#[actix_web::test]
async fn an_unknown_route_gets_the_error_envelope() {
    let app = TestApp::new();
    let service = app.service().await;
    send(&service, TestRequest::get().uri("/api/nothing-here"))
        .await
        .assert_error(404, "route_not_found");
}

fn info() -> AppInfo {
    AppInfo {
        role: "runtime-manager".to_owned(),
        mode: "real".to_owned(),
        version: "1.2.3".to_owned(),
        commit: "0123456789ab".to_owned(),
        policy_revision: PolicyRevisionSource::default(),
    }
}

/// The components a real-mode server registers: PostgreSQL and MongoDB required.
fn real_components() -> Health {
    let health = Health::default();
    for (name, required) in
        [("db", true), ("mongo", true), ("kafka", false), ("redis", false), ("s3", false)]
    {
        let mut details = serde_json::Map::new();
        details.insert("backend".to_owned(), name.into());
        health.register(name, required, details);
    }
    health
}

#[actix_web::test]
async fn while_starting_liveness_is_up_and_readiness_down() {
    let readiness = Readiness::default();
    let health = real_components();
    let service =
        test::init_service(http_api::management_app(readiness.clone(), health.clone(), info()))
            .await;
    let reply = send(&service, TestRequest::get().uri("/actuator/health/liveness")).await;
    assert_eq!((reply.status.as_u16(), reply.json()["status"].clone()), (200, "UP".into()));
    let reply = send(&service, TestRequest::get().uri("/actuator/health/readiness")).await;
    assert_eq!((reply.status.as_u16(), reply.json()["status"].clone()), (503, "DOWN".into()));
    let reply = send(&service, TestRequest::get().uri("/actuator/health")).await;
    assert_eq!(reply.status, 503);
    let body = reply.json();
    assert_eq!(body["status"], "DOWN");
    assert_eq!(body["components"]["db"]["status"], "UNKNOWN", "{body}");
    assert_eq!(body["components"]["livenessState"]["status"], "UP");
    assert_eq!(body["components"]["readinessState"]["status"], "DOWN");
}

#[actix_web::test]
async fn started_with_every_backend_up_is_ready_in_springs_shape() {
    let readiness = Readiness::default();
    let health = real_components();
    let service =
        test::init_service(http_api::management_app(readiness.clone(), health.clone(), info()))
            .await;
    for name in ["db", "mongo", "kafka", "redis", "s3"] {
        health.set_up(name);
    }
    // Connected but not started yet (the API server is not listening): still not ready.
    let reply = send(&service, TestRequest::get().uri("/actuator/health/readiness")).await;
    assert_eq!(reply.status, 503);
    readiness.set_ready(true);
    let reply = send(&service, TestRequest::get().uri("/actuator/health/readiness")).await;
    assert_eq!((reply.status.as_u16(), reply.json()["status"].clone()), (200, "UP".into()));
    let body = send(&service, TestRequest::get().uri("/actuator/health")).await.json();
    assert_eq!(body["status"], "UP");
    assert_eq!(
        body["components"]["db"],
        serde_json::json!({"status": "UP", "details": {"backend": "db"}})
    );
    for name in ["mongo", "kafka", "redis", "s3", "livenessState", "readinessState"] {
        assert_eq!(body["components"][name]["status"], "UP", "{name}: {body}");
    }
}

#[actix_web::test]
async fn a_required_backend_down_makes_the_service_unready_with_its_error() {
    let readiness = Readiness::default();
    let health = real_components();
    let service =
        test::init_service(http_api::management_app(readiness.clone(), health.clone(), info()))
            .await;
    for name in ["db", "mongo", "kafka", "redis", "s3"] {
        health.set_up(name);
    }
    readiness.set_ready(true);
    health.set_down("mongo", "backend unavailable: no answer within 2s");
    let reply = send(&service, TestRequest::get().uri("/actuator/health/readiness")).await;
    assert_eq!((reply.status.as_u16(), reply.json()["status"].clone()), (503, "DOWN".into()));
    let body = send(&service, TestRequest::get().uri("/actuator/health")).await.json();
    assert_eq!(body["status"], "DOWN");
    assert_eq!(body["components"]["mongo"]["status"], "DOWN");
    assert_eq!(
        body["components"]["mongo"]["details"]["error"],
        "backend unavailable: no answer within 2s"
    );
    assert_eq!(
        send(&service, TestRequest::get().uri("/actuator/health/liveness")).await.status,
        200,
        "liveness never follows a backend"
    );
    health.set_up("mongo");
    let reply = send(&service, TestRequest::get().uri("/actuator/health/readiness")).await;
    assert_eq!(reply.status, 200, "ready again once the check sees it back");
}

#[actix_web::test]
async fn redis_down_shows_but_never_makes_the_service_unready() {
    let readiness = Readiness::default();
    let health = real_components();
    let service =
        test::init_service(http_api::management_app(readiness.clone(), health.clone(), info()))
            .await;
    for name in ["db", "mongo", "kafka", "s3"] {
        health.set_up(name);
    }
    health.set_down("redis", "backend unavailable");
    readiness.set_ready(true);
    let reply = send(&service, TestRequest::get().uri("/actuator/health/readiness")).await;
    assert_eq!(reply.status, 200);
    let body = send(&service, TestRequest::get().uri("/actuator/health")).await.json();
    assert_eq!(body["status"], "UP");
    assert_eq!(body["components"]["redis"]["status"], "DOWN");
    assert_eq!(body["components"]["redis"]["details"]["error"], "backend unavailable");
}

#[actix_web::test]
async fn shutting_down_is_unready_and_info_names_version_and_commit() {
    let readiness = Readiness::default();
    let health = Health::default();
    let service =
        test::init_service(http_api::management_app(readiness.clone(), health.clone(), info()))
            .await;
    readiness.set_ready(true);
    assert_eq!(
        send(&service, TestRequest::get().uri("/actuator/health/readiness")).await.status,
        200
    );
    readiness.set_ready(false);
    assert_eq!(
        send(&service, TestRequest::get().uri("/actuator/health/readiness")).await.status,
        503
    );
    let info = send(&service, TestRequest::get().uri("/actuator/info")).await.json();
    assert_eq!(info["app"]["role"], "runtime-manager");
    assert_eq!(info["app"]["version"], "1.2.3");
    assert_eq!(info["build"]["version"], "1.2.3");
    assert_eq!(info["git"]["commit"]["id"], "0123456789ab");
}

#[actix_web::test]
async fn info_shows_the_applied_policy_revision_once_the_cache_is_there() {
    let info = info();
    let service = test::init_service(http_api::management_app(
        Readiness::default(),
        Health::default(),
        info.clone(),
    ))
    .await;
    let body = send(&service, TestRequest::get().uri("/actuator/info")).await.json();
    assert_eq!(body["policy"]["revision"], serde_json::Value::Null, "before the cache exists");

    let applied = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(41));
    info.policy_revision.set(std::sync::Arc::new({
        let applied = applied.clone();
        move || applied.load(std::sync::atomic::Ordering::SeqCst)
    }));
    let body = send(&service, TestRequest::get().uri("/actuator/info")).await.json();
    assert_eq!(body["policy"]["revision"], 41);
    applied.store(42, std::sync::atomic::Ordering::SeqCst);
    let body = send(&service, TestRequest::get().uri("/actuator/info")).await.json();
    assert_eq!(body["policy"]["revision"], 42, "read at each request");
}

#[actix_web::test]
async fn the_openapi_document_gives_build_info_its_etag_and_304() {
    let app = TestApp::new();
    let service = app.service().await;
    let document = send(&service, TestRequest::get().uri("/v3/api-docs")).await.json();
    for path in [
        "/api/runtime/app/{appId}/build/info",
        "/api/runtime/wks/{workspaceId}/app/{appId}/build/info",
    ] {
        let get = &document["paths"][path]["get"];
        assert!(get["responses"]["200"]["headers"]["ETag"].is_object(), "{path}: {get}");
        assert!(get["responses"]["304"]["headers"]["ETag"].is_object(), "{path}: {get}");
        let parameters = get["parameters"].as_array().expect("parameters");
        assert!(
            parameters.iter().any(|p| p["name"] == "If-None-Match" && p["in"] == "header"),
            "{path}: {get}"
        );
    }
}
