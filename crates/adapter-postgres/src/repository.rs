//! [`PgAppDataRepository`]: the pool, the relay leadership, and what every role shares (the
//! checkout and the outbox insert). Each role trait is implemented in its own file under
//! `repository/`.

mod catalog;
mod config;
mod design_applications;
mod design_branches;
mod design_config;
mod design_dependencies;
mod design_idempotency;
mod design_resources;
mod design_versions;
mod imports;
mod outbox;
mod policies;
mod timers;

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::ExpressionMethods;
use diesel::sql_types::Integer;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::model::DomainEvent;
use domain::ports::PortResult;

use crate::config::PgConfig;
use crate::connection::{Connector, PooledConnection, checkout};
use crate::error::{PgError, PgSetupError};
use crate::event_json;
use crate::relay::RelayLeadership;
use crate::schema::{outbox_events, policy_revisions};

/// Class id (first key) of the transaction-level advisory lock that serialises outbox
/// inserts of one outbox table, so that sequence order is commit order. The second key is
/// the table's oid, so schemas do not contend.
const OUTBOX_WRITE_LOCK_CLASS: i32 = 0x5254_4D02;

/// The application data of the runtime role in PostgreSQL: build headers, policies and
/// overrides, config overrides, import claims and the outbox.
///
/// Cheap to share behind an `Arc`; every method checks a connection out of its pool. The
/// outbox relay of only one replica at a time gets pending events: see the crate docs.
pub struct PgAppDataRepository {
    pool: Pool<AsyncPgConnection>,
    wait_timeout: Duration,
    schema: Option<String>,
    relay: RelayLeadership,
    /// When sent outbox rows were last purged; `None` before the first purge.
    last_purge: Mutex<Option<Instant>>,
}

impl PgAppDataRepository {
    /// A repository over a new pool, after checking that PostgreSQL answers (within
    /// `connect_timeout` and `wait_timeout`). Does not migrate: run [`migrate`](crate::migrate)
    /// first.
    ///
    /// # Errors
    ///
    /// [`PgSetupError::InvalidConfig`] for a configuration that cannot work,
    /// [`PgSetupError::Unavailable`] when PostgreSQL cannot be reached or refuses the login.
    pub async fn connect(config: &PgConfig) -> Result<Self, PgSetupError> {
        let repository = Self::connect_lazy(config)?;
        repository.ping_database().await?;
        Ok(repository)
    }

    /// A repository over a new pool that opens connections only when a call needs one, so
    /// that a process can start while PostgreSQL is down; calls then fail with
    /// `PortError::Unavailable` until it is back.
    ///
    /// # Errors
    ///
    /// [`PgSetupError::InvalidConfig`] for a configuration that cannot work.
    pub fn connect_lazy(config: &PgConfig) -> Result<Self, PgSetupError> {
        if config.wait_timeout.is_zero() {
            return Err(PgSetupError::InvalidConfig("wait_timeout must not be zero".to_owned()));
        }
        let connector = Connector::new(config, true)?;
        Ok(Self {
            pool: connector.pool(config.max_pool_size)?,
            wait_timeout: config.wait_timeout,
            schema: config.schema.clone(),
            relay: RelayLeadership::new(connector),
            last_purge: Mutex::new(None),
        })
    }

    /// Checks that PostgreSQL answers a trivial query, for readiness probes.
    ///
    /// # Errors
    ///
    /// `PortError::Unavailable` when no connection can be had or the query fails to run.
    #[tracing::instrument(name = "pg.ping", skip_all)]
    pub async fn ping(&self) -> PortResult<()> {
        Ok(self.ping_database().await?)
    }

    /// The pool's size, idle connections and waiting callers, for the pool gauges.
    pub fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            idle: status.available,
            waiting: status.waiting,
        }
    }

    /// Whether this repository's relay currently holds the outbox leadership (as of its
    /// last `pending_events` call).
    pub async fn is_relay_leader(&self) -> bool {
        self.relay.is_leader().await
    }

    async fn ping_database(&self) -> Result<(), PgError> {
        let mut connection = self.connection().await?;
        diesel::sql_query("SELECT 1").execute(&mut *connection).await?;
        Ok(())
    }

    /// A pooled connection, within the checkout timeout.
    async fn connection(&self) -> Result<PooledConnection, PgError> {
        checkout(&self.pool, self.wait_timeout).await
    }
}

/// `SELECT 1` on a pooled connection, within the checkout timeout.
#[async_trait::async_trait]
impl domain::ports::HealthCheck for PgAppDataRepository {
    async fn ping(&self) -> PortResult<()> {
        Self::ping(self).await
    }
}

impl fmt::Debug for PgAppDataRepository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("PgAppDataRepository")
            .field("schema", &self.schema)
            .field("pool_max_size", &status.max_size)
            .field("pool_size", &status.size)
            .field("pool_available", &status.available)
            .field("wait_timeout", &self.wait_timeout)
            .finish_non_exhaustive()
    }
}

/// A snapshot of a connection pool: what the server's pool gauges report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Most connections the pool opens.
    pub max_size: usize,
    /// Connections open now (in use or idle).
    pub size: usize,
    /// Open connections not checked out.
    pub idle: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

/// Appends `events` to the outbox inside the caller's transaction.
///
/// Takes a transaction-level advisory lock first, held until commit, so that two writers
/// cannot commit their events in the opposite order of their sequence numbers: the relay
/// reads in sequence order and would otherwise skip past an event that commits later with
/// a smaller sequence. Writes without events take no lock.
pub(crate) async fn record_events(
    connection: &mut AsyncPgConnection,
    events: &[DomainEvent],
) -> Result<(), PgError> {
    if events.is_empty() {
        return Ok(());
    }
    let encoded = events
        .iter()
        .map(|event| Ok((*event.application_id().as_uuid(), event_json::encode(event)?)))
        .collect::<Result<Vec<_>, PgError>>()?;
    diesel::sql_query("SELECT pg_advisory_xact_lock($1, 'outbox_events'::regclass::oid::int4)")
        .bind::<Integer, _>(OUTBOX_WRITE_LOCK_CLASS)
        .execute(connection)
        .await?;
    // One insert per event: each gets its sequence number in the order given. An
    // ActivePolicyUpdated event's sequence becomes its application's policy revision in the
    // same transaction (the advisory lock orders commits, so revisions only grow).
    for ((application_id, event), domain_event) in encoded.into_iter().zip(events) {
        let sequence: i64 = diesel::insert_into(outbox_events::table)
            .values((
                outbox_events::application_id.eq(application_id),
                outbox_events::event.eq(event),
            ))
            .returning(outbox_events::sequence)
            .get_result(connection)
            .await?;
        if matches!(domain_event, DomainEvent::ActivePolicyUpdated { .. }) {
            diesel::insert_into(policy_revisions::table)
                .values((
                    policy_revisions::application_id.eq(application_id),
                    policy_revisions::revision.eq(sequence),
                ))
                .on_conflict(policy_revisions::application_id)
                .do_update()
                .set(policy_revisions::revision.eq(sequence))
                .execute(connection)
                .await?;
        }
    }
    Ok(())
}
