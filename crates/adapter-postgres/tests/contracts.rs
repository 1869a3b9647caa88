//! The PostgreSQL repository passes the port contract of `AppDataRepository`, on a fresh
//! migrated schema of its own (`APP_TEST_POSTGRES_URL`, e.g.
//! `postgres://root@127.0.0.1:5432/test`).
#![allow(
    clippy::unwrap_used,
    reason = "helpers of a test binary; a failed unwrap is a failed test"
)]

#[path = "postgres/support.rs"]
#[allow(dead_code, reason = "this binary uses only part of the shared helpers")]
mod support;

use support::TestSchema;

#[tokio::test]
async fn the_postgres_repository_honours_the_app_data_contract() {
    let Some(schema) = TestSchema::migrated().await else { return };
    let repository = schema.repository().await;

    port_contracts::app_data::run_all(&repository).await;

    drop(repository);
    schema.drop().await;
}
