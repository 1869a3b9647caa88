//! The commit point on reads: a build the runtime store has published but whose header was
//! never written (its importer died in between) is invisible to every use case, and is not
//! cached; once its header is committed it is visible everywhere.

use domain::model::{ApplicationId, Build, ImportOwner, PageRequest};
use domain::ports::{
    BlobStore, BuildCatalog, Cache, ImportClaim, ImportLedger, RuntimeDataStore, TimerRegistry,
};
use test_support::BuildFixture;
use time::{Duration, OffsetDateTime};

use crate::helpers::{Env, admin, code_of};

/// Writes `build` to the runtime store the way an import does, up to and including its
/// publication, and stops there: the header is not written.
async fn publish_without_header(env: &Env, build: &Build) {
    let resources = test_support::resources_of(build);
    env.fakes.runtime_data.stage_resources(build.id(), &resources).await.expect("stage");
    env.fakes.runtime_data.publish_build(build).await.expect("publish");
}

/// Every read a use case offers of `build`, each `Ok` or its failure's code.
async fn reads(env: &Env, build: &Build) -> Vec<(&'static str, Result<(), &'static str>)> {
    let application_id = build.header.application_id;
    let build_id = build.id();
    let entry = &build.manifest[0];
    let code = |result: Result<(), domain::DomainError>| result.map_err(|err| err.code());
    vec![
        (
            "list resources",
            code(
                env.runtime
                    .list_resources(
                        application_id,
                        build_id,
                        &entry.resource_type,
                        PageRequest::default(),
                    )
                    .await
                    .map(drop),
            ),
        ),
        (
            "resource by id",
            code(
                env.runtime
                    .resource(application_id, build_id, &entry.resource_type, &entry.definition_id)
                    .await
                    .map(drop),
            ),
        ),
        (
            "resource by name",
            code(
                env.runtime
                    .resource_by_name(application_id, build_id, &entry.resource_type, &entry.name)
                    .await
                    .map(drop),
            ),
        ),
        (
            "config params",
            code(env.runtime.config_params(application_id, build_id, false).await.map(drop)),
        ),
        ("build by id", code(env.runtime.build(build_id).await.map(drop))),
        (
            "config params by build id",
            code(env.runtime.build_config_params(build_id, true).await.map(drop)),
        ),
        ("build management read", code(env.builds.get(application_id, build_id).await.map(drop))),
        ("export", code(env.builds.export(&admin(), application_id, build_id).await.map(drop))),
    ]
}

#[tokio::test]
async fn a_build_published_without_its_header_is_invisible_until_the_header_is_committed() {
    let env = Env::new();
    let build = BuildFixture::new(ApplicationId::random()).resources(2).build();
    publish_without_header(&env, &build).await;
    env.fakes
        .blobs
        .put(&domain::ports::BlobKey::build_archive(build.id()), crate::helpers::archive_of(&build))
        .await
        .expect("the archive, written before the runtime store");

    for (read, outcome) in reads(&env, &build).await {
        assert_eq!(outcome, Err("build_not_found"), "{read} of an uncommitted build");
    }
    let cached = env.fakes.cache.get_build_summary(build.id()).await.expect("cache read");
    assert_eq!(cached, None, "an uncommitted build is never cached");

    let now = OffsetDateTime::now_utc();
    let claim = ImportClaim {
        build_id: build.id(),
        owner: ImportOwner::random(),
        checksum: build.header.checksum.clone(),
        claimed_at: now,
        expires_at: now + Duration::minutes(15),
    };
    env.fakes.app_data.claim_import(&claim).await.expect("claim");
    let current =
        env.fakes.app_data.find_timer_schedule(build.header.application_id).await.unwrap();
    let schedule = current.move_to(current.build_id);
    env.fakes
        .app_data
        .complete_import(&build.header, claim.owner, &[], &schedule, &[])
        .await
        .expect("commit");

    for (read, outcome) in reads(&env, &build).await {
        assert_eq!(outcome, Ok(()), "{read} of the committed build");
    }
}

#[tokio::test]
async fn an_uncommitted_library_build_contributes_no_defaults() {
    let env = Env::new();
    let library = BuildFixture::new(ApplicationId::random())
        .library()
        .resources(1)
        .param(test_support::param("from.library", domain::model::ConfigParamType::Value, "1"))
        .build();
    env.import(&library).await;
    let application_id = ApplicationId::random();
    let project = BuildFixture::new(application_id).resources(1).depending_on(&library).build();
    env.import(&project).await;
    // The library's header goes (as if it had never been committed); its runtime data stays.
    let current =
        env.fakes.app_data.find_timer_schedule(library.header.application_id).await.unwrap();
    let schedule = current.move_to(current.build_id);
    let removed = env
        .fakes
        .app_data
        .delete_build_header(library.id(), &schedule, &[])
        .await
        .expect("header removed");
    assert!(removed);

    let params = env.runtime.config_params(application_id, project.id(), false).await;

    assert_eq!(params.expect("params").len(), 0, "the uncommitted library contributes nothing");
    assert_eq!(code_of(env.runtime.build(library.id()).await), "build_not_found");
}
