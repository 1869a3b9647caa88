//! The runtime API: who gets which build, and what is inside it.

use serde_json::json;

use crate::helpers::{
    LIBRARY_APP, LIBRARY_BUILD, LOAN_APP, LOAN_BUILD_1, LOAN_BUILD_2, TestApp, get,
    import_examples, post_json, put_json, send,
};

const WORKSPACE: &str = "0c4d2e6f-3a5b-4c7d-8e9f-a0b1c2d3e4f5";

fn info() -> String {
    format!("/api/runtime/app/{LOAN_APP}/build/info")
}

fn policy() -> String {
    format!("/api/build-mgmt/app/{LOAN_APP}/active-policy")
}

#[actix_web::test]
async fn without_a_policy_build_info_is_a_404_no_active_policy() {
    let app = TestApp::new();
    let service = app.service().await;
    send(&service, get(&info(), &app.token("alice", &[], &[])))
        .await
        .assert_error(404, "no_active_policy");
}

#[actix_web::test]
async fn build_info_has_the_shape_of_the_original_build_info_dto() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let reply = send(
        &service,
        put_json(&policy(), &app.admin(), &json!({"type": "BUILD", "buildId": LOAN_BUILD_1})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let body = send(&service, get(&info(), &app.token("alice", &[], &[]))).await.json();
    assert_eq!(
        body,
        json!({
            "buildId": LOAN_BUILD_1,
            "applicationId": LOAN_APP,
            "buildSettings": {
                "applicationVersionId": "2c9a7e10-4b1d-4f3a-9e8c-7d6b5a4f3e21",
                "platforms": "OMNICHANNEL",
                "themeId": "e2d1c0b9-4a3f-4e5d-8c7b-6a5f4e3d2c1b",
                "dateDisplayFormat": {"format": "short"},
                "numberDisplayFormat": {"minDecimals": 0, "maxDecimals": 2},
                "currencyDisplayFormat": {"format": "isoCode"},
                "defaultLanguageCode": "en"
            }
        })
    );
    let in_workspace = send(
        &service,
        get(
            &format!("/api/runtime/wks/{WORKSPACE}/app/{LOAN_APP}/build/info"),
            &app.token("alice", &[], &[]),
        ),
    )
    .await;
    assert_eq!(in_workspace.json()["workspaceId"], WORKSPACE);
    assert_eq!(in_workspace.json()["buildId"], LOAN_BUILD_1);
    let elsewhere = format!("/api/runtime/wks/{}/app/{LOAN_APP}/build/info", uuid::Uuid::new_v4());
    send(&service, get(&elsewhere, &app.token("alice", &[], &[])))
        .await
        .assert_error(404, "build_not_found");
}

#[actix_web::test]
async fn latest_on_branch_serves_the_newest_build_of_the_branch() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    send(
        &service,
        put_json(&policy(), &app.admin(), &json!({"type": "LATEST_ON_BRANCH", "branch": "main"})),
    )
    .await;
    assert_eq!(
        send(&service, get(&info(), &app.token("alice", &[], &[]))).await.json()["buildId"],
        LOAN_BUILD_2
    );
    send(
        &service,
        put_json(
            &policy(),
            &app.admin(),
            &json!({"type": "LATEST_ON_BRANCH", "branch": "release"}),
        ),
    )
    .await;
    send(&service, get(&info(), &app.token("alice", &[], &[])))
        .await
        .assert_error(404, "no_build_on_branch");
}

#[actix_web::test]
async fn a_user_override_beats_a_group_override_which_beats_the_global_policy() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let overrides = format!("{}/overrides", policy());
    send(
        &service,
        put_json(&policy(), &app.admin(), &json!({"type": "BUILD", "buildId": LOAN_BUILD_1})),
    )
    .await;
    let group = json!({"subjectType": "GROUP", "subjectId": "testers", "type": "BUILD", "buildId": LOAN_BUILD_2});
    assert_eq!(send(&service, post_json(&overrides, &app.admin(), &group)).await.status, 201);
    let user = json!({"subjectType": "USER", "subjectId": "carol", "type": "BUILD", "buildId": LOAN_BUILD_1});
    assert_eq!(send(&service, post_json(&overrides, &app.admin(), &user)).await.status, 201);

    let build_for = |subject: &'static str, groups: &'static [&'static str]| {
        let token = app.token(subject, groups, &[]);
        let service = &service;
        async move { send(service, get(&info(), &token)).await.json()["buildId"].clone() }
    };
    assert_eq!(build_for("alice", &[]).await, LOAN_BUILD_1, "global");
    assert_eq!(
        build_for("bob", &["/testers"]).await,
        LOAN_BUILD_2,
        "group, as a Keycloak group path"
    );
    assert_eq!(
        build_for("carol", &["testers"]).await,
        LOAN_BUILD_1,
        "the user override wins over the group"
    );
}

