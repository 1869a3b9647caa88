//! The Application Manager's API over the fakes: design, commit and build, then the
//! Runtime Manager serving that build; every refusal with its status and code.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::test::TestRequest;
use http_api::Roles;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, delete, get, post_json, put_json, send, sha256_hex, upload};

/// A step of a design session against one service, with the admin's token.
struct Designer<'a, S> {
    service: &'a S,
    token: String,
}

impl<S, B> Designer<'_, S>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    async fn send(&self, request: TestRequest) -> Reply {
        send(self.service, request).await
    }

    /// `POST path body`, expecting `status`; returns the JSON answer.
    async fn post(&self, path: &str, body: Value, status: u16) -> Value {
        let reply = self.send(post_json(path, &self.token, &body)).await;
        assert_eq!(reply.status.as_u16(), status, "POST {path}: {:?}", reply.bytes);
        reply.json()
    }

    async fn put(&self, path: &str, body: Value, status: u16) -> Value {
        let reply = self.send(put_json(path, &self.token, &body)).await;
        assert_eq!(reply.status.as_u16(), status, "PUT {path}: {:?}", reply.bytes);
        reply.json()
    }

    async fn get(&self, path: &str) -> Value {
        let reply = self.send(get(path, &self.token)).await;
        assert_eq!(reply.status.as_u16(), 200, "GET {path}: {:?}", reply.bytes);
        reply.json()
    }

    /// Creates an application or library; returns its id and the id of its first WIP.
    async fn create(&self, name: &str, kind: &str) -> (String, String) {
        let app = self.post("/api/applications", json!({"name": name, "type": kind}), 201).await;
        let id = app["id"].as_str().unwrap().to_owned();
        let versions = self.get(&format!("/api/applications/{id}/versions")).await;
        assert_eq!(versions["totalElements"], 1, "a new application has one version");
        assert_eq!(versions["content"][0]["status"], "WIP");
        (id, versions["content"][0]["id"].as_str().unwrap().to_owned())
    }

    async fn commit(&self, app: &str, version: &str, message: &str) -> Value {
        self.post(
            &format!("/api/applications/{app}/versions/{version}/commit"),
            json!({"message": message}),
            200,
        )
        .await
    }

    async fn build(&self, app: &str, version: &str, body: Value) -> Value {
        self.post(&format!("/api/applications/{app}/versions/{version}/builds"), body, 201).await
    }
}

fn resources(app: &str, version: &str, kind: &str) -> String {
    format!("/api/applications/{app}/versions/{version}/resources/{kind}")
}

