//! `BuildCreationService`: a committed version becomes a build exactly as an import of its
//! archive would store it; a WIP never does; an idempotency key makes a retry safe.

use std::sync::Arc;

use adapter_memory::FailureKind;
use build_archive::{ArchiveLimits, ArchivePackager};
use domain::DomainError;
use domain::builds::{BuildService, ImportOutcome};
use domain::design::model::IdempotencyKey;
use domain::design::{BuildCreationService, CreatedBuild, NewBuild};
use domain::error::Conflict;
use domain::model::{
    ApplicationKind, AuditAction, BuildOrigin, DomainEvent, EntityRef, PageRequest, VersionId,
};
use domain::ports::{BlobKey, BlobStore as _, RuntimeDataStore as _};

use crate::design_helpers::{DesignEnv, process};
use crate::helpers::{Env, admin, code_of};

fn creation(design: &DesignEnv) -> BuildCreationService {
    let ports = design.env.fakes.ports();
    let packager = Arc::new(ArchivePackager::new(ArchiveLimits::default()));
    BuildCreationService::new(ports.clone(), BuildService::new(ports), packager)
}

/// An application with two processes, committed; its id and the committed version.
async fn committed_application(design: &DesignEnv) -> (domain::model::ApplicationId, VersionId) {
    let application = design.create("Loans", ApplicationKind::Application).await.application;
    let wip = design.main_wip(application.id).await;
    design.add_process(application.id, wip, "apply", r#"{"nodes":[{"id":"start"}]}"#).await;
    design.add_process(application.id, wip, "review", r#"{"nodes":[]}"#).await;
    design.commit(application.id, wip).await;
    (application.id, wip)
}

#[tokio::test]
async fn a_committed_version_is_stored_as_the_import_of_its_archive_would_store_it() {
    let design = DesignEnv::new();
    let (application_id, version_id) = committed_application(&design).await;
    let before = design.env.pending_for(application_id).await.len();

    let created = creation(&design)
        .create(&admin(), application_id, version_id, NewBuild::default(), None)
        .await
        .expect("creating a build");

    let CreatedBuild::Created(header) = created else { panic!("a new build: {created:?}") };
    assert_eq!(header.origin, BuildOrigin::Created);
    assert_eq!(header.application_version_id, version_id);
    assert_eq!(header.name, "Loans", "the name defaults to the application's");
    let build =
        design.env.fakes.runtime_data.find_build(header.id).await.unwrap().expect("published");
    let names: Vec<&str> = build.manifest.iter().map(|entry| entry.name.as_str()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"apply") && names.contains(&"review"), "{names:?}");
    let apply = design
        .env
        .fakes
        .runtime_data
        .find_resource_by_name(header.id, &process(), &"apply".parse().unwrap())
        .await
        .unwrap()
        .expect("the resource is in the runtime store");
    assert_eq!(apply.content.as_str(), r#"{"nodes":[{"id":"start"}]}"#, "content byte for byte");
    let events = design.env.pending_for(application_id).await;
    assert!(
        matches!(&events[before..], [DomainEvent::BuildCreated { build_id, application_version_id, .. }, DomainEvent::ActivePolicyUpdated { .. }, DomainEvent::Audit(audit)]
            if *build_id == header.id && *application_version_id == version_id && audit.action == AuditAction::CreateBuild && audit.entity == EntityRef::Build(header.id)),
        "{:?}",
        &events[before..]
    );

    // Its archive imports into another installation as the same build.
    let archive = design
        .env
        .fakes
        .blobs
        .get(&BlobKey::build_archive(header.id))
        .await
        .unwrap()
        .expect("the archive is stored");
    let request =
        build_archive::read_archive(archive, &ArchiveLimits::default()).expect("readable");
    let elsewhere = Env::new();
    match elsewhere.builds.import(&admin(), request).await.expect("importing elsewhere") {
        ImportOutcome::Created(imported) => {
            assert_eq!(imported.id, header.id);
            assert_eq!(imported.checksum, header.checksum);
            assert_eq!(imported.origin, BuildOrigin::Imported);
        }
        other => panic!("a new build elsewhere: {other:?}"),
    }
}

#[tokio::test]
async fn a_wip_version_is_not_built_and_nothing_is_stored() {
    let design = DesignEnv::new();
    let application = design.create("Loans", ApplicationKind::Application).await.application;
    let wip = design.main_wip(application.id).await;

    let refused =
        creation(&design).create(&admin(), application.id, wip, NewBuild::default(), None).await;

    assert_eq!(code_of(refused), "version_not_committed");
    assert!(design.env.fakes.runtime_data.stored_build_ids().is_empty());
    let listed = design.env.builds.list(application.id, PageRequest::default()).await.unwrap();
    assert_eq!(listed.total, 0);
}

#[tokio::test]
async fn an_empty_name_is_refused() {
    let design = DesignEnv::new();
    let (application_id, version_id) = committed_application(&design).await;
    let named = NewBuild { name: Some("  ".to_owned()), ..NewBuild::default() };
    let refused = creation(&design).create(&admin(), application_id, version_id, named, None).await;
    assert_eq!(code_of(refused), "invalid_request");
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_first_build_and_creates_nothing() {
    let design = DesignEnv::new();
    let (application_id, version_id) = committed_application(&design).await;
    let service = creation(&design);
    let key = IdempotencyKey::parse("release-42").unwrap();

    let first = service
        .create(&admin(), application_id, version_id, NewBuild::default(), Some(&key))
        .await
        .unwrap();
    let again = service
        .create(&admin(), application_id, version_id, NewBuild::default(), Some(&key))
        .await
        .unwrap();

    assert!(matches!(first, CreatedBuild::Created(_)));
    assert_eq!(again, CreatedBuild::Replayed(first.header().clone()));
    assert_eq!(design.env.fakes.runtime_data.stored_build_ids(), [first.header().id]);
}

#[tokio::test]
async fn a_creation_that_failed_midway_leaves_nothing_and_its_retry_makes_the_build() {
    let design = DesignEnv::new();
    let (application_id, version_id) = committed_application(&design).await;
    let service = creation(&design);
    let key = IdempotencyKey::parse("release-43").unwrap();

    design.env.fakes.runtime_data.fail_after_calls(1, FailureKind::Unavailable);
    let failed =
        service.create(&admin(), application_id, version_id, NewBuild::default(), Some(&key)).await;
    assert_eq!(code_of(failed), "service_unavailable");
    assert!(design.env.fakes.runtime_data.stored_build_ids().is_empty(), "nothing half-written");
    let listed = design.env.builds.list(application_id, PageRequest::default()).await.unwrap();
    assert_eq!(listed.total, 0, "no header");

    let retried = service
        .create(&admin(), application_id, version_id, NewBuild::default(), Some(&key))
        .await
        .expect("the retry succeeds");
    assert!(matches!(retried, CreatedBuild::Created(_)));
    let listed = design.env.builds.list(application_id, PageRequest::default()).await.unwrap();
    assert_eq!(listed.total, 1);
}

#[tokio::test]
async fn two_creations_racing_with_one_key_make_one_build() {
    let design = DesignEnv::new();
    let (application_id, version_id) = committed_application(&design).await;
    let service = creation(&design);
    let key = IdempotencyKey::parse("release-44").unwrap();

    // Packing runs on a blocking thread, so the two requests interleave there.
    let (first, second) = (admin(), admin());
    let (one, two) = tokio::join!(
        service.create(&first, application_id, version_id, NewBuild::default(), Some(&key)),
        service.create(&second, application_id, version_id, NewBuild::default(), Some(&key)),
    );

    // Exactly one made the build; the other answers with it, or, when it asked while the
    // first was still storing (resources are staged batch by batch), with
    // `import_in_progress` for that very build (a retry then answers with it).
    let (made, other) = match (one, two) {
        (Ok(CreatedBuild::Created(header)), other) | (other, Ok(CreatedBuild::Created(header))) => {
            (header, other)
        }
        (one, two) => panic!("exactly one makes the build: {one:?} {two:?}"),
    };
    match other {
        Ok(CreatedBuild::Replayed(header)) => assert_eq!(header, made),
        Err(DomainError::Conflict(Conflict::ImportInProgress(build_id))) => {
            assert_eq!(build_id, made.id);
            let retried = service
                .create(&admin(), application_id, version_id, NewBuild::default(), Some(&key))
                .await
                .expect("the retry answers");
            assert_eq!(retried, CreatedBuild::Replayed(made.clone()));
        }
        other => panic!("the other answers with the build made: {other:?}"),
    }
    assert_eq!(design.env.fakes.runtime_data.stored_build_ids(), [made.id]);
}