#[actix_web::test]
async fn a_policy_change_takes_effect_at_once() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let token = app.token("alice", &[], &[]);
    send(
        &service,
        put_json(&policy(), &app.admin(), &json!({"type": "BUILD", "buildId": LOAN_BUILD_1})),
    )
    .await;
    assert_eq!(send(&service, get(&info(), &token)).await.json()["buildId"], LOAN_BUILD_1);
    send(
        &service,
        put_json(&policy(), &app.admin(), &json!({"type": "BUILD", "buildId": LOAN_BUILD_2})),
    )
    .await;
    assert_eq!(send(&service, get(&info(), &token)).await.json()["buildId"], LOAN_BUILD_2);
}

#[actix_web::test]
async fn resources_are_listed_and_found_by_id_and_by_name() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let token = app.token("renderer", &[], &[]);
    let base = format!("/api/runtime/app/{LOAN_APP}/build/{LOAN_BUILD_2}/resources");

    let tags = send(&service, get(&format!("{base}/SUBSTITUTION_TAG?size=1"), &token)).await.json();
    assert_eq!((tags["totalElements"].clone(), tags["totalPages"].clone()), (json!(2), json!(2)));
    assert_eq!(tags["content"][0]["name"], "loan.amount.label", "ordered by name");
    let second =
        send(&service, get(&format!("{base}/SUBSTITUTION_TAG?size=1&page=1"), &token)).await.json();
    assert_eq!(second["content"][0]["name"], "loan.apply.title");

    let process = send(
        &service,
        get(&format!("{base}/PROCESS/3f1c2d9e-6b7a-4c8d-9e0f-1a2b3c4d5e01"), &token),
    )
    .await;
    assert_eq!(process.status, 200);
    assert_eq!(process.json()["name"], "loan_application");
    assert!(process.json()["content"].is_object(), "content is the stored JSON object");
    let by_name =
        send(&service, get(&format!("{base}/ENUMERATION/by-name/loan_types"), &token)).await.json();
    assert_eq!(by_name["resourceDefinitionId"], "8d2e4f6a-1b3c-4d5e-8f7a-9b0c1d2e3f02");

    send(&service, get(&format!("{base}/PROCESS/no-such-process"), &token))
        .await
        .assert_error(404, "resource_not_found");
    send(&service, get(&format!("{base}/ENUMERATION/by-name/nope"), &token))
        .await
        .assert_error(404, "resource_not_found");
    send(&service, get(&format!("{base}/process"), &token))
        .await
        .assert_error(400, "invalid_request");
    send(&service, get(&format!("{base}/PROCESS?size=0"), &token))
        .await
        .assert_error(400, "invalid_request");
    send(&service, get(&format!("{base}/PROCESS?size=ten"), &token))
        .await
        .assert_error(400, "invalid_query");
}

#[actix_web::test]
async fn a_build_of_another_application_is_not_found_on_an_application_route() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let token = app.token("renderer", &[], &[]);
    let wrong = format!("/api/runtime/app/{LOAN_APP}/build/{LIBRARY_BUILD}/resources/ENUMERATION");
    send(&service, get(&wrong, &token)).await.assert_error(404, "build_not_found");
    let right =
        format!("/api/runtime/app/{LIBRARY_APP}/build/{LIBRARY_BUILD}/resources/ENUMERATION");
    assert_eq!(send(&service, get(&right, &token)).await.json()["totalElements"], 1);
    send(
        &service,
        get(&format!("/api/runtime/app/{LOAN_APP}/build/not-a-uuid/config-params"), &token),
    )
    .await
    .assert_error(400, "invalid_request");
}

