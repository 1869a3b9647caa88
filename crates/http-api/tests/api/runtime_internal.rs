//! The runtime-internal API: resolution on behalf of a named user (with the rule that chose),
//! build headers by id, and parameters with `ENV_SECRET` names for service accounts only.

use std::collections::BTreeSet;

use build_archive::ArchiveLimits;
use domain::access::AccessRules;
use http_api::Roles;
use http_api::auth::LocalIssuer;
use serde_json::{Value, json};

use crate::helpers::{
    LIBRARY_APP, LIBRARY_BUILD, LOAN_APP, LOAN_BUILD_1, LOAN_BUILD_2, TestApp, get,
    import_examples, post_json, put_json, send,
};

const WORKSPACE: &str = "0c4d2e6f-3a5b-4c7d-8e9f-a0b1c2d3e4f5";
const ENGINE_CLIENT: &str = "flowx-process-engine";
const BUILDS_READ: &str = "ROLE_BUILDS_MANAGE_READ";

/// The API with `flowx-process-engine` listed as a service-account client.
fn app_with_service_accounts() -> TestApp {
    let mut access = AccessRules::default();
    access.set_service_account_clients(BTreeSet::from([ENGINE_CLIENT.to_owned()]));
    TestApp::with(ArchiveLimits::default(), access, vec![LocalIssuer::ISSUER.to_owned()])
}

fn active_build(query: &str) -> String {
    format!("/api/runtime-internal/app/{LOAN_APP}/active-build{query}")
}

fn header(build_id: &str) -> String {
    format!("/api/runtime-internal/build/{build_id}")
}

fn params(build_id: &str) -> String {
    format!("/api/runtime-internal/build/{build_id}/config-params")
}

/// Adds an override through the build-management API and returns its id.
async fn add_override<S, B>(service: &S, app: &TestApp, body: Value) -> String
where
    S: actix_web::dev::Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse<B>,
            Error = actix_web::Error,
        >,
    B: actix_web::body::MessageBody,
{
    let path = format!("/api/build-mgmt/app/{LOAN_APP}/active-policy/overrides");
    let reply = send(service, post_json(&path, &app.admin(), &body)).await;
    assert_eq!(reply.status, 201, "{}", reply.json());
    reply.json()["id"].as_str().expect("the override's id").to_owned()
}

#[actix_web::test]
async fn every_runtime_internal_route_needs_a_token() {
    let app = app_with_service_accounts();
    let service = app.service().await;
    for path in [active_build("?user=alice"), header(LOAN_BUILD_1), params(LOAN_BUILD_1)] {
        let request = actix_web::test::TestRequest::get().uri(&path);
        send(&service, request).await.assert_error(401, "missing_token");
    }
}

#[actix_web::test]
async fn every_runtime_internal_route_needs_builds_read() {
    let app = app_with_service_accounts();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let end_user = app.token("alice", &[], &[]);
    let engine_without_builds_read = app.client_token(ENGINE_CLIENT, &[]);
    for path in [active_build("?user=alice"), header(LOAN_BUILD_1), params(LOAN_BUILD_1)] {
        send(&service, get(&path, &end_user)).await.assert_error(403, "forbidden");
        send(&service, get(&path, &engine_without_builds_read))
            .await
            .assert_error(403, "forbidden");
    }
}

