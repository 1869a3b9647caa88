//! The schema's migrations, embedded from `migrations/`, and [`migrate`], which runs them
//! under an advisory lock so that replicas starting together take turns.

use diesel::sql_types::BigInt;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::PgConfig;
use crate::connection::{Connector, quote_identifier};
use crate::error::{PgError, PgSetupError};

const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Key of the session-level advisory lock held while migrating (in the one-`bigint` key
/// space, which never overlaps the two-`int` keys of the outbox locks). Fixed, so every
/// replica and `rtm migrate` contend for the same lock, whatever the schema.
const MIGRATION_LOCK_KEY: i64 = 0x5254_4D5F_4D49_4752; // "RTM_MIGR"

/// What [`migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Versions of the migrations applied by this call, oldest first; empty when the schema
    /// was up to date.
    pub applied: Vec<String>,
}

/// Brings the schema up to date: creates the configured schema if it does not exist and
/// applies every pending migration, holding a PostgreSQL advisory lock meanwhile, so that
/// any number of replicas (and `rtm migrate`) may call it at once.
///
/// The migrations run on a blocking thread through diesel-async's `AsyncConnectionWrapper`,
/// so the caller may be on any Tokio runtime, current-thread included. Waiting for the lock
/// has no timeout (another process may be running a long migration); connecting has
/// `connect_timeout`; statements have no `statement_timeout`.
///
/// # Errors
///
/// [`PgSetupError::Unavailable`] when PostgreSQL cannot be reached,
/// [`PgSetupError::Migration`] when a migration fails (it is rolled back) and
/// [`PgSetupError::InvalidConfig`] for a configuration that cannot work.
#[tracing::instrument(name = "pg.migrate", skip_all, fields(schema = ?config.schema))]
pub async fn migrate(config: &PgConfig) -> Result<MigrationReport, PgSetupError> {
    let connector = Connector::new(config, false)?;
    let mut connection = connector.establish().await?;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
        .execute(&mut connection)
        .await
        .map_err(PgError::from)?;
    // Leaving early drops the connection, and closing the session releases the lock.
    if let Some(schema) = &config.schema {
        diesel::sql_query(format!("CREATE SCHEMA IF NOT EXISTS {}", quote_identifier(schema)?))
            .execute(&mut connection)
            .await
            .map_err(|err| PgSetupError::Migration(Box::new(PgError::from(err))))?;
    }
    let (mut connection, applied) = tokio::task::spawn_blocking(move || {
        let mut wrapper = AsyncConnectionWrapper::<AsyncPgConnection>::from(connection);
        let applied = wrapper
            .run_pending_migrations(MIGRATIONS)
            .map(|versions| versions.iter().map(ToString::to_string).collect::<Vec<_>>());
        (wrapper.into_inner(), applied)
    })
    .await
    .map_err(|err| PgSetupError::Migration(Box::new(err)))?;
    let applied = applied.map_err(PgSetupError::Migration)?;
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK_KEY)
        .execute(&mut connection)
        .await
        .map_err(PgError::from)?;
    if applied.is_empty() {
        tracing::debug!("the postgres schema is up to date");
    } else {
        tracing::info!(applied = ?applied, "applied postgres migrations");
    }
    Ok(MigrationReport { applied })
}
