//! A schema of the test's own in the shared PostgreSQL, and the fixtures the tests share.

use std::time::Duration;

use adapter_postgres::{PgAppDataRepository, PgConfig, migrate};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use domain::model::{ApplicationId, BuildHeader, DomainEvent, ImportOwner};
use domain::ports::{ImportClaim, ImportLedger, TimerRegistry};
use secrecy::SecretString;
use time::OffsetDateTime;

/// A fresh schema named after a random id; [`TestSchema::drop`] removes it and everything in it.
pub(crate) struct TestSchema {
    url: String,
    pub(crate) name: String,
}

impl TestSchema {
    /// The URL of `APP_TEST_POSTGRES_URL` with a fresh schema name (not created yet), or
    /// `None` when the test is to be skipped.
    pub(crate) fn new() -> Option<Self> {
        test_support::init_tracing();
        let url = test_support::backend_url("APP_TEST_POSTGRES_URL")?;
        let name = format!("rtm_test_{}", uuid::Uuid::new_v4().simple());
        Some(Self { url, name })
    }

    /// A fresh schema, migrated.
    pub(crate) async fn migrated() -> Option<Self> {
        let schema = Self::new()?;
        migrate(&schema.config()).await.expect("migrate a fresh schema");
        Some(schema)
    }

    /// Settings for this schema, with short timeouts so that a failing test fails fast.
    pub(crate) fn config(&self) -> PgConfig {
        let mut config =
            PgConfig::new(SecretString::from(self.url.clone())).with_schema(&self.name);
        config.max_pool_size = 4;
        config.connect_timeout = Duration::from_secs(5);
        config.wait_timeout = Duration::from_secs(10);
        config
    }

    /// The test URL with `application_name` set to the schema name, so that the test can
    /// find its own sessions in `pg_stat_activity`.
    pub(crate) fn url_with_application_name(&self) -> String {
        let separator = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{separator}application_name={}", self.url, self.name)
    }

    /// A repository on this schema.
    pub(crate) async fn repository(&self) -> PgAppDataRepository {
        PgAppDataRepository::connect(&self.config()).await.expect("connect to the test schema")
    }

    /// A plain connection with this schema first in its search path, for what the port
    /// cannot show (catalog queries, locks held from outside).
    pub(crate) async fn admin_connection(&self) -> AsyncPgConnection {
        let mut connection =
            AsyncPgConnection::establish(&self.url).await.expect("connect to the test database");
        connection
            .batch_execute(&format!("SET search_path TO \"{}\"", self.name))
            .await
            .expect("set the search path");
        connection
    }

    /// Drops the schema and everything in it.
    pub(crate) async fn drop(self) {
        let mut connection =
            AsyncPgConnection::establish(&self.url).await.expect("connect to the test database");
        connection
            .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name))
            .await
            .expect("drop the test schema");
    }
}

/// Now in whole microseconds, the precision PostgreSQL keeps.
pub(crate) fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_microsecond(now.microsecond()).unwrap()
}

/// One event about `application_id`.
pub(crate) fn event(application_id: ApplicationId) -> DomainEvent {
    DomainEvent::ActivePolicyUpdated { application_id }
}

/// Stores `header` as an import does: claims its id, then completes the import.
pub(crate) async fn store_header(repository: &PgAppDataRepository, header: &BuildHeader) {
    let claim = ImportClaim {
        build_id: header.id,
        owner: ImportOwner::random(),
        checksum: header.checksum.clone(),
        claimed_at: now(),
        expires_at: now() + time::Duration::minutes(15),
    };
    repository.claim_import(&claim).await.expect("claim_import");
    // The application's timer schedule stays where it is: only the header is stored.
    let current = repository.find_timer_schedule(header.application_id).await.expect("schedule");
    let schedule = current.move_to(current.build_id);
    repository
        .complete_import(header, claim.owner, &[], &schedule, &[])
        .await
        .expect("complete_import");
}
