//! The two roles of one binary on the shared backends, end to end: an Application Manager
//! designs, commits and builds; a Runtime Manager on the same backends serves that build at
//! once; its export imports into a fresh embedded rtm as the same build. Each role 404s the
//! other's routes.

use serde_json::{Value, json};

use crate::embedded;
use crate::real_backends::{Isolated, Rtm, Stack, rtm_env, token};

const DESIGNER_ROLES: &[&str] = &[
    "ROLE_APPS_MANAGE_EDIT",
    "ROLE_BUILDS_MANAGE_ADMIN",
    "ROLE_APP_CONFIG_MANAGE_EDIT",
    "ROLE_ACTIVE_POLICY_MANAGE_EDIT",
];

async fn call(
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let request = reqwest::Client::new().request(method, url).bearer_auth(token);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_build_designed_in_the_application_manager_is_served_by_the_runtime_manager() {
    let Some(stack) = Stack::from_env() else { return };
    let isolated = Isolated::new();
    let runtime_env = rtm_env(&stack, &isolated, None);
    let mut manager_env = runtime_env.clone();
    manager_env.insert("SPRING_APPLICATION_NAME".into(), "application-manager".into());
    let manager = Rtm::start(&manager_env).await;
    let runtime = Rtm::start(&runtime_env).await;
    let designer = token(&stack, "designer", DESIGNER_ROLES, &[]).await;
    let post = reqwest::Method::POST;

    // Design, commit and build in the Application Manager.
    let apps = format!("{}/api/applications", manager.base);
    let (status, app) = call(
        post.clone(),
        apps.clone(),
        &designer,
        Some(json!({"name": "E2E loans", "type": "APPLICATION"})),
    )
    .await;
    assert_eq!(status, 201, "{app}\n{}", manager.log_text());
    let app_id = app["id"].as_str().unwrap().to_owned();
    let (_, versions) =
        call(reqwest::Method::GET, format!("{apps}/{app_id}/versions"), &designer, None).await;
    let version = versions["content"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = call(
        post.clone(),
        format!("{apps}/{app_id}/versions/{version}/resources/PROCESS"),
        &designer,
        Some(json!({"name": "apply", "content": {"nodes": [{"id": "start"}]}})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = call(
        post.clone(),
        format!("{apps}/{app_id}/versions/{version}/commit"),
        &designer,
        Some(json!({"message": "E2E one"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, build) = call(
        post.clone(),
        format!("{apps}/{app_id}/versions/{version}/builds"),
        &designer,
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "{build}\n{}", manager.log_text());
    let build_id = build["buildId"].as_str().unwrap().to_owned();

    // Policy and build info in the Runtime Manager.
    let (status, body) = call(
        reqwest::Method::PUT,
        format!("{}/api/build-mgmt/app/{app_id}/active-policy", runtime.base),
        &designer,
        Some(json!({"type": "LATEST_ON_BRANCH", "branch": "main"})),
    )
    .await;
    assert_eq!(status, 200, "{body}\n{}", runtime.log_text());
    let user = token(&stack, "e2e-user", &[], &[]).await;
    let (status, info) = call(
        reqwest::Method::GET,
        format!("{}/api/runtime/app/{app_id}/build/info", runtime.base),
        &user,
        None,
    )
    .await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["buildId"], build_id);
    assert_eq!(info["buildSettings"]["applicationVersionId"], version);

    // Each role 404s the other's routes.
    let (status, body) = call(
        reqwest::Method::GET,
        format!("{}/api/runtime/app/{app_id}/build/info", manager.base),
        &user,
        None,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("route_not_found")), "{body}");
    let (status, body) =
        call(reqwest::Method::GET, format!("{}/api/applications", runtime.base), &designer, None)
            .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("route_not_found")), "{body}");
    let info = reqwest::get(format!("{}/actuator/info", manager.management))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(info.contains("\"application-manager\""), "{info}");

    // The export imports into a fresh embedded rtm as the same build.
    let archive = reqwest::Client::new()
        .get(format!("{}/api/build-mgmt/app/{app_id}/builds/{build_id}/export", runtime.base))
        .bearer_auth(&designer)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let fresh = embedded::start();
    let output = crate::rtm()
        .env("RTM_DATA_DIR", fresh.data_dir.path())
        .args(["dev-token", "--sub", "importer", "--admin"])
        .output()
        .unwrap();
    let admin = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(archive.to_vec()).file_name("build.zip"));
    let imported = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/api/build-mgmt/builds/import", fresh.api))
        .bearer_auth(&admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(imported.status(), 201);
    let imported: Value = imported.json().await.unwrap();
    assert_eq!(imported["buildId"], build_id);
    assert_eq!(imported["checksum"], build["checksum"], "the same build, the same checksum");
}