#[actix_web::test]
async fn a_designed_application_is_committed_built_and_served_by_the_runtime() {
    let app = TestApp::new();
    let service = app.service().await;
    let designer = Designer { service: &service, token: app.admin() };

    // A library with one enumeration and a default, committed and built.
    let (library, library_wip) = designer.create("Shared library", "LIBRARY").await;
    designer
        .post(
            &resources(&library, &library_wip, "ENUMERATION"),
            json!({"name": "countries", "content": {"values": ["RO", "NL"]}}),
            201,
        )
        .await;
    designer
        .put(
            &format!(
                "/api/applications/{library}/versions/{library_wip}/config-params/supportEmail"
            ),
            json!({"type": "VALUE", "value": "help@example.com"}),
            200,
        )
        .await;
    designer.commit(&library, &library_wip, "Countries").await;
    let library_build =
        designer.build(&library, &library_wip, json!({"versionTag": "1.0.0"})).await;
    let library_build_id = library_build["buildId"].as_str().unwrap().to_owned();

    // An application: a media binary, a process naming it, a dependency and a default.
    let (loans, wip) = designer.create("Loans", "APPLICATION").await;
    let logo = b"\x89PNG pretend logo";
    let uploaded = designer
        .send(upload(&format!("/api/applications/{loans}/binaries"), &designer.token, logo))
        .await;
    assert_eq!(uploaded.status, 201, "{:?}", uploaded.bytes);
    let sha = sha256_hex(logo);
    assert_eq!(uploaded.json(), json!({"sha256": sha, "size": logo.len()}));
    designer
        .post(
            &resources(&loans, &wip, "MEDIA_FILE"),
            json!({"name": "logo", "content": {"file": format!("binaries/{sha}")}}),
            201,
        )
        .await;
    let process = designer
        .post(
            &resources(&loans, &wip, "PROCESS"),
            json!({"name": "loan_application", "content": {"nodes": [{"id": "start"}], "logo": format!("binaries/{sha}")}}),
            201,
        )
        .await;
    assert_eq!(process["status"], "WIP");
    designer
        .put(
            &format!("/api/applications/{loans}/versions/{wip}/dependencies/{library}"),
            json!({"buildId": library_build_id}),
            200,
        )
        .await;
    designer
        .put(
            &format!("/api/applications/{loans}/versions/{wip}/config-params/maxAmount"),
            json!({"type": "VALUE", "value": "50000"}),
            200,
        )
        .await;
    let committed = designer.commit(&loans, &wip, "First release [LOAN-1]").await;
    assert_eq!(committed["status"], "COMMITTED");
    let manifest =
        designer.get(&format!("/api/applications/{loans}/versions/{wip}/manifest")).await;
    assert!(
        manifest.as_array().unwrap().iter().all(|entry| entry["status"] == "COMMITTED"),
        "{manifest}"
    );

    let created = designer.build(&loans, &wip, json!({"name": "Loans 1"})).await;
    assert_eq!(created["status"], "CREATED");
    assert_eq!(created["applicationVersionId"], wip);
    let build_id = created["buildId"].as_str().unwrap().to_owned();

    // The Runtime Manager serves it.
    let detail = designer.get(&format!("/api/build-mgmt/app/{loans}/builds/{build_id}")).await;
    assert_eq!(detail["origin"], "CREATED");
    assert_eq!(detail["checksum"], created["checksum"]);
    assert_eq!(
        detail["dependencies"],
        json!([{"applicationId": library, "buildId": library_build_id}])
    );
    designer
        .put(
            &format!("/api/build-mgmt/app/{loans}/active-policy"),
            json!({"type": "LATEST_ON_BRANCH", "branch": "main"}),
            200,
        )
        .await;
    let user = app.token("bob", &[], &[]);
    let info =
        send(&service, get(&format!("/api/runtime/app/{loans}/build/info"), &user)).await.json();
    assert_eq!(info["buildId"], build_id);
    assert_eq!(info["buildSettings"]["applicationVersionId"], wip);
    let runtime_process = send(
        &service,
        get(&format!("/api/runtime/app/{loans}/build/{build_id}/resources/PROCESS/by-name/loan_application"), &user),
    )
    .await
    .json();
    assert_eq!(runtime_process["content"]["nodes"][0]["id"], "start");
    let params = send(
        &service,
        get(&format!("/api/runtime/app/{loans}/build/{build_id}/config-params"), &user),
    )
    .await
    .json();
    let keys: Vec<&str> =
        params.as_array().unwrap().iter().map(|param| param["key"].as_str().unwrap()).collect();
    assert!(
        keys.contains(&"maxAmount") && keys.contains(&"supportEmail"),
        "own and library defaults: {params}"
    );

    // Its export is the same build in a fresh installation: same id, same checksum.
    let exported = send(
        &service,
        get(&format!("/api/build-mgmt/app/{loans}/builds/{build_id}/export"), &designer.token),
    )
    .await;
    assert_eq!(exported.status, 200);
    let library_export = send(
        &service,
        get(
            &format!("/api/build-mgmt/app/{library}/builds/{library_build_id}/export"),
            &designer.token,
        ),
    )
    .await;
    let elsewhere = TestApp::new();
    let other = elsewhere.service().await;
    let imported_library = send(
        &other,
        upload("/api/build-mgmt/builds/import", &elsewhere.admin(), &library_export.bytes),
    )
    .await;
    assert_eq!(imported_library.status, 201, "{:?}", imported_library.bytes);
    let imported =
        send(&other, upload("/api/build-mgmt/builds/import", &elsewhere.admin(), &exported.bytes))
            .await;
    assert_eq!(imported.status, 201, "{:?}", imported.bytes);
    assert_eq!(imported.json()["buildId"], build_id);
    assert_eq!(imported.json()["checksum"], created["checksum"]);
}