#[actix_web::test]
async fn the_active_build_says_which_rule_chose_it() {
    let app = app_with_service_accounts();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let policy = format!("/api/build-mgmt/app/{LOAN_APP}/active-policy");
    let reply = send(
        &service,
        put_json(&policy, &app.admin(), &json!({"type": "BUILD", "buildId": LOAN_BUILD_1})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let for_alice = add_override(
        &service,
        &app,
        json!({"subjectType": "USER", "subjectId": "alice", "type": "BUILD", "buildId": LOAN_BUILD_2}),
    )
    .await;
    let for_team = add_override(
        &service,
        &app,
        json!({"subjectType": "GROUP", "subjectId": "team", "type": "BUILD", "buildId": LOAN_BUILD_2}),
    )
    .await;
    let engine = app.client_token(ENGINE_CLIENT, &[BUILDS_READ]);

    let alice = send(&service, get(&active_build("?user=alice&groups=team"), &engine)).await;
    assert_eq!(alice.status, 200, "{}", alice.json());
    assert_eq!(
        alice.json(),
        json!({
            "buildId": LOAN_BUILD_2,
            "applicationId": LOAN_APP,
            "workspaceId": WORKSPACE,
            "policy": {"source": "USER", "overrideId": for_alice},
        }),
        "a USER override beats a GROUP override"
    );
    let bob = send(&service, get(&active_build("?user=bob&groups=other,/team"), &engine)).await;
    assert_eq!(bob.json()["buildId"], LOAN_BUILD_2);
    assert_eq!(
        bob.json()["policy"],
        json!({"source": "GROUP", "overrideId": for_team}),
        "`/team` matches the GROUP override `team`, as a token's group would"
    );
    let carl = send(&service, get(&active_build("?user=carl"), &engine)).await;
    assert_eq!(carl.json()["buildId"], LOAN_BUILD_1);
    assert_eq!(
        carl.json()["policy"],
        json!({"source": "GLOBAL"}),
        "the global policy has no override id"
    );
}

#[actix_web::test]
async fn the_active_build_needs_a_user_and_a_policy() {
    let app = app_with_service_accounts();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let reader = app.token("designer", &[], &[BUILDS_READ]);
    for query in ["", "?groups=team", "?user=", "?user=%20%20&groups=team"] {
        send(&service, get(&active_build(query), &reader))
            .await
            .assert_error(400, "invalid_request");
    }
    send(&service, get(&active_build("?usr=alice"), &reader))
        .await
        .assert_error(400, "invalid_query");
    send(&service, get(&active_build("?user=alice"), &reader))
        .await
        .assert_error(404, "no_active_policy");
    let unknown = format!("/api/runtime-internal/app/{}/active-build?user=a", uuid::Uuid::new_v4());
    send(&service, get(&unknown, &reader)).await.assert_error(404, "no_active_policy");
}

#[actix_web::test]
async fn a_build_header_is_found_by_its_id_alone() {
    let app = app_with_service_accounts();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let reader = app.token("engine", &[], &[BUILDS_READ]);

    let reply = send(&service, get(&header(LOAN_BUILD_1), &reader)).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let body = reply.json();
    assert_eq!(body["buildId"], LOAN_BUILD_1);
    assert_eq!(body["applicationId"], LOAN_APP);
    assert_eq!(body["applicationName"], "Loan Origination");
    assert_eq!(body["workspaceId"], WORKSPACE);
    assert_eq!(body["applicationVersionId"], "2c9a7e10-4b1d-4f3a-9e8c-7d6b5a4f3e21");
    assert_eq!(body["branch"], "main");
    assert_eq!(body["name"], "Loan Origination");
    assert_eq!(body["createdBy"], "ana.popescu");
    assert_eq!(body["createdAt"], "2026-10-05T09:30:00Z");
    assert!(body["checksum"].as_str().is_some_and(|checksum| checksum.len() == 64), "{body}");
    assert_eq!(body["buildSettings"]["platforms"], "OMNICHANNEL");
    assert_eq!(body["languages"], json!(["en", "ro"]));
    assert_eq!(
        body["dependencies"],
        json!([{"applicationId": LIBRARY_APP, "buildId": LIBRARY_BUILD}])
    );
    assert!(body.get("manifest").is_none(), "a header, not the whole build: {body}");

    let library = send(&service, get(&header(LIBRARY_BUILD), &reader)).await.json();
    assert_eq!(library["applicationId"], LIBRARY_APP, "any application's build");
    send(&service, get(&header(&uuid::Uuid::new_v4().to_string()), &reader))
        .await
        .assert_error(404, "build_not_found");
    send(&service, get(&header("not-a-uuid"), &reader)).await.assert_error(400, "invalid_request");
}

#[actix_web::test]
async fn a_listed_service_account_reads_secret_parameters_as_variable_names() {
    let app = app_with_service_accounts();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let engine = app.client_token(ENGINE_CLIENT, &[BUILDS_READ]);

    let reply = send(&service, get(&params(LOAN_BUILD_1), &engine)).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let body = reply.json();
    let listed = body.as_array().unwrap();
    let find = |key: &str| listed.iter().find(|param| param["key"] == key).cloned();
    assert_eq!(
        find("creditBureauApiKey"),
        Some(json!({
            "key": "creditBureauApiKey",
            "type": "ENV_SECRET",
            "value": "CREDIT_BUREAU_API_KEY",
            "source": "BUILD",
            "libraryId": null,
        })),
        "an ENV_SECRET entry names its variable, never a secret"
    );
    assert_eq!(find("creditBureauUrl").unwrap()["value"], "CREDIT_BUREAU_URL");
    assert_eq!(find("supportEmail").unwrap()["source"], "LIBRARY", "library defaults too");
    send(&service, get(&params(&uuid::Uuid::new_v4().to_string()), &engine))
        .await
        .assert_error(404, "build_not_found");
}

#[actix_web::test]
async fn an_app_config_admin_reads_secret_parameters_too() {
    let app = app_with_service_accounts();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let admin = app.token("operator", &[], &[BUILDS_READ, "ROLE_APP_CONFIG_MANAGE_ADMIN"]);

    let body = send(&service, get(&params(LOAN_BUILD_1), &admin)).await.json();

    let secret = body.as_array().unwrap().iter().find(|param| param["type"] == "ENV_SECRET");
    assert_eq!(secret.map(|param| param["value"].clone()), Some(json!("CREDIT_BUREAU_API_KEY")));
}

#[actix_web::test]
async fn callers_that_are_not_service_accounts_get_service_account_required() {
    let app = app_with_service_accounts();
    let service = app.service().await;
    import_examples(&service, &app).await;
    for token in [
        app.client_token("flowx-designer", &[BUILDS_READ]),
        app.token("alice", &[], &[BUILDS_READ, "ROLE_APP_CONFIG_MANAGE_EDIT"]),
    ] {
        send(&service, get(&params(LOAN_BUILD_1), &token))
            .await
            .assert_error(403, "service_account_required");
    }
    let unlisted_everywhere = TestApp::new();
    let service = unlisted_everywhere.service().await;
    send(
        &service,
        get(
            &params(LOAN_BUILD_1),
            &unlisted_everywhere.client_token(ENGINE_CLIENT, &[BUILDS_READ]),
        ),
    )
    .await
    .assert_error(403, "service_account_required");
}

#[actix_web::test]
async fn the_runtime_internal_api_is_served_by_the_runtime_manager_only() {
    let app = TestApp::serving(Roles { runtime_manager: false, app_manager: true });
    let service = app.service().await;
    let reader = app.token("engine", &[], &[BUILDS_READ]);
    for path in [active_build("?user=alice"), header(LOAN_BUILD_1), params(LOAN_BUILD_1)] {
        send(&service, get(&path, &reader)).await.assert_error(404, "route_not_found");
    }
}
