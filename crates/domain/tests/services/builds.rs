//! `BuildService`: import, list, read, export and delete.

use adapter_memory::FailureKind;
use bytes::Bytes;
use domain::builds::{ImportOutcome, ImportedBinary};
use domain::model::{
    ApplicationId, AuditAction, BuildId, DomainEvent, EntityRef, ImportOwner, PageRequest,
    PolicyTarget, SubjectType,
};
use domain::ports::{
    BlobKey, BlobStore, BuildCatalog, Cache, ImportClaim, ImportLedger, RuntimeDataStore,
};
use test_support::BuildFixture;
use time::{Duration, OffsetDateTime};

use crate::helpers::{Env, admin, archive_of, code_of, minutes_ago, request};

/// Asserts that nothing of `build_id` is stored anywhere and that no claim holds it.
async fn assert_nothing_left(env: &Env, build_id: BuildId, context: &str) {
    let header = env.fakes.app_data.find_build_header(build_id).await.expect("header read");
    assert_eq!(header, None, "{context}: no header");
    assert!(
        !env.fakes.runtime_data.stored_build_ids().contains(&build_id),
        "{context}: nothing in the runtime store, staged or published"
    );
    let archive = env.fakes.blobs.get(&BlobKey::build_archive(build_id)).await.expect("blob read");
    assert_eq!(archive, None, "{context}: no archive");
    assert!(env.fakes.app_data.import_claims().is_empty(), "{context}: the claim is released");
}

#[tokio::test]
async fn an_imported_build_is_stored_everywhere_and_announced() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let new = BuildFixture::new(application_id).resources(3).build();
    let binary = ImportedBinary {
        sha256: test_support::checksum().to_string(),
        bytes: Bytes::from_static(b"png"),
    };
    let mut import = request(&new);
    import.binaries.push(binary.clone());

    let outcome = env.builds.import(&admin(), import).await.expect("import");

    let ImportOutcome::Created(header) = outcome else {
        panic!("a new build is created, got {outcome:?}")
    };
    assert_eq!(header.checksum, new.header.checksum);
    assert_eq!(
        env.fakes.app_data.find_build_header(new.id()).await.expect("header read"),
        Some(header.clone()),
        "the header is the commit point"
    );
    let published = env
        .fakes
        .runtime_data
        .find_build(new.id())
        .await
        .expect("runtime read")
        .expect("the build is published");
    assert_eq!(published.manifest, new.manifest);
    assert_eq!(
        env.fakes.blobs.get(&BlobKey::build_archive(new.id())).await.expect("blob read"),
        Some(archive_of(&new))
    );
    let binary_key = BlobKey::binary(&binary.sha256).expect("binary key");
    assert_eq!(env.fakes.blobs.get(&binary_key).await.expect("blob read"), Some(binary.bytes));
    assert!(env.fakes.app_data.import_claims().is_empty(), "the claim is dropped");
    let events = env.pending_for(application_id).await;
    assert!(
        matches!(events.as_slice(), [DomainEvent::BuildImported { build_id, .. }, DomainEvent::ActivePolicyUpdated { .. }, DomainEvent::Audit(_)] if *build_id == new.id()),
        "import events, got {events:?}"
    );
}

#[tokio::test]
async fn importing_the_same_build_twice_is_unchanged_and_records_nothing_more() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let same = BuildFixture::new(application_id).resources(2).build();
    let first = env.import(&same).await;
    let events_before = env.pending().await;
    let blobs_before = env.fakes.blobs.keys();

    let outcome = env.builds.import(&admin(), request(&same)).await.expect("second import");

    assert_eq!(outcome, ImportOutcome::Unchanged(first.clone()));
    assert_eq!(env.pending().await, events_before, "no extra event");
    assert_eq!(env.fakes.blobs.keys(), blobs_before, "no extra blob");
    assert_eq!(
        env.fakes.app_data.find_build_header(same.id()).await.expect("header read"),
        Some(first),
        "the header is untouched"
    );
}