#[actix_web::test]
async fn editing_a_committed_resource_copies_it_and_if_match_guards_changes() {
    let app = TestApp::new();
    let service = app.service().await;
    let designer = Designer { service: &service, token: app.admin() };
    let (loans, first) = designer.create("Loans", "APPLICATION").await;
    let created = designer
        .post(
            &resources(&loans, &first, "ENUMERATION"),
            json!({"name": "types", "content": {"v": 1}}),
            201,
        )
        .await;
    let definition = created["resourceDefinitionId"].as_str().unwrap().to_owned();
    designer.commit(&loans, &first, "One").await;
    designer
        .put(
            &format!("{}/{definition}", resources(&loans, &first, "ENUMERATION")),
            json!({"content": {"v": 2}}),
            409,
        )
        .await;

    let second = designer
        .post(&format!("/api/applications/{loans}/branches/main/versions"), json!({}), 201)
        .await;
    let second = second["id"].as_str().unwrap().to_owned();
    designer
        .post(&format!("/api/applications/{loans}/branches/main/versions"), json!({}), 409)
        .await;
    let path = format!("{}/{definition}", resources(&loans, &second, "ENUMERATION"));
    let read = designer.send(get(&path, &designer.token)).await;
    let etag = read.headers.get("ETag").unwrap().to_str().unwrap().to_owned();
    assert_eq!(
        read.json()["resourceVersionId"],
        created["resourceVersionId"],
        "a WIP links the committed resource"
    );

    let copied = designer
        .send(
            put_json(&path, &designer.token, &json!({"content": {"v": 2}}))
                .insert_header(("If-Match", etag.as_str())),
        )
        .await;
    assert_eq!(copied.status, 200, "{:?}", copied.bytes);
    assert_ne!(copied.json()["resourceVersionId"], created["resourceVersionId"], "copy on write");
    assert_eq!(copied.json()["status"], "WIP");
    let stale = designer
        .send(
            put_json(&path, &designer.token, &json!({"content": {"v": 3}}))
                .insert_header(("If-Match", etag.as_str())),
        )
        .await;
    stale.assert_error(412, "precondition_failed");

    let old =
        designer.get(&format!("{}/{definition}", resources(&loans, &first, "ENUMERATION"))).await;
    assert_eq!(old["content"], json!({"v": 1}), "the committed version keeps its content");
    assert_eq!(designer.get(&path).await["content"], json!({"v": 2}));
}

