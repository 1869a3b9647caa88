//! The commit point on every read route: a build the runtime store has published but whose
//! header was never written (its importer died in between) is a 404 everywhere, until its
//! header is committed.

use std::collections::BTreeSet;

use build_archive::ArchiveLimits;
use domain::access::AccessRules;
use domain::model::{ApplicationId, Build, ImportOwner};
use domain::ports::{
    BlobKey, BlobStore as _, ImportClaim, ImportLedger as _, RuntimeDataStore as _,
    TimerRegistry as _,
};
use http_api::auth::LocalIssuer;
use test_support::BuildFixture;
use time::{Duration, OffsetDateTime};

use crate::helpers::{TestApp, get, send};

/// Every read route that names the build, by path.
fn read_routes(build: &Build) -> Vec<String> {
    let app = build.header.application_id;
    let id = build.id();
    let entry = &build.manifest[0];
    let (kind, definition, name) = (&entry.resource_type, &entry.definition_id, &entry.name);
    vec![
        format!("/api/runtime/app/{app}/build/{id}/resources/{kind}"),
        format!("/api/runtime/app/{app}/build/{id}/resources/{kind}/{definition}"),
        format!("/api/runtime/app/{app}/build/{id}/resources/{kind}/by-name/{name}"),
        format!("/api/runtime/app/{app}/build/{id}/config-params"),
        format!("/api/runtime-internal/build/{id}"),
        format!("/api/runtime-internal/build/{id}/config-params"),
        format!("/api/build-mgmt/app/{app}/builds/{id}"),
        format!("/api/build-mgmt/app/{app}/builds/{id}/export"),
    ]
}

#[actix_web::test]
async fn a_build_published_without_its_header_is_a_404_on_every_read_route_until_committed() {
    let mut access = AccessRules::default();
    access.set_service_account_clients(BTreeSet::from(["engine".to_owned()]));
    let app = TestApp::with(ArchiveLimits::default(), access, vec![LocalIssuer::ISSUER.to_owned()]);
    let service = app.service().await;
    let token = app.client_token("engine", &["ROLE_BUILDS_MANAGE_READ"]);
    let build = BuildFixture::new(ApplicationId::random()).resources(2).build();
    // What an importer that died after publishing leaves: the archive, the runtime data.
    let archive = bytes::Bytes::from_static(b"the archive");
    app.fakes.blobs.put(&BlobKey::build_archive(build.id()), archive).await.unwrap();
    let resources = test_support::resources_of(&build);
    app.fakes.runtime_data.stage_resources(build.id(), &resources).await.unwrap();
    app.fakes.runtime_data.publish_build(&build).await.unwrap();

    for path in read_routes(&build) {
        send(&service, get(&path, &token)).await.assert_error(404, "build_not_found");
    }

    let now = OffsetDateTime::now_utc();
    let claim = ImportClaim {
        build_id: build.id(),
        owner: ImportOwner::random(),
        checksum: build.header.checksum.clone(),
        claimed_at: now,
        expires_at: now + Duration::minutes(15),
    };
    app.fakes.app_data.claim_import(&claim).await.unwrap();
    let current =
        app.fakes.app_data.find_timer_schedule(build.header.application_id).await.unwrap();
    let schedule = current.move_to(current.build_id);
    app.fakes
        .app_data
        .complete_import(&build.header, claim.owner, &[], &schedule, &[])
        .await
        .unwrap();
    for path in read_routes(&build) {
        let reply = send(&service, get(&path, &token)).await;
        assert_eq!(reply.status, 200, "{path} of the committed build: {:?}", reply.bytes);
    }
}