#[tokio::test]
async fn the_same_build_id_with_another_checksum_is_a_checksum_conflict() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let original = BuildFixture::new(application_id).resources(1).build();
    env.import(&original).await;
    let mut other_content = original.clone();
    other_content.header.checksum = test_support::checksum();

    let result = env.builds.import(&admin(), request(&other_content)).await;

    assert_eq!(code_of(result), "build_checksum_conflict");
    let header = env
        .fakes
        .app_data
        .find_build_header(original.id())
        .await
        .expect("header read")
        .expect("header kept");
    assert_eq!(header.checksum, original.header.checksum, "the stored build keeps its checksum");
    assert_eq!(
        env.fakes.blobs.get(&BlobKey::build_archive(original.id())).await.expect("blob read"),
        Some(archive_of(&original)),
        "the archive is the original's"
    );
}

#[tokio::test]
async fn an_import_for_another_application_is_an_application_mismatch() {
    let env = Env::new();
    let new = BuildFixture::new(ApplicationId::random()).resources(1).build();
    let mut import = request(&new);
    import.expected_application = Some(ApplicationId::random());

    let result = env.builds.import(&admin(), import).await;

    assert_eq!(code_of(result), "application_mismatch");
    assert_nothing_left(&env, new.id(), "a refused import").await;
}

#[tokio::test]
async fn a_dependency_that_is_not_imported_is_a_missing_dependency() {
    let env = Env::new();
    let library = BuildFixture::new(ApplicationId::random()).library().resources(1).build();
    let project =
        BuildFixture::new(ApplicationId::random()).resources(1).depending_on(&library).build();

    let result = env.builds.import(&admin(), request(&project)).await;

    assert_eq!(code_of(result), "missing_dependency");
    assert_nothing_left(&env, project.id(), "a refused import").await;
}

#[tokio::test]
async fn a_dependency_naming_the_wrong_library_is_a_missing_dependency() {
    let env = Env::new();
    let library = BuildFixture::new(ApplicationId::random()).library().resources(1).build();
    env.import(&library).await;
    let mut project =
        BuildFixture::new(ApplicationId::random()).resources(1).depending_on(&library).build();
    project.dependencies[0].application_id = ApplicationId::random();

    let result = env.builds.import(&admin(), request(&project)).await;

    assert_eq!(code_of(result), "missing_dependency");
}

#[tokio::test]
async fn a_dependency_on_a_project_is_refused_as_not_a_library() {
    let env = Env::new();
    let other_project = BuildFixture::new(ApplicationId::random()).resources(1).build();
    env.import(&other_project).await;
    let project = BuildFixture::new(ApplicationId::random())
        .resources(1)
        .depending_on(&other_project)
        .build();

    let result = env.builds.import(&admin(), request(&project)).await;

    assert_eq!(code_of(result), "dependency_not_a_library");
    assert_nothing_left(&env, project.id(), "a refused import").await;
}

#[tokio::test]
async fn a_build_depending_on_an_imported_library_is_imported() {
    let env = Env::new();
    let library = BuildFixture::new(ApplicationId::random()).library().resources(1).build();
    env.import(&library).await;
    let project =
        BuildFixture::new(ApplicationId::random()).resources(1).depending_on(&library).build();

    let outcome = env.builds.import(&admin(), request(&project)).await.expect("import");

    assert!(matches!(outcome, ImportOutcome::Created(_)), "got {outcome:?}");
}

#[tokio::test]
async fn a_build_whose_resources_do_not_match_its_manifest_is_invalid() {
    let env = Env::new();
    let new = BuildFixture::new(ApplicationId::random()).resources(2).build();
    let mut import = request(&new);
    import.resources.pop();

    let result = env.builds.import(&admin(), import).await;

    assert_eq!(code_of(result), "invalid_request");
    assert_nothing_left(&env, new.id(), "a refused import").await;
}

#[tokio::test]
async fn an_import_while_another_holds_the_claim_is_import_in_progress() {
    let env = Env::new();
    let new = BuildFixture::new(ApplicationId::random()).resources(1).build();
    let now = OffsetDateTime::now_utc();
    let claim = ImportClaim {
        build_id: new.id(),
        owner: ImportOwner::random(),
        checksum: new.header.checksum.clone(),
        claimed_at: now,
        expires_at: now + Duration::minutes(15),
    };
    env.fakes.app_data.claim_import(&claim).await.expect("another importer's claim");

    let result = env.builds.import(&admin(), request(&new)).await;

    assert_eq!(code_of(result), "import_in_progress");
    assert_eq!(env.fakes.app_data.import_claims(), [claim], "the other importer keeps its claim");
    assert!(env.fakes.runtime_data.stored_build_ids().is_empty(), "nothing is written");
    assert!(env.fakes.blobs.keys().is_empty(), "nothing is written");
}