#[actix_web::test]
async fn every_design_rule_is_refused_with_its_code() {
    let app = TestApp::new();
    let service = app.service().await;
    let designer = Designer { service: &service, token: app.admin() };
    let (loans, wip) = designer.create("Loans", "APPLICATION").await;
    let base = format!("/api/applications/{loans}");

    designer
        .send(post_json(
            "/api/applications",
            &designer.token,
            &json!({"name": "Loans", "type": "APPLICATION"}),
        ))
        .await
        .assert_error(409, "application_name_taken");
    designer
        .send(post_json(
            "/api/applications",
            &designer.token,
            &json!({"name": "X", "type": "APPLICATION", "colour": "red"}),
        ))
        .await
        .assert_error(400, "malformed_json");
    designer
        .send(post_json(&format!("{base}/versions/{wip}/builds"), &designer.token, &json!({})))
        .await
        .assert_error(409, "version_not_committed");
    designer
        .send(post_json(
            &format!("{base}/versions/{wip}/commit"),
            &designer.token,
            &json!({"message": "no: colons allowed"}),
        ))
        .await
        .assert_error(400, "invalid_commit_message");
    designer
        .send(post_json(
            &format!("{base}/versions/{wip}/commit"),
            &designer.token,
            &json!({"message": "x".repeat(51)}),
        ))
        .await
        .assert_error(400, "invalid_commit_message");
    designer
        .send(post_json(
            &resources(&loans, &wip, "MEDIA_FILE"),
            &designer.token,
            &json!({"name": "logo", "content": {"file": format!("binaries/{}", "ab".repeat(32))}}),
        ))
        .await
        .assert_error(400, "unknown_binary");
    designer
        .send(post_json(
            &resources(&loans, &wip, "PROCESS"),
            &designer.token,
            &json!({"name": "p", "content": [1, 2]}),
        ))
        .await
        .assert_error(400, "invalid_request");
    let big = json!({"name": "huge", "content": {"blob": "x".repeat(3 * 1024 * 1024)}});
    designer
        .send(post_json(&resources(&loans, &wip, "PROCESS"), &designer.token, &big))
        .await
        .assert_error(413, "payload_too_large");
    designer
        .post(&resources(&loans, &wip, "PROCESS"), json!({"name": "p", "content": {}}), 201)
        .await;
    designer
        .send(post_json(
            &resources(&loans, &wip, "PROCESS"),
            &designer.token,
            &json!({"name": "p", "content": {}}),
        ))
        .await
        .assert_error(409, "resource_name_taken");
    designer
        .send(delete(&format!("{base}/versions/{wip}"), &designer.token))
        .await
        .assert_error(409, "last_version");

    designer.commit(&loans, &wip, "One").await;
    designer
        .send(post_json(
            &resources(&loans, &wip, "PROCESS"),
            &designer.token,
            &json!({"name": "q", "content": {}}),
        ))
        .await
        .assert_error(409, "version_committed");
    designer
        .send(post_json(
            &format!("{base}/branches"),
            &designer.token,
            &json!({"name": "a-very-long-branch-name", "fromVersionId": wip}),
        ))
        .await
        .assert_error(400, "invalid_request");
    designer
        .post(&format!("{base}/branches"), json!({"name": "feature", "fromVersionId": wip}), 201)
        .await;
    designer
        .send(post_json(
            &format!("{base}/branches"),
            &designer.token,
            &json!({"name": "feature", "fromVersionId": wip}),
        ))
        .await
        .assert_error(409, "branch_exists");
    let next = designer.post(&format!("{base}/branches/main/versions"), json!({}), 201).await;
    let next = next["id"].as_str().unwrap().to_owned();
    designer
        .send(post_json(
            &format!("{base}/branches"),
            &designer.token,
            &json!({"name": "other", "fromVersionId": next}),
        ))
        .await
        .assert_error(409, "version_not_committed");
    designer
        .send(post_json(
            &format!("{base}/versions/{next}/commit"),
            &designer.token,
            &json!({"message": "Same"}),
        ))
        .await
        .assert_error(409, "nothing_to_commit");

    // Dependencies: only on libraries, never on itself or in a cycle.
    let build = designer.build(&loans, &wip, json!({})).await;
    designer
        .send(put_json(
            &format!("{base}/versions/{next}/dependencies/{loans}"),
            &designer.token,
            &json!({"buildId": build["buildId"]}),
        ))
        .await
        .assert_error(409, "dependency_cycle");
    let (project, project_wip) = designer.create("Other project", "APPLICATION").await;
    designer.commit(&project, &project_wip, "Other").await;
    let project_build = designer.build(&project, &project_wip, json!({})).await;
    designer
        .send(put_json(
            &format!("{base}/versions/{next}/dependencies/{project}"),
            &designer.token,
            &json!({"buildId": project_build["buildId"]}),
        ))
        .await
        .assert_error(409, "dependency_not_a_library");
    let (library, library_wip) = designer.create("Lib", "LIBRARY").await;
    designer.commit(&library, &library_wip, "Empty").await;
    let library_build = designer.build(&library, &library_wip, json!({})).await;
    designer
        .put(
            &format!("{base}/versions/{next}/dependencies/{library}"),
            json!({"buildId": library_build["buildId"]}),
            200,
        )
        .await;
    let library_next = designer
        .post(&format!("/api/applications/{library}/branches/main/versions"), json!({}), 201)
        .await;
    let library_next = library_next["id"].as_str().unwrap();
    designer
        .send(put_json(
            &format!("/api/applications/{library}/versions/{library_next}/dependencies/{library}"),
            &designer.token,
            &json!({"buildId": library_build["buildId"]}),
        ))
        .await
        .assert_error(409, "dependency_cycle");
    designer
        .send(delete(&format!("/api/applications/{library}"), &designer.token))
        .await
        .assert_error(409, "library_in_use");

    designer
        .send(get(&format!("/api/applications/{}", uuid::Uuid::new_v4()), &designer.token))
        .await
        .assert_error(404, "application_not_found");
    designer
        .send(get("/api/applications/not-a-uuid", &designer.token))
        .await
        .assert_error(400, "invalid_request");
}

#[actix_web::test]
async fn a_retried_build_creation_with_its_idempotency_key_creates_nothing() {
    let app = TestApp::new();
    let service = app.service().await;
    let designer = Designer { service: &service, token: app.admin() };
    let (loans, wip) = designer.create("Loans", "APPLICATION").await;
    designer.commit(&loans, &wip, "One").await;
    let path = format!("/api/applications/{loans}/versions/{wip}/builds");
    let first = designer
        .send(
            post_json(&path, &designer.token, &json!({}))
                .insert_header(("Idempotency-Key", "release-1")),
        )
        .await;
    assert_eq!(first.status, 201, "{:?}", first.bytes);
    let again = designer
        .send(
            post_json(&path, &designer.token, &json!({}))
                .insert_header(("Idempotency-Key", "release-1")),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json(), first.json(), "the first answer again");
    let other = designer
        .send(
            post_json(&path, &designer.token, &json!({}))
                .insert_header(("Idempotency-Key", "release-2")),
        )
        .await;
    assert_eq!(other.status, 201);
    assert_ne!(other.json()["buildId"], first.json()["buildId"]);
    let builds = designer.get(&format!("/api/build-mgmt/app/{loans}/builds")).await;
    assert_eq!(builds["totalElements"], 2, "two keys, two builds");
}

