//! The domain's metrics, as a Prometheus scrape shows them after real use cases ran.

use std::future::Future;
use std::sync::Arc;

use build_archive::{ArchiveLimits, ArchivePackager};
use domain::builds::BuildService;
use domain::design::{BuildCreationService, NewBuild};
use domain::model::{ApplicationId, ApplicationKind, PolicyTarget};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusRecorder};
use test_support::BuildFixture;

use crate::design_helpers::DesignEnv;
use crate::helpers::{Env, admin, code_of, request, user};

/// Runs `future` on this thread with a recorder of its own (so that tests running at the
/// same time do not count into it), and returns what a scrape would show.
fn scrape_of<F: Future>(future: impl FnOnce() -> F) -> String {
    let recorder: PrometheusRecorder =
        PrometheusBuilder::new().set_buckets(&[0.01, 0.1, 1.0]).expect("buckets").build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
            .block_on(future())
    });
    handle.render()
}

fn value_of(scrape: &str, series: &str) -> f64 {
    scrape
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{series} is not in the scrape:\n{scrape}"))
}

#[test]
fn resolutions_cache_reads_imports_and_refusals_are_counted_by_result_and_code() {
    let scrape = scrape_of(|| async {
        let env = Env::new();
        let application_id = ApplicationId::random();
        let build = BuildFixture::new(application_id).resources(1).build();
        assert_eq!(
            code_of(env.runtime.active_build(application_id, None, &user("ana")).await),
            "no_active_policy"
        );
        env.import(&build).await;
        env.set_policy(application_id, PolicyTarget::Build(build.id())).await;
        for _ in 0..2 {
            env.runtime
                .active_build(application_id, None, &user("ana"))
                .await
                .expect("the use case");
        }
        let mut conflicting = build.clone();
        conflicting.header.checksum = test_support::checksum();
        assert_eq!(
            code_of(env.builds.import(&admin(), request(&conflicting)).await),
            "build_checksum_conflict"
        );
        env.builds.import(&admin(), request(&build)).await.expect("the use case");
        env.relay.record_backlog().await.expect("the use case");
    });

    assert_eq!(
        value_of(&scrape, r#"rtm_resolution_seconds_count{result="no_active_policy"}"#),
        1.0
    );
    assert_eq!(value_of(&scrape, r#"rtm_resolution_seconds_count{result="resolved"}"#), 2.0);
    // The first resolution after the policy change misses the snapshot, the second hits.
    assert!(
        value_of(&scrape, r#"rtm_cache_gets_total{cache="policy_snapshot",result="hit"}"#) >= 1.0
    );
    assert!(
        value_of(&scrape, r#"rtm_cache_gets_total{cache="policy_snapshot",result="miss"}"#) >= 1.0
    );
    assert!(value_of(&scrape, r#"rtm_cache_gets_total{cache="build",result="hit"}"#) >= 1.0);
    assert_eq!(value_of(&scrape, r#"rtm_build_import_seconds_count{outcome="created"}"#), 1.0);
    assert_eq!(value_of(&scrape, r#"rtm_build_import_seconds_count{outcome="unchanged"}"#), 1.0);
    assert_eq!(value_of(&scrape, r#"rtm_build_import_seconds_count{outcome="refused"}"#), 1.0);
    assert_eq!(
        value_of(&scrape, r#"rtm_build_import_refusals_total{code="build_checksum_conflict"}"#),
        1.0
    );
    // Nothing delivered the import's and the policy's events: they wait in the outbox.
    assert!(value_of(&scrape, "rtm_outbox_pending_events") >= 2.0);
    assert!(value_of(&scrape, "rtm_outbox_oldest_pending_age_seconds") >= 0.0);
}

#[test]
fn an_empty_outbox_has_no_age() {
    let scrape = scrape_of(|| async {
        let env = Env::new();
        let backlog = env.relay.record_backlog().await.expect("the use case");
        assert_eq!(backlog.pending, 0);
        assert_eq!(backlog.oldest_recorded_at, None);
    });
    assert_eq!(value_of(&scrape, "rtm_outbox_pending_events"), 0.0);
    assert_eq!(value_of(&scrape, "rtm_outbox_oldest_pending_age_seconds"), 0.0);
}

#[test]
fn build_creations_are_timed_by_outcome_and_refusals_counted_by_code() {
    let scrape = scrape_of(|| async {
        let design = DesignEnv::new();
        let ports = design.env.fakes.ports();
        let packager = Arc::new(ArchivePackager::new(ArchiveLimits::default()));
        let creation = BuildCreationService::new(ports.clone(), BuildService::new(ports), packager);
        let application = design.create("Loans", ApplicationKind::Application).await.application;
        let wip = design.main_wip(application.id).await;
        design.add_process(application.id, wip, "apply", r#"{"nodes":[]}"#).await;
        assert_eq!(
            code_of(
                creation.create(&admin(), application.id, wip, NewBuild::default(), None).await
            ),
            "version_not_committed"
        );
        design.commit(application.id, wip).await;
        creation
            .create(&admin(), application.id, wip, NewBuild::default(), None)
            .await
            .expect("creating a build of the committed version");
    });

    assert_eq!(value_of(&scrape, r#"rtm_build_creation_seconds_count{outcome="created"}"#), 1.0);
    assert_eq!(value_of(&scrape, r#"rtm_build_creation_seconds_count{outcome="refused"}"#), 1.0);
    assert_eq!(
        value_of(&scrape, r#"rtm_build_creation_refusals_total{code="version_not_committed"}"#),
        1.0
    );
    // A creation stores through the import's path, but counts as a creation only.
    assert!(!scrape.contains("rtm_build_import_seconds_count"), "{scrape}");
}
