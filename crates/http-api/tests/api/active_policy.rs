//! The global policy and its overrides through the build-management API.

use domain::model::{ApplicationId, PolicyOverride, PolicyOverrideId, PolicyTarget, SubjectType};
use domain::runtime::ports::PolicyRepository as _;
use serde_json::json;

use crate::helpers::{
    LIBRARY_BUILD, LOAN_APP, LOAN_BUILD_1, LOAN_BUILD_2, TestApp, delete, get, import_examples,
    post_json, put_json, send,
};

fn policy() -> String {
    format!("/api/build-mgmt/app/{LOAN_APP}/active-policy")
}

fn overrides() -> String {
    format!("{}/overrides", policy())
}

#[actix_web::test]
async fn the_global_policy_is_set_and_read_back() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    send(&service, get(&policy(), &app.admin())).await.assert_error(404, "no_active_policy");
    let reply = send(
        &service,
        put_json(&policy(), &app.admin(), &json!({"type": "BUILD", "buildId": LOAN_BUILD_1})),
    )
    .await;
    assert_eq!(reply.status, 200);
    let read = send(
        &service,
        get(&policy(), &app.token("viewer", &[], &["ROLE_ACTIVE_POLICY_MANAGE_READ"])),
    )
    .await
    .json();
    assert_eq!(
        (read["type"].clone(), read["buildId"].clone()),
        (json!("BUILD"), json!(LOAN_BUILD_1))
    );
    assert_eq!(read["updatedBy"], "operator");
    assert!(read.get("branch").is_none());
}

#[actix_web::test]
async fn a_bad_policy_body_is_a_400_with_its_own_code() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let cases = [
        (json!({"type": "BUILD"}), "invalid_request"),
        (json!({"type": "BUILD", "buildId": LOAN_BUILD_1, "branch": "main"}), "invalid_request"),
        (json!({"type": "LATEST_ON_BRANCH"}), "invalid_request"),
        (
            json!({"type": "LATEST_ON_BRANCH", "branch": "a-branch-name-that-is-too-long"}),
            "invalid_request",
        ),
        (json!({"type": "FIXED", "buildId": LOAN_BUILD_1}), "malformed_json"),
        (json!({"type": "BUILD", "buildId": LOAN_BUILD_1, "colour": "blue"}), "malformed_json"),
        (json!({"type": "BUILD", "buildId": "not-a-uuid"}), "invalid_request"),
    ];
    for (body, code) in cases {
        let reply = send(&service, put_json(&policy(), &app.admin(), &body)).await;
        assert_eq!(reply.json()["code"], code, "{body} → {}", reply.json());
        reply.assert_error(400, code);
    }
    let raw = actix_web::test::TestRequest::put()
        .uri(&policy())
        .insert_header(("Authorization", format!("Bearer {}", app.admin())))
        .insert_header(("Content-Type", "application/json"))
        .set_payload("{\"type\": ");
    send(&service, raw).await.assert_error(400, "malformed_json");
    send(&service, get(&policy(), &app.admin())).await.assert_error(404, "no_active_policy");
}

#[actix_web::test]
async fn a_policy_must_name_a_build_of_its_application() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let unknown = uuid::Uuid::new_v4().to_string();
    send(
        &service,
        put_json(&policy(), &app.admin(), &json!({"type": "BUILD", "buildId": unknown})),
    )
    .await
    .assert_error(404, "build_not_found");
    send(
        &service,
        put_json(&policy(), &app.admin(), &json!({"type": "BUILD", "buildId": LIBRARY_BUILD})),
    )
    .await
    .assert_error(400, "application_mismatch");
}

#[actix_web::test]
async fn policy_edits_need_the_edit_scope() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let reader = app.token("viewer", &[], &["ROLE_ACTIVE_POLICY_MANAGE_READ"]);
    send(
        &service,
        put_json(&policy(), &reader, &json!({"type": "BUILD", "buildId": LOAN_BUILD_1})),
    )
    .await
    .assert_error(403, "forbidden");
    let body = json!({"subjectType": "USER", "subjectId": "alice", "type": "BUILD", "buildId": LOAN_BUILD_1});
    send(&service, post_json(&overrides(), &reader, &body)).await.assert_error(403, "forbidden");
}

