//! HTTP itself: CORS (`RTM_CORS_ALLOWED_ORIGINS`), gzip when asked for, and springdoc's
//! `/swagger-ui.html`.

use std::io::Read as _;

use actix_web::test::TestRequest;
use http_api::{ApiOptions, CorsOrigins};

use crate::helpers::{LOAN_APP, LOAN_BUILD_1, TestApp, get, import_examples, send};

const DESIGNER: &str = "https://designer.example.com";

fn cors(origins: &str) -> ApiOptions {
    ApiOptions { cors: CorsOrigins::parse(origins).unwrap() }
}

fn preflight(path: &str, origin: &str, headers: &str) -> TestRequest {
    TestRequest::default()
        .method(actix_web::http::Method::OPTIONS)
        .uri(path)
        .insert_header(("Origin", origin))
        .insert_header(("Access-Control-Request-Method", "GET"))
        .insert_header(("Access-Control-Request-Headers", headers))
}

#[actix_web::test]
async fn a_preflight_from_an_allowed_origin_is_answered_with_the_ingress_header_list() {
    let app = TestApp::new();
    let service = app.service_with(cors(&format!("{DESIGNER},http://localhost:3000"))).await;
    let path = format!("/api/runtime/app/{LOAN_APP}/build/info");
    let reply = send(&service, preflight(&path, DESIGNER, "authorization,flowx-platform")).await;
    assert_eq!(reply.status, 200);
    let header = |name: &str| {
        reply
            .headers
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing: {:?}", reply.headers))
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(header("access-control-allow-origin"), DESIGNER);
    assert_eq!(header("access-control-allow-credentials"), "true");
    let allowed: Vec<String> = header("access-control-allow-headers")
        .split(',')
        .map(|h| h.trim().to_lowercase())
        .collect();
    let mut allowed_sorted = allowed.clone();
    allowed_sorted.sort();
    let mut expected: Vec<String> = [
        "DNT",
        "Keep-Alive",
        "User-Agent",
        "X-Requested-With",
        "If-Modified-Since",
        "Cache-Control",
        "Content-Type",
        "Range",
        "Authorization",
        "platform",
        "Flowx-Platform",
    ]
    .iter()
    .map(|h| h.to_lowercase())
    .collect();
    expected.sort();
    assert_eq!(allowed_sorted, expected, "exactly the ingress's list");
    let methods = header("access-control-allow-methods");
    for method in ["GET", "PUT", "POST", "DELETE", "PATCH"] {
        assert!(methods.contains(method), "{method} in {methods}");
    }

    // The actual request carries the origin back, errors included.
    let reply = send(&service, get(&path, "not-a-token").insert_header(("Origin", DESIGNER))).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.headers.get("access-control-allow-origin").unwrap(), DESIGNER);
}

#[actix_web::test]
async fn another_origin_gets_no_cors_header() {
    let app = TestApp::new();
    let service = app.service_with(cors(DESIGNER)).await;
    let path = format!("/api/runtime/app/{LOAN_APP}/build/info");
    let reply = send(&service, preflight(&path, "https://evil.example.com", "authorization")).await;
    assert!(reply.status.is_client_error(), "{}", reply.status);
    assert!(reply.headers.get("access-control-allow-origin").is_none(), "{:?}", reply.headers);
    // A header outside the list is refused too.
    let reply = send(&service, preflight(&path, DESIGNER, "x-custom-header")).await;
    assert!(reply.status.is_client_error(), "{}", reply.status);
    // A plain request from another origin is served, without CORS headers: the browser blocks it.
    let reply = send(
        &service,
        TestRequest::get()
            .uri("/v3/api-docs")
            .insert_header(("Origin", "https://evil.example.com")),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(reply.headers.get("access-control-allow-origin").is_none(), "{:?}", reply.headers);
}

#[actix_web::test]
async fn without_configured_origins_no_cors_header_is_sent() {
    let app = TestApp::new();
    let service = app.service().await;
    let path = format!("/api/runtime/app/{LOAN_APP}/build/info");
    let reply = send(&service, preflight(&path, DESIGNER, "authorization")).await;
    assert!(reply.headers.get("access-control-allow-origin").is_none(), "{:?}", reply.headers);
    assert!(reply.headers.get("access-control-allow-methods").is_none(), "{:?}", reply.headers);
    let reply =
        send(&service, TestRequest::get().uri("/v3/api-docs").insert_header(("Origin", DESIGNER)))
            .await;
    assert_eq!(reply.status, 200);
    assert!(reply.headers.get("access-control-allow-origin").is_none(), "{:?}", reply.headers);
}

#[actix_web::test]
async fn json_is_gzipped_when_the_client_asks_and_only_then() {
    let app = TestApp::new();
    let service = app.service().await;
    let plain = send(&service, TestRequest::get().uri("/v3/api-docs")).await;
    assert_eq!(plain.status, 200);
    assert!(plain.headers.get("content-encoding").is_none(), "{:?}", plain.headers);
    let document = plain.json();

    let zipped = send(
        &service,
        TestRequest::get().uri("/v3/api-docs").insert_header(("Accept-Encoding", "gzip")),
    )
    .await;
    assert_eq!(zipped.status, 200);
    assert_eq!(zipped.headers.get("content-encoding").unwrap(), "gzip");
    assert!(
        zipped
            .headers
            .get_all("vary")
            .any(|v| v.to_str().unwrap().eq_ignore_ascii_case("accept-encoding")),
        "caches keep both forms apart: {:?}",
        zipped.headers
    );
    assert!(zipped.bytes.len() < plain.bytes.len(), "compressed");
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(zipped.bytes.as_ref()).read_to_end(&mut inflated).unwrap();
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&inflated).unwrap(), document);

    // An error envelope of an API route too.
    let path = format!("/api/runtime/app/{LOAN_APP}/build/info");
    let reply =
        send(&service, get(&path, "not-a-token").insert_header(("Accept-Encoding", "gzip"))).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.headers.get("content-encoding").unwrap(), "gzip");
}

#[actix_web::test]
async fn an_archive_download_is_not_compressed_again() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let path = format!("/api/build-mgmt/app/{LOAN_APP}/builds/{LOAN_BUILD_1}/export");
    let reply =
        send(&service, get(&path, &app.admin()).insert_header(("Accept-Encoding", "gzip"))).await;
    assert_eq!(reply.status, 200);
    assert_ne!(reply.headers.get("content-encoding").map(|v| v.as_bytes()), Some(&b"gzip"[..]));
    assert_eq!(&reply.bytes[..2], b"PK", "the zip as stored");
}

#[actix_web::test]
async fn swagger_ui_html_redirects_to_the_ui() {
    let app = TestApp::new();
    let service = app.service().await;
    let reply = send(&service, TestRequest::get().uri("/swagger-ui.html")).await;
    assert_eq!(reply.status, 302);
    assert_eq!(reply.headers.get("location").unwrap(), "swagger-ui/");
    let ui = send(&service, TestRequest::get().uri("/swagger-ui/")).await;
    assert_eq!(ui.status, 200);
}
