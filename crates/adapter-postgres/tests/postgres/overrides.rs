//! A hundred thousand USER overrides on one application: listed by one query, held in one
//! snapshot, and a caller's build found by subject whether or not one of them is theirs.

use std::sync::Arc;
use std::time::Instant;

use adapter_memory::Fakes;
use diesel_async::SimpleAsyncConnection;
use domain::builds::{BuildService, ImportOutcome, ImportRequest};
use domain::model::{ApplicationId, Build, PolicyRule, PolicyTarget, Principal, SubjectType};
use domain::ports::Ports;
use domain::runtime::ports::PolicyRepository as _;
use domain::runtime::{OverrideInput, PolicyService, RuntimeService};
use test_support::BuildFixture;

use crate::support::TestSchema;

const OVERRIDES: u32 = 100_000;

fn admin() -> Principal {
    Principal::named("admin", [])
}

async fn import(builds: &BuildService, application_id: ApplicationId) -> Build {
    let build = BuildFixture::new(application_id).resource("PROCESS", "main").build();
    let request = ImportRequest {
        build: build.clone(),
        resources: test_support::resources_of(&build),
        binaries: Vec::new(),
        timers: Vec::new(),
        archive: bytes::Bytes::from_static(b"archive"),
        expected_application: None,
    };
    match builds.import(&admin(), request).await {
        Ok(ImportOutcome::Created(_)) => build,
        other => panic!("a new build should be created: {other:?}"),
    }
}

#[tokio::test]
async fn a_hundred_thousand_user_overrides_load_in_one_snapshot_and_resolve_by_subject() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let fakes = Fakes::new();
    let application_id = ApplicationId::random();
    let repository = Arc::new(schema.repository().await);
    let ports = Ports { app_data: repository.clone(), ..fakes.ports() };
    let builds = BuildService::new(ports.clone());
    let global = import(&builds, application_id).await;
    let everybody_else = import(&builds, application_id).await;
    let chosen = import(&builds, application_id).await;
    let policies = PolicyService::new(ports.clone());
    policies.set(&admin(), application_id, PolicyTarget::Build(global.id())).await.unwrap();
    // The port writes one override at a time; the other 99 999 are set up in one statement.
    let started = Instant::now();
    schema
        .admin_connection()
        .await
        .batch_execute(&format!(
            "INSERT INTO policy_overrides \
               (id, application_id, subject_type, subject_id, target_type, build_id, updated_by, updated_at) \
             SELECT gen_random_uuid(), '{application_id}', 'USER', 'user-' || n, 'BUILD', \
                    '{}', 'admin', now() \
             FROM generate_series(1, {OVERRIDES}) AS n WHERE n <> 77777",
            everybody_else.id()
        ))
        .await
        .unwrap();
    eprintln!("{} overrides inserted in {:?}", OVERRIDES - 1, started.elapsed());
    let mine = policies
        .add_override(
            &admin(),
            application_id,
            OverrideInput {
                subject_type: SubjectType::User,
                subject_id: "user-77777".to_owned(),
                target: PolicyTarget::Build(chosen.id()),
            },
        )
        .await
        .unwrap();

    let started = Instant::now();
    let listed = repository.list_policy_overrides(application_id).await.unwrap();
    eprintln!("{} overrides listed in {:?}", listed.len(), started.elapsed());
    assert_eq!(listed.len(), OVERRIDES as usize);
    assert!(
        listed.windows(2).all(|pair| pair[0].subject_id < pair[1].subject_id),
        "USER overrides in byte order of their subjects"
    );
    drop(listed);

    let runtime = RuntimeService::new(ports.clone());
    let started = Instant::now();
    // The first resolution reads the snapshot from the store (the policy change evicted it).
    let resolved =
        runtime.resolve(application_id, None, &Principal::named("user-77777", [])).await.unwrap();
    eprintln!("snapshot of {OVERRIDES} overrides loaded and resolved in {:?}", started.elapsed());
    assert_eq!(resolved.build.id(), chosen.id());
    assert_eq!(resolved.rule, PolicyRule::UserOverride(mine.id));

    let other = runtime
        .resolve(application_id, None, &Principal::named("user-42", ["/user-77777".to_owned()]))
        .await
        .unwrap();
    assert_eq!(other.build.id(), everybody_else.id());
    assert!(matches!(other.rule, PolicyRule::UserOverride(_)), "{:?}", other.rule);

    // A name that differs by case or a prefix is nobody's: the global policy answers.
    for stranger in ["USER-77777", "user-777770", "user-0", "nobody"] {
        let resolved = runtime
            .resolve(application_id, None, &Principal::named(stranger, ["user-77777".to_owned()]))
            .await
            .unwrap();
        assert_eq!(resolved.build.id(), global.id(), "{stranger}");
        assert_eq!(resolved.rule, PolicyRule::Global, "{stranger}");
    }
    drop((runtime, policies, builds, ports, repository));
    schema.drop().await;
}
