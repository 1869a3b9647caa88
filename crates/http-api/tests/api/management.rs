//! OpenAPI, Swagger UI, unknown routes, and the management endpoints.

use actix_web::test::{self, TestRequest};
use http_api::Readiness;

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

#[actix_web::test]
async fn readiness_follows_the_server_and_liveness_does_not() {
    let readiness = Readiness::default();
    let service = test::init_service(http_api::management_app(
        readiness.clone(),
        "runtime-manager",
        "embedded",
    ))
    .await;
    let reply = send(&service, TestRequest::get().uri("/actuator/health/readiness")).await;
    assert_eq!(reply.status, 503);
    assert_eq!(reply.json()["status"], "OUT_OF_SERVICE");
    assert_eq!(
        send(&service, TestRequest::get().uri("/actuator/health/liveness")).await.json()["status"],
        "UP"
    );
    readiness.set_ready(true);
    let reply = send(&service, TestRequest::get().uri("/actuator/health/readiness")).await;
    assert_eq!((reply.status.as_u16(), reply.json()["status"].clone()), (200, "UP".into()));
    let health = send(&service, TestRequest::get().uri("/actuator/health")).await.json();
    assert_eq!(health["components"]["readinessState"]["status"], "UP");
    let info = send(&service, TestRequest::get().uri("/actuator/info")).await.json();
    assert_eq!(info["app"]["role"], "runtime-manager");
}