#[actix_web::test]
async fn the_application_manager_needs_its_permissions() {
    let app = TestApp::new();
    let service = app.service().await;
    send(&service, TestRequest::get().uri("/api/applications"))
        .await
        .assert_error(401, "missing_token");
    let reader = app.token("reader", &[], &["ROLE_APPS_MANAGE_READ"]);
    assert_eq!(send(&service, get("/api/applications", &reader)).await.status, 200);
    send(
        &service,
        post_json("/api/applications", &reader, &json!({"name": "X", "type": "APPLICATION"})),
    )
    .await
    .assert_error(403, "forbidden");
    let editor = app.token("editor", &[], &["ROLE_APPS_MANAGE_EDIT"]);
    let created = send(
        &service,
        post_json("/api/applications", &editor, &json!({"name": "X", "type": "APPLICATION"})),
    )
    .await;
    assert_eq!(created.status, 201);
    let id = created.json()["id"].as_str().unwrap().to_owned();
    send(&service, delete(&format!("/api/applications/{id}"), &editor))
        .await
        .assert_error(403, "forbidden");
    let versions =
        send(&service, get(&format!("/api/applications/{id}/versions"), &editor)).await.json();
    let wip = versions["content"][0]["id"].as_str().unwrap().to_owned();
    send(
        &service,
        post_json(
            &format!("/api/applications/{id}/versions/{wip}/commit"),
            &editor,
            &json!({"message": "One"}),
        ),
    )
    .await;
    send(
        &service,
        post_json(&format!("/api/applications/{id}/versions/{wip}/builds"), &editor, &json!({})),
    )
    .await
    .assert_error(403, "forbidden");
    send(&service, get(&format!("/api/applications/{id}/versions/{wip}/config-params"), &editor))
        .await
        .assert_error(403, "forbidden");
}

#[actix_web::test]
async fn each_role_serves_only_its_own_routes_and_documents() {
    let runtime_only = TestApp::serving(Roles { runtime_manager: true, app_manager: false });
    let service = runtime_only.service().await;
    send(&service, get("/api/applications", &runtime_only.admin()))
        .await
        .assert_error(404, "route_not_found");
    let document = send(&service, TestRequest::get().uri("/v3/api-docs")).await.json();
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.keys().all(|path| !path.starts_with("/api/applications")), "{:?}", paths.keys());
    assert!(paths.contains_key("/api/runtime/app/{appId}/build/info"));

    let design_only = TestApp::serving(Roles { runtime_manager: false, app_manager: true });
    let service = design_only.service().await;
    let token = design_only.admin();
    send(&service, get(&format!("/api/runtime/app/{}/build/info", uuid::Uuid::new_v4()), &token))
        .await
        .assert_error(404, "route_not_found");
    send(&service, get(&format!("/api/build-mgmt/app/{}/builds", uuid::Uuid::new_v4()), &token))
        .await
        .assert_error(404, "route_not_found");
    assert_eq!(send(&service, get("/api/applications", &token)).await.status, 200);
    let document = send(&service, TestRequest::get().uri("/v3/api-docs")).await.json();
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.keys().all(|path| path.starts_with("/api/applications")), "{:?}", paths.keys());
    assert!(paths.contains_key("/api/applications/{appId}/versions/{versionId}/builds"));
}

