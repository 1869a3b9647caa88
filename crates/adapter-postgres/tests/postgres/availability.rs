//! A database that cannot be reached, or does not answer in time, is `Unavailable` within
//! the configured timeouts: never a hang.

use std::time::Duration;

use adapter_postgres::{PgAppDataRepository, PgConfig, PgSetupError, migrate};
use diesel_async::SimpleAsyncConnection;
use domain::model::{ApplicationId, BuildId};
use domain::ports::{BuildCatalog, PortError};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::support::TestSchema;

fn config(url: &str) -> PgConfig {
    let mut config = PgConfig::new(SecretString::from(url.to_owned()));
    config.connect_timeout = Duration::from_millis(500);
    config.wait_timeout = Duration::from_secs(1);
    config
}

/// A TCP server that accepts connections and never says a word, like a host behind a
/// firewall that drops packets; returns its URL.
async fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("postgres://rtm@127.0.0.1:{port}/rtm")
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_at_once() {
    let config = config("postgres://rtm@127.0.0.1:1/rtm");
    let started = Instant::now();

    let connected = PgAppDataRepository::connect(&config).await;
    let repository = PgAppDataRepository::connect_lazy(&config).unwrap();
    let found = repository.find_build_header(BuildId::random()).await;

    assert!(matches!(connected, Err(PgSetupError::Unavailable(_))), "{connected:?}");
    assert!(matches!(found, Err(PortError::Unavailable(_))), "{found:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable_after_the_timeouts() {
    let config = config(&silent_server().await);
    let started = Instant::now();

    let connected = PgAppDataRepository::connect(&config).await;
    let repository = PgAppDataRepository::connect_lazy(&config).unwrap();
    let listed = repository.find_application_kind(ApplicationId::random()).await;
    let migrated = migrate(&config).await;

    assert!(matches!(connected, Err(PgSetupError::Unavailable(_))), "{connected:?}");
    assert!(matches!(listed, Err(PortError::Unavailable(_))), "{listed:?}");
    assert!(matches!(migrated, Err(PgSetupError::Unavailable(_))), "{migrated:?}");
    // Three attempts of at most connect_timeout (500 ms) each.
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}

#[tokio::test]
async fn a_configuration_that_cannot_work_is_refused_before_connecting() {
    let mut zero_pool = config("postgres://rtm@127.0.0.1:1/rtm");
    zero_pool.max_pool_size = 0;
    let empty_schema = config("postgres://rtm@127.0.0.1:1/rtm").with_schema("");

    for config in [zero_pool, empty_schema] {
        let refused = PgAppDataRepository::connect_lazy(&config);
        assert!(matches!(refused, Err(PgSetupError::InvalidConfig(_))), "{config:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_stuck_behind_a_lock_is_unavailable_after_the_statement_timeout() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let mut config = schema.config();
    config.statement_timeout = Duration::from_millis(300);
    let repository = PgAppDataRepository::connect(&config).await.unwrap();
    let mut blocker = schema.admin_connection().await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE build_headers IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let started = Instant::now();

    let found = repository.find_build_header(BuildId::random()).await;

    assert!(matches!(found, Err(PortError::Unavailable(_))), "{found:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    blocker.batch_execute("ROLLBACK").await.unwrap();
    let found = repository.find_build_header(BuildId::random()).await;
    assert!(matches!(found, Ok(None)), "the pool recovers once the lock is gone: {found:?}");
    drop((repository, blocker));
    schema.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_that_finds_the_pool_taken_is_unavailable_after_the_wait_timeout() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let mut config = schema.config();
    config.max_pool_size = 1;
    config.wait_timeout = Duration::from_millis(300);
    config.statement_timeout = Duration::from_secs(30);
    let repository = std::sync::Arc::new(PgAppDataRepository::connect(&config).await.unwrap());
    let mut blocker = schema.admin_connection().await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE build_headers IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    // Takes the only connection and waits on the lock.
    let stuck = tokio::spawn({
        let repository = std::sync::Arc::clone(&repository);
        async move { repository.find_build_header(BuildId::random()).await }
    });
    let mut admin = schema.admin_connection().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !waits_on_a_lock(&mut admin).await {
        assert!(Instant::now() < deadline, "the first call never reached the lock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();

    let refused = repository.find_build_header(BuildId::random()).await;

    let elapsed = started.elapsed();
    assert!(matches!(refused, Err(PortError::Unavailable(_))), "{refused:?}");
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    blocker.batch_execute("ROLLBACK").await.unwrap();
    assert!(matches!(stuck.await.unwrap(), Ok(None)), "the stuck call finishes once unlocked");
    drop((repository, blocker, admin));
    schema.drop().await;
}

/// Whether some session of the database waits on a lock.
async fn waits_on_a_lock(admin: &mut diesel_async::AsyncPgConnection) -> bool {
    use diesel::sql_types::BigInt;
    use diesel_async::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        waiting: i64,
    }
    let count: Count = diesel::sql_query(
        "SELECT count(*) AS waiting FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
         WHERE NOT l.granted AND c.relname = 'build_headers' \
         AND c.relnamespace = current_schema()::regnamespace",
    )
    .get_result(admin)
    .await
    .unwrap();
    count.waiting > 0
}

#[tokio::test]
async fn the_repository_reconnects_after_its_connections_are_killed() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let mut config = schema.config();
    let url = schema.url_with_application_name();
    config.url = SecretString::from(url);
    let repository = PgAppDataRepository::connect(&config).await.unwrap();
    repository.find_build_header(BuildId::random()).await.unwrap();
    let mut admin = schema.admin_connection().await;

    // What a restart of the database does to the pool: only this test's sessions.
    let killed = diesel_async::RunQueryDsl::execute(
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind::<diesel::sql_types::Text, _>(&schema.name),
        &mut admin,
    )
    .await
    .unwrap();
    assert!(killed >= 1, "the pool had a connection");

    // A pooled connection that died is found broken when it is checked out again and
    // replaced: no call fails for it.
    for _ in 0..3 {
        let found = repository.find_build_header(BuildId::random()).await;
        assert!(matches!(found, Ok(None)), "{found:?}");
    }
    drop((repository, admin));
    schema.drop().await;
}
