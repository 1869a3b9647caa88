//! The Redis cache passes the cache contract against a real Redis, and stays harmless
//! (quick `Unavailable` answers, never a hang) when Redis is gone or does not answer.
//!
//! The contract tests read `APP_TEST_REDIS_URL` (`redis://127.0.0.1:6379`); every test
//! uses its own random key prefix, so they share one Redis with anything else.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_redis::{RedisCache, RedisConfig};
use deadpool_redis::redis::{self, AsyncCommands as _};
use domain::model::{
    ActivePolicy, ApplicationId, BranchName, BuildId, BuildSettings, BuildSummary, Checksum,
    ConfigParam, ConfigParamType, NumberFormat, Platforms, PolicyOverride, PolicyOverrideId,
    PolicySnapshot, PolicyTarget, SubjectType, WorkspaceId,
};
use domain::ports::{Cache, PortError};
use secrecy::SecretString;
use test_support::{BuildFixture, entry, param};
use time::macros::datetime;
use uuid::Uuid;

/// A configuration for `url` with a key prefix no other test uses.
fn config(url: &str) -> RedisConfig {
    let mut config = RedisConfig::new(SecretString::from(url));
    config.key_prefix = format!("rtm-test:{}:", Uuid::new_v4());
    config
}

/// A direct connection, to look at what the adapter wrote.
async fn raw_connection(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
}

#[tokio::test]
async fn the_redis_cache_honours_the_cache_contract() {
    test_support::init_tracing();
    let Some(url) = test_support::backend_url("APP_TEST_REDIS_URL") else { return };
    let cache = RedisCache::connect(&config(&url)).await.unwrap();

    port_contracts::cache::run_all(&cache).await;
}

fn snapshot() -> Arc<PolicySnapshot> {
    let application_id = ApplicationId::random();
    let main = BranchName::parse("main").unwrap();
    let hotfix = BranchName::parse("hotfix-1.2").unwrap();
    let policy_override = |subject_type, subject_id: &str, target| PolicyOverride {
        id: PolicyOverrideId::random(),
        application_id,
        subject_type,
        subject_id: subject_id.to_owned(),
        target,
        updated_by: "admin".to_owned(),
        updated_at: datetime!(2026-11-20 08:00:00.250 UTC),
    };
    Arc::new(PolicySnapshot::new(
        1_234_567,
        Some(ActivePolicy {
            application_id,
            target: PolicyTarget::LatestOnBranch(main.clone()),
            updated_by: "alice".to_owned(),
            updated_at: datetime!(2026-11-24 10:15:30.123 +01:00),
        }),
        vec![
            policy_override(SubjectType::User, "bob", PolicyTarget::Build(BuildId::random())),
            policy_override(
                SubjectType::Group,
                "/testers é",
                PolicyTarget::LatestOnBranch(hotfix.clone()),
            ),
            policy_override(SubjectType::Role, "ROLE_OLD", PolicyTarget::Build(BuildId::random())),
        ],
        BTreeMap::from([(main, BuildId::random()), (hotfix, BuildId::random())]),
    ))
}

/// The summary of a build with every part a codec could get wrong: offsets, fractions of a
/// second, quotes and non-ASCII text.
fn build() -> Arc<BuildSummary> {
    let build = BuildFixture::new(ApplicationId::random())
        .in_workspace(WorkspaceId::random())
        .version_tag("1.4.0")
        .checksum(Checksum::parse(&"ab".repeat(32)).unwrap())
        .created_at(datetime!(2026-11-01 12:00:00.5 UTC))
        .stored_at(datetime!(2026-11-24 09:30:00.001 UTC))
        .settings(BuildSettings {
            platforms: Platforms::Omnichannel,
            theme_id: Some("dark".to_owned()),
            number_format: NumberFormat::new(2, 4).unwrap(),
            languages: vec!["en".to_owned(), "ro".to_owned()],
            ..test_support::settings()
        })
        .dependency(ApplicationId::random(), BuildId::random())
        .param(ConfigParam {
            description: Some("base".to_owned()),
            ..param("api.baseUrl", ConfigParamType::Value, "https://x.example/\"q\"")
        })
        .param(param("db_password", ConfigParamType::EnvSecret, "DB_PASSWORD"))
        .param(param("region", ConfigParamType::Env, "REGION"))
        .entry(entry("PROCESS", "3f1c2d9e-0000-4000-8000-000000000001", "Apply for a loan"))
        .entry(entry("ENUMERATION", "countries", "Countries ✓"))
        .build();
    Arc::new(build.summary())
}

#[tokio::test]
async fn a_snapshot_with_overrides_and_branches_and_a_build_summary_read_back_unchanged() {
    test_support::init_tracing();
    let Some(url) = test_support::backend_url("APP_TEST_REDIS_URL") else { return };
    let cache = RedisCache::connect(&config(&url)).await.unwrap();
    let (snapshot, build) = (snapshot(), build());
    let application_id = snapshot.global.as_ref().unwrap().application_id;

    cache.put_policy_snapshot(application_id, snapshot.clone()).await.unwrap();
    cache.put_build_summary(build.clone()).await.unwrap();

    assert_eq!(cache.get_policy_snapshot(application_id).await.unwrap(), Some(snapshot));
    assert_eq!(cache.get_build_summary(build.id()).await.unwrap(), Some(build));
}

