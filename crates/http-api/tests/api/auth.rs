//! Every `/api/**` route needs a valid bearer token; permissions come from realm roles.

use actix_web::test::TestRequest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use build_archive::ArchiveLimits;
use domain::access::AccessRules;
use http_api::auth::{LocalIssuer, TokenRequest};
use serde_json::json;

use crate::helpers::{LOAN_APP, TestApp, get, send};

fn build_info() -> String {
    format!("/api/runtime/app/{LOAN_APP}/build/info")
}

#[actix_web::test]
async fn a_request_without_a_token_is_a_401_with_a_bearer_challenge() {
    let app = TestApp::new();
    let service = app.service().await;
    let reply = send(&service, TestRequest::get().uri(&build_info())).await;
    reply.assert_error(401, "missing_token");
    assert_eq!(reply.headers.get("www-authenticate").unwrap(), "Bearer");
}

#[actix_web::test]
async fn a_malformed_token_is_a_401() {
    let app = TestApp::new();
    let service = app.service().await;
    let reply = send(&service, get(&build_info(), "not-a-jwt")).await;
    reply.assert_error(401, "invalid_token");
    assert_eq!(reply.headers.get("www-authenticate").unwrap(), "Bearer error=\"invalid_token\"");
}

#[actix_web::test]
async fn an_expired_token_is_a_401() {
    let app = TestApp::new();
    let service = app.service().await;
    let long_ago = 1_600_000_000;
    let token = app
        .issuer
        .issue_at(
            &TokenRequest {
                subject: "alice".into(),
                groups: vec![],
                roles: vec![],
                ttl_seconds: 60,
                client_id: None,
            },
            long_ago,
        )
        .unwrap();
    send(&service, get(&build_info(), &token)).await.assert_error(401, "token_expired");
}

#[actix_web::test]
async fn a_token_signed_by_another_key_is_a_401() {
    let app = TestApp::new();
    let service = app.service().await;
    let stranger = LocalIssuer::generate().unwrap();
    let token = stranger
        .issue(&TokenRequest {
            subject: "mallory".into(),
            groups: vec![],
            roles: vec![],
            ttl_seconds: 60,
            client_id: None,
        })
        .unwrap();
    send(&service, get(&build_info(), &token)).await.assert_error(401, "invalid_token");
}

#[actix_web::test]
async fn a_token_with_alg_none_is_a_401() {
    let app = TestApp::new();
    let service = app.service().await;
    let header = URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string());
    let claims = URL_SAFE_NO_PAD.encode(
        json!({"sub": "mallory", "iss": LocalIssuer::ISSUER, "exp": 4_000_000_000_u64}).to_string(),
    );
    let token = format!("{header}.{claims}.");
    send(&service, get(&build_info(), &token)).await.assert_error(401, "invalid_token");
}

#[actix_web::test]
async fn a_token_signed_with_hs256_and_the_public_key_as_secret_is_a_401() {
    let app = TestApp::new();
    let service = app.service().await;
    let jwk = serde_json::to_vec(&app.issuer.key_set().keys[0]).unwrap();
    let kid = app.issuer.key_set().keys[0].common.key_id.clone();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = kid;
    let claims = json!({"sub": "mallory", "iss": LocalIssuer::ISSUER, "exp": 4_000_000_000_u64});
    let token =
        jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_secret(&jwk))
            .unwrap();
    send(&service, get(&build_info(), &token)).await.assert_error(401, "invalid_token");
}

#[actix_web::test]
async fn a_token_accepted_before_with_one_signature_byte_changed_is_a_401() {
    let app = TestApp::new();
    let service = app.service().await;
    let token = app.token("alice", &[], &[]);
    send(&service, get(&build_info(), &token)).await.assert_error(404, "no_active_policy");
    let (message, signature) = token.rsplit_once('.').unwrap();
    let mut signature = signature.to_owned().into_bytes();
    signature[10] = if signature[10] == b'A' { b'B' } else { b'A' };
    let forged = format!("{message}.{}", String::from_utf8(signature).unwrap());
    send(&service, get(&build_info(), &forged)).await.assert_error(401, "invalid_token");
    // The genuine token stays accepted.
    send(&service, get(&build_info(), &token)).await.assert_error(404, "no_active_policy");
}

#[actix_web::test]
async fn a_token_from_an_untrusted_issuer_is_a_401() {
    let app = TestApp::with(
        ArchiveLimits::default(),
        AccessRules::default(),
        vec!["https://keycloak.example/auth/realms/flowx".to_owned()],
    );
    let service = app.service().await;
    send(&service, get(&build_info(), &app.token("alice", &[], &[])))
        .await
        .assert_error(401, "invalid_issuer");
}

#[actix_web::test]
async fn a_valid_token_without_the_permission_is_a_403_naming_it() {
    let app = TestApp::new();
    let service = app.service().await;
    let reply = send(
        &service,
        get(&format!("/api/build-mgmt/app/{LOAN_APP}/builds"), &app.token("alice", &[], &[])),
    )
    .await;
    reply.assert_error(403, "forbidden");
    assert!(reply.json()["message"].as_str().unwrap().contains("builds read"), "{}", reply.json());
}

#[actix_web::test]
async fn a_higher_scope_includes_the_lower_ones() {
    let app = TestApp::new();
    let service = app.service().await;
    let list = format!("/api/build-mgmt/app/{LOAN_APP}/builds");
    for role in [
        "ROLE_BUILDS_MANAGE_READ",
        "ROLE_BUILDS_MANAGE_IMPORT",
        "ROLE_BUILDS_MANAGE_EDIT",
        "ROLE_BUILDS_MANAGE_ADMIN",
    ] {
        let reply = send(&service, get(&list, &app.token("alice", &[], &[role]))).await;
        assert_eq!(reply.status, 200, "{role} must grant builds read");
    }
    let policy = format!("/api/build-mgmt/app/{LOAN_APP}/active-policy");
    let reply =
        send(&service, get(&policy, &app.token("alice", &[], &["ROLE_BUILDS_MANAGE_ADMIN"]))).await;
    reply.assert_error(403, "forbidden");
}

#[actix_web::test]
async fn configured_roles_replace_the_default_ones() {
    let mut access = AccessRules::default();
    access.set_roles(
        domain::access::Permission::new(
            domain::access::Authority::Builds,
            domain::access::Scope::Read,
        ),
        ["ROLE_AUDITOR".to_owned()].into(),
    );
    let app = TestApp::with(ArchiveLimits::default(), access, vec![LocalIssuer::ISSUER.to_owned()]);
    let service = app.service().await;
    let list = format!("/api/build-mgmt/app/{LOAN_APP}/builds");
    assert_eq!(
        send(&service, get(&list, &app.token("eve", &[], &["ROLE_AUDITOR"]))).await.status,
        200
    );
    send(&service, get(&list, &app.token("eve", &[], &["ROLE_BUILDS_MANAGE_READ"])))
        .await
        .assert_error(403, "forbidden");
}