#[tokio::test]
async fn an_import_takes_over_a_claim_that_expired() {
    let env = Env::new();
    let new = BuildFixture::new(ApplicationId::random()).resources(1).build();
    let died_at = minutes_ago(30);
    let stale = ImportClaim {
        build_id: new.id(),
        owner: ImportOwner::random(),
        checksum: new.header.checksum.clone(),
        claimed_at: died_at,
        expires_at: died_at + Duration::minutes(15),
    };
    env.fakes.app_data.claim_import(&stale).await.expect("a dead importer's claim");

    let outcome = env.builds.import(&admin(), request(&new)).await.expect("import");

    assert!(matches!(outcome, ImportOutcome::Created(_)), "got {outcome:?}");
    assert!(env.fakes.app_data.import_claims().is_empty());
}

#[tokio::test]
async fn a_runtime_store_failure_at_publish_leaves_nothing_and_a_retry_succeeds() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let new = BuildFixture::new(application_id).resources(3).build();
    // Import calls the runtime store to discard leftovers, to stage, then to publish.
    env.fakes.runtime_data.fail_after_calls(2, FailureKind::Unavailable);

    let result = env.builds.import(&admin(), request(&new)).await;

    assert_eq!(code_of(result), "service_unavailable");
    assert_nothing_left(&env, new.id(), "after a failed publish").await;
    assert!(env.pending_for(application_id).await.is_empty(), "no event for a failed import");
    let retry = env.builds.import(&admin(), request(&new)).await.expect("retry");
    assert!(matches!(retry, ImportOutcome::Created(_)), "got {retry:?}");
}

#[tokio::test]
async fn a_blob_store_failure_at_the_archive_leaves_nothing_and_a_retry_succeeds() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let new = BuildFixture::new(application_id).resources(1).build();
    let mut import = request(&new);
    import.binaries.push(ImportedBinary {
        sha256: test_support::checksum().to_string(),
        bytes: Bytes::from_static(b"icon"),
    });
    // The binary is stored first, then the archive.
    env.fakes.blobs.fail_after_calls(1, FailureKind::Backend);

    let result = env.builds.import(&admin(), import.clone()).await;

    assert_eq!(code_of(result), "internal_error");
    assert_nothing_left(&env, new.id(), "after a failed archive upload").await;
    assert!(env.pending_for(application_id).await.is_empty(), "no event for a failed import");
    let retry = env.builds.import(&admin(), import).await.expect("retry");
    assert!(matches!(retry, ImportOutcome::Created(_)), "got {retry:?}");
}

#[tokio::test]
async fn a_failure_to_commit_the_header_undoes_the_published_build() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let new = BuildFixture::new(application_id).resources(2).build();
    // Import reads the header, claims, reads the header again, then completes: the
    // completion fails.
    env.fakes.app_data.fail_after_calls(3, FailureKind::Unavailable);

    let result = env.builds.import(&admin(), request(&new)).await;

    assert_eq!(code_of(result), "service_unavailable");
    assert_nothing_left(&env, new.id(), "after a failed commit").await;
    let retry = env.builds.import(&admin(), request(&new)).await.expect("retry");
    assert!(matches!(retry, ImportOutcome::Created(_)), "got {retry:?}");
}

#[tokio::test]
async fn builds_are_listed_newest_first_and_read_whole() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let old = BuildFixture::new(application_id).resources(1).created_at(minutes_ago(10)).build();
    let new = BuildFixture::new(application_id).resources(2).build();
    env.import(&new).await;
    env.import(&old).await;
    env.import(&BuildFixture::new(ApplicationId::random()).resources(1).build()).await;

    let listed = env.builds.list(application_id, PageRequest::default()).await.expect("list");
    let whole = env.builds.get(application_id, new.id()).await.expect("get");
    let foreign = env.builds.get(ApplicationId::random(), new.id()).await;

    let ids: Vec<BuildId> = listed.items.iter().map(|header| header.id).collect();
    assert_eq!(ids, [new.id(), old.id()]);
    assert_eq!(whole.manifest, new.manifest);
    assert_eq!(whole.settings, new.settings);
    assert_eq!(code_of(foreign), "build_not_found");
}