#[actix_web::test]
async fn config_params_merge_library_defaults_build_defaults_and_overrides_and_hide_secrets() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let token = app.token("renderer", &[], &[]);
    let path = format!("/api/runtime/app/{LOAN_APP}/build/{LOAN_BUILD_1}/config-params");
    let override_path =
        format!("/api/build-mgmt/app/{LOAN_APP}/config-params/overrides/maxLoanAmount");
    let reply = send(
        &service,
        put_json(&override_path, &app.admin(), &json!({"type": "VALUE", "value": "60000"})),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.json());

    let params = send(&service, get(&path, &token)).await.json();
    let params = params.as_array().unwrap();
    let find = |key: &str| params.iter().find(|param| param["key"] == key).cloned();
    assert_eq!(find("maxLoanAmount").unwrap()["value"], "60000");
    assert_eq!(find("maxLoanAmount").unwrap()["source"], "OVERRIDE");
    assert_eq!(find("creditBureauUrl").unwrap()["value"], "CREDIT_BUREAU_URL");
    assert_eq!(find("supportEmail").unwrap()["source"], "LIBRARY", "a library default");
    assert_eq!(find("supportEmail").unwrap()["libraryId"], LIBRARY_APP);
    assert!(
        find("creditBureauApiKey").is_none(),
        "ENV_SECRET is never returned on the runtime API"
    );
    let keys: Vec<&str> = params.iter().map(|param| param["key"].as_str().unwrap()).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted, "ordered by key");
}

/// The `ETag` of a build info answer.
fn etag(reply: &crate::helpers::Reply) -> String {
    reply
        .headers
        .get("etag")
        .unwrap_or_else(|| panic!("an ETag on {:?}", reply.status))
        .to_str()
        .unwrap()
        .to_owned()
}

#[actix_web::test]
async fn build_info_carries_a_weak_etag_and_answers_304_while_it_holds() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let alice = app.token("alice", &[], &[]);
    let set = |build: &str| {
        put_json(&policy(), &app.admin(), &json!({"type": "BUILD", "buildId": build}))
    };
    assert_eq!(send(&service, set(LOAN_BUILD_1)).await.status, 200);

    let first = send(&service, get(&info(), &alice)).await;
    assert_eq!(first.status, 200);
    let tag = etag(&first);
    assert!(tag.starts_with(&format!("W/\"{LOAN_BUILD_1}-")), "{tag}");

    // The same tag (weak or strong form, alone or in a list, or `*`) is answered with 304,
    // the tag and no body.
    let strong = tag.trim_start_matches("W/").to_owned();
    for held in [tag.clone(), strong, format!("\"other\", {tag}"), "*".to_owned()] {
        let reply =
            send(&service, get(&info(), &alice).insert_header(("If-None-Match", held.as_str())))
                .await;
        assert_eq!(reply.status, 304, "If-None-Match: {held}");
        assert_eq!(etag(&reply), tag, "If-None-Match: {held}");
        assert!(reply.bytes.is_empty(), "a 304 has no body");
    }
    let other =
        send(&service, get(&info(), &alice).insert_header(("If-None-Match", "W/\"other\""))).await;
    assert_eq!(other.status, 200, "a tag that does not match gets the body");
    assert_eq!(other.json()["buildId"], LOAN_BUILD_1);

    // A policy change changes the tag, even when it names the same build again (a new
    // revision): the old tag no longer holds.
    assert_eq!(send(&service, set(LOAN_BUILD_2)).await.status, 200);
    let changed =
        send(&service, get(&info(), &alice).insert_header(("If-None-Match", tag.as_str()))).await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.json()["buildId"], LOAN_BUILD_2);
    let new_tag = etag(&changed);
    assert!(new_tag.starts_with(&format!("W/\"{LOAN_BUILD_2}-")), "{new_tag}");
    assert_eq!(send(&service, set(LOAN_BUILD_2)).await.status, 200);
    let again =
        send(&service, get(&info(), &alice).insert_header(("If-None-Match", new_tag.as_str())))
            .await;
    assert_eq!(again.status, 200, "the same build at a new revision is a new answer");
    assert_ne!(etag(&again), new_tag);

    // The workspace form has its tag too.
    assert_eq!(send(&service, set(LOAN_BUILD_1)).await.status, 200);
    let path = format!("/api/runtime/wks/{WORKSPACE}/app/{LOAN_APP}/build/info");
    let in_workspace = send(&service, get(&path, &alice)).await;
    let workspace_tag = etag(&in_workspace);
    let reply =
        send(&service, get(&path, &alice).insert_header(("If-None-Match", workspace_tag.as_str())))
            .await;
    assert_eq!(reply.status, 304);
}