/// Every route of the Application Manager, with a body it accepts where it takes one.
fn every_route(app: &str, version: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let base = format!("/api/applications/{app}");
    let v = format!("{base}/versions/{version}");
    let definition = "def-1";
    vec![
        ("POST", "/api/applications".to_owned(), Some(json!({"name": "N", "type": "APPLICATION"}))),
        ("GET", "/api/applications".to_owned(), None),
        ("GET", base.clone(), None),
        ("PATCH", base.clone(), Some(json!({"description": "d"}))),
        ("DELETE", base.clone(), None),
        ("GET", format!("{base}/branches"), None),
        ("POST", format!("{base}/branches"), Some(json!({"name": "b", "fromVersionId": version}))),
        ("POST", format!("{base}/branches/main/versions"), None),
        ("GET", format!("{base}/versions"), None),
        ("GET", v.clone(), None),
        ("PATCH", v.clone(), Some(json!({"commitMessage": "M"}))),
        ("DELETE", v.clone(), None),
        ("POST", format!("{v}/commit"), Some(json!({"message": "M"}))),
        ("GET", format!("{v}/manifest"), None),
        ("GET", format!("{v}/resources/PROCESS"), None),
        ("POST", format!("{v}/resources/PROCESS"), Some(json!({"name": "p", "content": {}}))),
        ("GET", format!("{v}/resources/PROCESS/{definition}"), None),
        ("PUT", format!("{v}/resources/PROCESS/{definition}"), Some(json!({"content": {}}))),
        ("DELETE", format!("{v}/resources/PROCESS/{definition}"), None),
        ("GET", format!("{v}/dependencies"), None),
        ("PUT", format!("{v}/dependencies/{app}"), Some(json!({"buildId": version}))),
        ("DELETE", format!("{v}/dependencies/{app}"), None),
        ("GET", format!("{v}/config-params"), None),
        ("PUT", format!("{v}/config-params/k"), Some(json!({"type": "VALUE", "value": "1"}))),
        ("DELETE", format!("{v}/config-params/k"), None),
        (
            "POST",
            format!("{v}/config-params/import"),
            Some(json!([{"key": "k", "type": "VALUE", "value": "1"}])),
        ),
        ("POST", format!("{v}/builds"), Some(json!({}))),
    ]
}

fn request(method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> TestRequest {
    let request = match method {
        "GET" => TestRequest::get(),
        "POST" => TestRequest::post(),
        "PUT" => TestRequest::put(),
        "PATCH" => TestRequest::patch(),
        "DELETE" => TestRequest::delete(),
        other => panic!("no such method {other}"),
    }
    .uri(path);
    let request = match token {
        Some(token) => request.insert_header(("Authorization", format!("Bearer {token}"))),
        None => request,
    };
    match body {
        Some(body) => request.set_json(body),
        None => request,
    }
}

#[actix_web::test]
async fn every_route_refuses_a_missing_token_a_token_without_its_role_and_an_unknown_application() {
    let app = TestApp::new();
    let service = app.service().await;
    let nobody = app.token("nobody", &[], &[]);
    let unknown = uuid::Uuid::new_v4().to_string();
    let version = uuid::Uuid::new_v4().to_string();
    for (method, path, body) in every_route(&unknown, &version) {
        send(&service, request(method, &path, None, body.as_ref()))
            .await
            .assert_error(401, "missing_token");
        let forbidden = send(&service, request(method, &path, Some(&nobody), body.as_ref())).await;
        assert_eq!(
            forbidden.status.as_u16(),
            403,
            "{method} {path} without a role: {:?}",
            forbidden.bytes
        );
        forbidden.assert_error(403, "forbidden");
        if path.starts_with(&format!("/api/applications/{unknown}")) {
            let missing =
                send(&service, request(method, &path, Some(&app.admin()), body.as_ref())).await;
            assert_eq!(
                missing.status.as_u16(),
                404,
                "{method} {path} of an unknown application: {:?}",
                missing.bytes
            );
            let code = missing.json()["code"].as_str().unwrap().to_owned();
            assert_eq!(code, "application_not_found", "{method} {path}");
        }
    }
}

#[actix_web::test]
async fn every_route_of_an_existing_application_refuses_an_unknown_version() {
    let app = TestApp::new();
    let service = app.service().await;
    let designer = Designer { service: &service, token: app.admin() };
    let (loans, _) = designer.create("Loans", "APPLICATION").await;
    let version = uuid::Uuid::new_v4().to_string();
    for (method, path, body) in every_route(&loans, &version) {
        if !path.contains(&version) || path.ends_with("/branches") {
            continue;
        }
        let reply =
            send(&service, request(method, &path, Some(&designer.token), body.as_ref())).await;
        assert_eq!(reply.status.as_u16(), 404, "{method} {path}: {:?}", reply.bytes);
        assert_eq!(reply.json()["code"], "version_not_found", "{method} {path}");
    }
}