#[tokio::test]
async fn an_export_returns_the_imported_archive_byte_for_byte() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let exported = BuildFixture::new(application_id).resources(1).build();
    env.import(&exported).await;

    let before = env.pending_for(application_id).await.len();
    let domain::builds::ExportedBuild { header, archive, timers } =
        env.builds.export(&admin(), application_id, exported.id()).await.expect("export");
    assert!(timers.is_empty(), "the build has no timers");
    let foreign = env.builds.export(&admin(), ApplicationId::random(), exported.id()).await;

    assert_eq!(header.id, exported.id());
    assert_eq!(archive, archive_of(&exported));
    assert_eq!(code_of(foreign), "build_not_found");
    let events = env.pending_for(application_id).await;
    assert!(
        matches!(&events[before..], [DomainEvent::Audit(audit)] if audit.action == AuditAction::ExportBuild && audit.entity == EntityRef::Build(exported.id())),
        "an export is audited once: {:?}",
        &events[before..]
    );
    env.fakes
        .blobs
        .delete(&BlobKey::build_archive(exported.id()))
        .await
        .expect("losing the archive");
    assert_eq!(
        code_of(env.builds.export(&admin(), application_id, exported.id()).await),
        "internal_error",
        "a lost archive is a server fault"
    );
}

#[tokio::test]
async fn a_build_named_by_the_global_policy_or_an_override_is_in_use() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let (by_policy, by_override) = (
        BuildFixture::new(application_id).resources(1).build(),
        BuildFixture::new(application_id).resources(1).build(),
    );
    env.import(&by_policy).await;
    env.import(&by_override).await;
    env.set_policy(application_id, PolicyTarget::Build(by_policy.id())).await;
    env.add_override(
        application_id,
        SubjectType::Group,
        "team",
        PolicyTarget::Build(by_override.id()),
    )
    .await;

    for in_use in [&by_policy, &by_override] {
        let result = env.builds.delete(&admin(), application_id, in_use.id()).await;

        assert_eq!(code_of(result), "build_in_use");
        assert!(
            env.fakes.app_data.find_build_header(in_use.id()).await.expect("header read").is_some(),
            "the header stays"
        );
        assert!(
            env.fakes.runtime_data.find_build(in_use.id()).await.expect("runtime read").is_some(),
            "the runtime build stays"
        );
    }
}

#[tokio::test]
async fn a_deleted_build_is_gone_everywhere_and_announced() {
    let env = Env::new();
    let application_id = ApplicationId::random();
    let doomed = BuildFixture::new(application_id).resources(2).build();
    env.import(&doomed).await;
    env.builds.get(application_id, doomed.id()).await.expect("reading warms the cache");
    assert!(env.fakes.cache.get_build_summary(doomed.id()).await.expect("cache read").is_some());
    let before = env.pending_for(application_id).await.len();

    env.builds.delete(&admin(), application_id, doomed.id()).await.expect("delete");

    assert_nothing_left(&env, doomed.id(), "after delete").await;
    assert_eq!(
        env.fakes.cache.get_build_summary(doomed.id()).await.expect("cache read"),
        None,
        "the cached build is evicted"
    );
    let events = env.pending_for(application_id).await;
    assert!(
        matches!(events[before..], [DomainEvent::BuildDeleted { build_id, .. }, DomainEvent::ActivePolicyUpdated { .. }, DomainEvent::Audit(_)] if build_id == doomed.id()),
        "delete events, got {events:?}"
    );
    assert_eq!(code_of(env.builds.get(application_id, doomed.id()).await), "build_not_found");
    assert_eq!(
        code_of(env.builds.delete(&admin(), application_id, doomed.id()).await),
        "build_not_found",
        "deleting twice"
    );
}

#[tokio::test]
async fn a_build_is_deleted_only_through_its_own_application() {
    let env = Env::new();
    let kept = BuildFixture::new(ApplicationId::random()).resources(1).build();
    env.import(&kept).await;

    let result = env.builds.delete(&admin(), ApplicationId::random(), kept.id()).await;

    assert_eq!(code_of(result), "build_not_found");
    assert!(env.fakes.app_data.find_build_header(kept.id()).await.expect("header read").is_some());
}
