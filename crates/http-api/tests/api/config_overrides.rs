//! Config overrides through the build-management API.

use serde_json::json;

use crate::helpers::{
    LIBRARY_APP, LOAN_APP, TestApp, delete, get, import_examples, post_json, put_json, send,
};

fn overrides(app: &str) -> String {
    format!("/api/build-mgmt/app/{app}/config-params/overrides")
}

#[actix_web::test]
async fn an_override_is_set_listed_and_removed() {
    let app = TestApp::new();
    let service = app.service().await;
    let path = format!("{}/defaultCurrency", overrides(LOAN_APP));
    let reply =
        send(&service, put_json(&path, &app.admin(), &json!({"type": "VALUE", "value": "RON"})))
            .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["updatedBy"], "operator");
    let reader = app.token("viewer", &[], &["ROLE_APP_CONFIG_OVERRIDES_MANAGE_READ"]);
    let listed = send(&service, get(&overrides(LOAN_APP), &reader)).await.json();
    assert_eq!(
        listed,
        json!([{"key": "defaultCurrency", "type": "VALUE", "value": "RON", "updatedBy": "operator", "updatedAt": listed[0]["updatedAt"]}])
    );
    let editor = app.token("ed", &[], &["ROLE_APP_CONFIG_OVERRIDES_MANAGE_EDIT"]);
    send(&service, delete(&path, &editor)).await.assert_error(403, "forbidden");
    assert_eq!(send(&service, delete(&path, &app.admin())).await.status, 204);
    send(&service, delete(&path, &app.admin()))
        .await
        .assert_error(404, "config_override_not_found");
}

#[actix_web::test]
async fn a_value_that_does_not_fit_its_type_is_a_400() {
    let app = TestApp::new();
    let service = app.service().await;
    let path = format!("{}/creditBureauUrl", overrides(LOAN_APP));
    send(
        &service,
        put_json(&path, &app.admin(), &json!({"type": "ENV", "value": "not a variable"})),
    )
    .await
    .assert_error(400, "invalid_request");
    send(&service, put_json(&path, &app.admin(), &json!({"type": "SECRET", "value": "X"})))
        .await
        .assert_error(400, "malformed_json");
    let reserved = format!("{}/processInstanceId", overrides(LOAN_APP));
    send(&service, put_json(&reserved, &app.admin(), &json!({"type": "VALUE", "value": "1"})))
        .await
        .assert_error(400, "invalid_request");
}

#[actix_web::test]
async fn a_bulk_import_is_all_or_nothing() {
    let app = TestApp::new();
    let service = app.service().await;
    let import = format!("{}/import", overrides(LOAN_APP));
    let bad = json!([
        {"key": "maxLoanAmount", "type": "VALUE", "value": "90000"},
        {"key": "creditBureauUrl", "type": "ENV", "value": "has spaces"}
    ]);
    send(&service, post_json(&import, &app.admin(), &bad))
        .await
        .assert_error(400, "invalid_request");
    assert_eq!(send(&service, get(&overrides(LOAN_APP), &app.admin())).await.json(), json!([]));
    let twice = json!([
        {"key": "maxLoanAmount", "type": "VALUE", "value": "1"},
        {"key": "maxLoanAmount", "type": "VALUE", "value": "2"}
    ]);
    send(&service, post_json(&import, &app.admin(), &twice))
        .await
        .assert_error(400, "invalid_request");
    let good = json!([
        {"key": "maxLoanAmount", "type": "VALUE", "value": "90000"},
        {"key": "creditBureauUrl", "type": "ENV", "value": "CREDIT_BUREAU_URL_UAT"}
    ]);
    let editor = app.token("ed", &[], &["ROLE_APP_CONFIG_OVERRIDES_MANAGE_EDIT"]);
    send(&service, post_json(&import, &editor, &good)).await.assert_error(403, "forbidden");
    let reply = send(&service, post_json(&import, &app.admin(), &good)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        send(&service, get(&overrides(LOAN_APP), &app.admin()))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[actix_web::test]
async fn a_library_cannot_have_overrides() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let path = format!("{}/supportEmail", overrides(LIBRARY_APP));
    send(
        &service,
        put_json(&path, &app.admin(), &json!({"type": "VALUE", "value": "x@example.com"})),
    )
    .await
    .assert_error(409, "library_overrides_forbidden");
}