#[tokio::test]
async fn every_entry_is_written_with_the_configured_ttl_under_a_versioned_key() {
    test_support::init_tracing();
    let Some(url) = test_support::backend_url("APP_TEST_REDIS_URL") else { return };
    let mut config = config(&url);
    config.ttl = Duration::from_secs(90);
    let cache = RedisCache::connect(&config).await.unwrap();
    let (snapshot, build) = (snapshot(), build());
    let application_id = snapshot.global.as_ref().unwrap().application_id;

    cache.put_policy_snapshot(application_id, snapshot.clone()).await.unwrap();
    cache.put_build_summary(build.clone()).await.unwrap();

    let mut redis = raw_connection(&url).await;
    let prefix = &config.key_prefix;
    for key in [
        format!("{prefix}v2:snapshot:{application_id}"),
        format!("{prefix}v2:build:{}", build.id()),
    ] {
        let pttl: i64 = redis.pttl(&key).await.unwrap();
        assert!(pttl > 0 && pttl <= 90_000, "{key} has PTTL {pttl} ms, want (0, 90000]");
    }
}

#[tokio::test]
async fn an_entry_that_does_not_decode_is_an_error_and_the_next_put_replaces_it() {
    test_support::init_tracing();
    let Some(url) = test_support::backend_url("APP_TEST_REDIS_URL") else { return };
    let config = config(&url);
    let cache = RedisCache::connect(&config).await.unwrap();
    let build = build();
    let key = format!("{}v2:build:{}", config.key_prefix, build.id());
    let mut redis = raw_connection(&url).await;
    let () = redis.hset(&key, "doc", "{\"not\":\"a build\"}").await.unwrap();
    let () = redis.expire(&key, 60).await.unwrap();

    let err = cache.get_build_summary(build.id()).await.unwrap_err();
    assert!(matches!(err, PortError::Backend(_)), "{err:?}");

    cache.put_build_summary(build.clone()).await.unwrap();
    assert_eq!(cache.get_build_summary(build.id()).await.unwrap(), Some(build));
}

/// A port on which nothing listens.
fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// How long `operation` took, and what it returned (its value dropped).
async fn timed<T>(
    operation: impl Future<Output = Result<T, PortError>>,
) -> (Result<(), PortError>, Duration) {
    let started = Instant::now();
    let result = operation.await.map(drop);
    (result, started.elapsed())
}

/// Runs every port method and checks each fails with `Unavailable` within `bound`.
async fn assert_every_operation_is_unavailable(cache: &RedisCache, bound: Duration) {
    let (snapshot, build) = (snapshot(), build());
    let application_id = ApplicationId::random();
    let outcomes = [
        ("get_policy_snapshot", timed(cache.get_policy_snapshot(application_id)).await),
        ("put_policy_snapshot", timed(cache.put_policy_snapshot(application_id, snapshot)).await),
        ("evict_policy_snapshot", timed(cache.evict_policy_snapshot(application_id, 9)).await),
        ("get_build_summary", timed(cache.get_build_summary(build.id())).await),
        ("put_build_summary", timed(cache.put_build_summary(build.clone())).await),
        ("evict_build", timed(cache.evict_build(build.id())).await),
    ];
    for (name, (result, took)) in outcomes {
        assert!(matches!(result, Err(PortError::Unavailable(_))), "{name}: {result:?}");
        assert!(took < bound, "{name} took {took:?}, want < {bound:?}");
    }
}

#[tokio::test]
async fn with_nothing_listening_connect_succeeds_and_every_operation_is_quickly_unavailable() {
    test_support::init_tracing();
    let config = config(&format!("redis://{}", closed_port()));

    let started = Instant::now();
    let cache = RedisCache::connect(&config).await.expect("connect tolerates a missing redis");
    assert!(started.elapsed() < Duration::from_secs(2), "connect took {:?}", started.elapsed());

    assert_every_operation_is_unavailable(&cache, Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_redis_that_accepts_but_never_answers_costs_at_most_the_operation_timeout() {
    test_support::init_tracing();
    // The kernel completes the TCP handshake for the backlog; nobody ever reads or answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = config(&format!("redis://{}", silent.local_addr().unwrap()));
    config.breaker_cooldown = Duration::ZERO;

    let cache = RedisCache::connect(&config).await.expect("connect tolerates a silent redis");

    // Without the breaker, every operation waits for its own timeout (250 ms), no longer.
    assert_every_operation_is_unavailable(&cache, Duration::from_secs(2)).await;
    drop(silent);
}

#[tokio::test]
async fn after_a_failure_the_breaker_answers_at_once_without_waiting_for_redis() {
    test_support::init_tracing();
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = config(&format!("redis://{}", silent.local_addr().unwrap()));
    config.breaker_cooldown = Duration::from_secs(60);
    let cache = RedisCache::connect(&config).await.unwrap();

    let started = Instant::now();
    for _ in 0..20 {
        let result = cache.get_build_summary(BuildId::random()).await;
        assert!(matches!(result, Err(PortError::Unavailable(_))), "{result:?}");
    }

    // connect's ping already timed out and opened the breaker: no read waits for Redis.
    let took = started.elapsed();
    assert!(took < config.operation_timeout, "20 skipped reads took {took:?}");
    drop(silent);
}

#[tokio::test]
async fn an_invalid_url_is_refused_at_connect_without_printing_the_password() {
    let config = config("http://user:hunter2@cache:6379");

    let err = RedisCache::connect(&config).await.unwrap_err();

    assert!(matches!(err, PortError::Backend(_)), "{err:?}");
    let printed = format!("{err:?} {config:?}");
    assert!(!printed.contains("hunter2"), "{printed}");
}