#[actix_web::test]
async fn overrides_are_added_listed_changed_and_removed() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let body = json!({"subjectType": "USER", "subjectId": "alice", "type": "BUILD", "buildId": LOAN_BUILD_1});
    let created = send(&service, post_json(&overrides(), &app.admin(), &body)).await;
    assert_eq!(created.status, 201);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    send(&service, post_json(&overrides(), &app.admin(), &body))
        .await
        .assert_error(409, "override_exists");

    let changed = json!({"subjectType": "USER", "subjectId": "alice", "type": "LATEST_ON_BRANCH", "branch": "main"});
    let reply =
        send(&service, put_json(&format!("{}/{id}", overrides()), &app.admin(), &changed)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["branch"], "main");
    let info = send(
        &service,
        get(&format!("/api/runtime/app/{LOAN_APP}/build/info"), &app.token("alice", &[], &[])),
    )
    .await;
    assert_eq!(info.json()["buildId"], LOAN_BUILD_2, "the override now follows the branch");

    let listed = send(&service, get(&overrides(), &app.admin())).await.json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["deprecated"], false);
    assert_eq!(
        send(&service, delete(&format!("{}/{id}", overrides()), &app.admin())).await.status,
        204
    );
    send(&service, delete(&format!("{}/{id}", overrides()), &app.admin()))
        .await
        .assert_error(404, "policy_override_not_found");
    send(&service, put_json(&format!("{}/{id}", overrides()), &app.admin(), &changed))
        .await
        .assert_error(404, "policy_override_not_found");
    send(&service, delete(&format!("{}/not-a-uuid", overrides()), &app.admin()))
        .await
        .assert_error(400, "invalid_request");
}

#[actix_web::test]
async fn role_overrides_are_listed_and_deletable_but_never_created_or_used() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let body = json!({"subjectType": "ROLE", "subjectId": "ROLE_TESTER", "type": "BUILD", "buildId": LOAN_BUILD_2});
    send(&service, post_json(&overrides(), &app.admin(), &body))
        .await
        .assert_error(409, "role_override_deprecated");

    // A ROLE override carried over from an older version.
    let application_id = ApplicationId::parse(LOAN_APP).unwrap();
    let carried = PolicyOverride {
        id: PolicyOverrideId::random(),
        application_id,
        subject_type: SubjectType::Role,
        subject_id: "ROLE_TESTER".into(),
        target: PolicyTarget::Build(domain::model::BuildId::parse(LOAN_BUILD_2).unwrap()),
        updated_by: "migration".into(),
        updated_at: time::OffsetDateTime::now_utc(),
    };
    app.fakes.app_data.insert_policy_override(&carried, &[]).await.unwrap();
    send(
        &service,
        put_json(&policy(), &app.admin(), &json!({"type": "BUILD", "buildId": LOAN_BUILD_1})),
    )
    .await;

    let listed = send(&service, get(&overrides(), &app.admin())).await.json();
    assert_eq!(listed[0]["deprecated"], true);
    let info = send(
        &service,
        get(
            &format!("/api/runtime/app/{LOAN_APP}/build/info"),
            &app.token("tess", &[], &["ROLE_TESTER"]),
        ),
    )
    .await;
    assert_eq!(info.json()["buildId"], LOAN_BUILD_1, "ROLE overrides are ignored by resolution");
    let path = format!("{}/{}", overrides(), carried.id);
    let change = json!({"subjectType": "USER", "subjectId": "tess", "type": "BUILD", "buildId": LOAN_BUILD_2});
    send(&service, put_json(&path, &app.admin(), &change))
        .await
        .assert_error(409, "role_override_deprecated");
    assert_eq!(send(&service, delete(&path, &app.admin())).await.status, 204);
}
