//! Import, list, read, export and delete builds.

use domain::ports::{BlobKey, Outbox as _};
use serde_json::json;

use crate::helpers::{
    LIBRARY_APP, LIBRARY_BUILD, LOAN_APP, LOAN_BUILD_1, LOAN_BUILD_2, TestApp, delete, edit_json,
    entries_of, example, get, import_examples, post_json, put_json, rewritten, send, upload,
};

const IMPORT: &str = "/api/build-mgmt/builds/import";

#[actix_web::test]
async fn an_import_stores_the_build_everywhere_and_records_its_events() {
    let app = TestApp::new();
    let service = app.service().await;
    let reply = send(&service, upload(IMPORT, &app.admin(), &example("shared-library-1"))).await;
    assert_eq!(reply.status, 201, "{}", reply.json());
    let body = reply.json();
    assert_eq!(
        (body["buildId"].clone(), body["applicationId"].clone()),
        (json!(LIBRARY_BUILD), json!(LIBRARY_APP))
    );
    assert_eq!(body["status"], "CREATED");
    assert_eq!(body["checksum"].as_str().unwrap().len(), 64);

    let build_id = domain::model::BuildId::parse(LIBRARY_BUILD).unwrap();
    assert_eq!(app.fakes.runtime_data.stored_build_ids(), vec![build_id]);
    assert!(app.fakes.blobs.keys().contains(&BlobKey::build_archive(build_id)));
    let events = app.fakes.app_data.pending_events(100).await.unwrap();
    assert!(
        events
            .iter()
            .any(|record| matches!(record.event, domain::model::DomainEvent::BuildImported { .. }))
    );
    assert!(events.iter().any(|record| matches!(&record.event, domain::model::DomainEvent::Audit(audit) if audit.username == "operator")));
}

#[actix_web::test]
async fn the_same_archive_twice_changes_nothing() {
    let app = TestApp::new();
    let service = app.service().await;
    let archive = example("shared-library-1");
    assert_eq!(send(&service, upload(IMPORT, &app.admin(), &archive)).await.status, 201);
    let events_before = app.fakes.app_data.pending_events(100).await.unwrap();
    let reply = send(&service, upload(IMPORT, &app.admin(), &archive)).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["status"], "UNCHANGED");
    assert_eq!(
        app.fakes.app_data.pending_events(100).await.unwrap(),
        events_before,
        "no new event"
    );
}

#[actix_web::test]
async fn a_reimport_with_another_checksum_is_a_409() {
    let app = TestApp::new();
    let service = app.service().await;
    let archive = example("shared-library-1");
    assert_eq!(send(&service, upload(IMPORT, &app.admin(), &archive)).await.status, 201);
    let changed = rewritten(&archive, |entries| {
        edit_json(entries, "config-params.json", |params| {
            params[0]["value"] = json!("help@example.com")
        });
    });
    send(&service, upload(IMPORT, &app.admin(), &changed))
        .await
        .assert_error(409, "build_checksum_conflict");
    let param = &app.fakes.runtime_data.stored_build_ids();
    assert_eq!(param.len(), 1, "the stored build is untouched");
}

#[actix_web::test]
async fn a_build_whose_library_is_not_imported_is_a_409_and_stores_nothing() {
    let app = TestApp::new();
    let service = app.service().await;
    send(&service, upload(IMPORT, &app.admin(), &example("loan-origination-1")))
        .await
        .assert_error(409, "missing_dependency");
    app.assert_nothing_stored().await;
}

#[actix_web::test]
async fn an_application_route_refuses_a_build_of_another_application() {
    let app = TestApp::new();
    let service = app.service().await;
    let path = format!("/api/build-mgmt/app/{LOAN_APP}/builds/import");
    send(&service, upload(&path, &app.admin(), &example("shared-library-1")))
        .await
        .assert_error(400, "application_mismatch");
    app.assert_nothing_stored().await;
    let path = format!("/api/build-mgmt/app/{LIBRARY_APP}/builds/import");
    assert_eq!(
        send(&service, upload(&path, &app.admin(), &example("shared-library-1"))).await.status,
        201
    );
}

#[actix_web::test]
async fn import_needs_the_import_scope() {
    let app = TestApp::new();
    let service = app.service().await;
    let reader = app.token("alice", &[], &["ROLE_BUILDS_MANAGE_READ"]);
    send(&service, upload(IMPORT, &reader, &example("shared-library-1")))
        .await
        .assert_error(403, "forbidden");
    let importer = app.token("alice", &[], &["ROLE_BUILDS_MANAGE_IMPORT"]);
    assert_eq!(
        send(&service, upload(IMPORT, &importer, &example("shared-library-1"))).await.status,
        201
    );
}

#[actix_web::test]
async fn builds_are_listed_newest_first_with_paging() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let list = format!("/api/build-mgmt/app/{LOAN_APP}/builds");
    let page = send(&service, get(&list, &app.admin())).await.json();
    let ids: Vec<&str> = page["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|build| build["buildId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [LOAN_BUILD_2, LOAN_BUILD_1]);
    assert_eq!(page["totalElements"], 2);
    let second = send(&service, get(&format!("{list}?page=1&size=1"), &app.admin())).await.json();
    assert_eq!(second["content"][0]["buildId"], LOAN_BUILD_1);
    assert_eq!(second["content"][0]["origin"], "IMPORTED");
    send(&service, get(&format!("{list}?sort=name"), &app.admin()))
        .await
        .assert_error(400, "invalid_query");
}

#[actix_web::test]
async fn a_build_is_read_whole() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let build = send(
        &service,
        get(&format!("/api/build-mgmt/app/{LOAN_APP}/builds/{LOAN_BUILD_1}"), &app.admin()),
    )
    .await
    .json();
    assert_eq!(build["versionTag"], "1.0.0");
    assert_eq!(
        build["dependencies"],
        json!([{"applicationId": LIBRARY_APP, "buildId": LIBRARY_BUILD}])
    );
    assert_eq!(build["manifest"].as_array().unwrap().len(), 5);
    assert_eq!(build["languages"], json!(["en", "ro"]));
    let secret = build["configParams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|param| param["type"] == "ENV_SECRET")
        .unwrap();
    assert_eq!(secret["value"], "CREDIT_BUREAU_API_KEY", "the variable's name, never a secret");
    send(
        &service,
        get(&format!("/api/build-mgmt/app/{LOAN_APP}/builds/{LIBRARY_BUILD}"), &app.admin()),
    )
    .await
    .assert_error(404, "build_not_found");
}

#[actix_web::test]
async fn an_export_is_the_imported_archive_and_imports_elsewhere_with_or_without_binaries() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let path = format!("/api/build-mgmt/app/{LOAN_APP}/builds/{LOAN_BUILD_1}/export");
    let full = send(&service, get(&path, &app.admin())).await;
    assert_eq!(full.status, 200);
    assert_eq!(full.headers.get("content-type").unwrap(), "application/zip");
    assert_eq!(full.bytes.as_ref(), example("loan-origination-1").as_slice(), "byte for byte");

    let slim = send(&service, get(&format!("{path}?withBinaries=false"), &app.admin())).await;
    assert!(
        entries_of(&slim.bytes).iter().all(|(name, _)| !name.starts_with("binaries/")),
        "no binaries"
    );

    let elsewhere = TestApp::new();
    let other = elsewhere.service().await;
    assert_eq!(
        send(&other, upload(IMPORT, &elsewhere.admin(), &example("shared-library-1"))).await.status,
        201
    );
    let reply = send(&other, upload(IMPORT, &elsewhere.admin(), &slim.bytes)).await;
    assert_eq!(reply.status, 201, "{}", reply.json());
    let original = send(
        &service,
        get(&format!("/api/build-mgmt/app/{LOAN_APP}/builds/{LOAN_BUILD_1}"), &app.admin()),
    )
    .await
    .json();
    assert_eq!(
        reply.json()["checksum"],
        original["checksum"],
        "the same build, with or without binaries"
    );
}

#[actix_web::test]
async fn a_build_in_use_cannot_be_deleted_and_an_unused_one_is_gone_everywhere() {
    let app = TestApp::new();
    let service = app.service().await;
    import_examples(&service, &app).await;
    let policy = format!("/api/build-mgmt/app/{LOAN_APP}/active-policy");
    send(
        &service,
        put_json(&policy, &app.admin(), &json!({"type": "BUILD", "buildId": LOAN_BUILD_1})),
    )
    .await;
    let override_body = json!({"subjectType": "USER", "subjectId": "dana", "type": "BUILD", "buildId": LOAN_BUILD_2});
    send(&service, post_json(&format!("{policy}/overrides"), &app.admin(), &override_body)).await;

    for build in [LOAN_BUILD_1, LOAN_BUILD_2] {
        let path = format!("/api/build-mgmt/app/{LOAN_APP}/builds/{build}");
        send(&service, delete(&path, &app.admin())).await.assert_error(409, "build_in_use");
    }
    send(
        &service,
        put_json(&policy, &app.admin(), &json!({"type": "LATEST_ON_BRANCH", "branch": "main"})),
    )
    .await;
    let path = format!("/api/build-mgmt/app/{LOAN_APP}/builds/{LOAN_BUILD_1}");
    let editor = app.token("alice", &[], &["ROLE_BUILDS_MANAGE_EDIT"]);
    send(&service, delete(&path, &editor)).await.assert_error(403, "forbidden");
    assert_eq!(send(&service, delete(&path, &app.admin())).await.status, 204);
    send(&service, get(&path, &app.admin())).await.assert_error(404, "build_not_found");
    send(&service, delete(&path, &app.admin())).await.assert_error(404, "build_not_found");
    let build_id = domain::model::BuildId::parse(LOAN_BUILD_1).unwrap();
    assert!(!app.fakes.runtime_data.stored_build_ids().contains(&build_id));
    assert!(!app.fakes.blobs.keys().contains(&BlobKey::build_archive(build_id)));
}
