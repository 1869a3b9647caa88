//! The relay's side of the outbox: which replica delivers, and what it reads.
//!
//! The leader is the replica whose dedicated session holds a session-level advisory lock
//! keyed by the outbox table. Only the leader reads pending events, so deliveries keep
//! their order across replicas. A session that fails is closed, and PostgreSQL releases
//! its lock with it; whichever replica asks next takes the leadership.

use diesel::prelude::*;
use diesel::sql_types::{Bool, Integer};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::model::OutboxRecord;
use time::OffsetDateTime;

use crate::connection::Connector;
use crate::error::PgError;
use crate::event_json;
use crate::schema::outbox_events;

/// Class id (first key) of the leadership lock; the second key is the outbox table's oid,
/// so that each schema has its own leader.
const RELAY_LOCK_CLASS: i32 = 0x5254_4D01;

/// This replica's claim to deliver the outbox.
pub(crate) struct RelayLeadership {
    connector: Connector,
    session: tokio::sync::Mutex<Session>,
}

/// The dedicated session, not taken from the pool: the lock lives exactly as long as it.
enum Session {
    /// None open (at first, and after a failure).
    Closed,
    /// Open, and another replica held the lock when last asked.
    Follower(AsyncPgConnection),
    /// Open and holding the lock.
    Leader(AsyncPgConnection),
}

#[derive(QueryableByName)]
struct LockTaken {
    #[diesel(sql_type = Bool)]
    taken: bool,
}

impl RelayLeadership {
    pub(crate) fn new(connector: Connector) -> Self {
        Self { connector, session: tokio::sync::Mutex::new(Session::Closed) }
    }

    /// Whether this replica held the leadership after its last read.
    pub(crate) async fn is_leader(&self) -> bool {
        matches!(*self.session.lock().await, Session::Leader(_))
    }

    /// Up to `limit` undelivered events, oldest first, if this replica leads or can take
    /// the leadership now; nothing while another replica leads.
    pub(crate) async fn pending_events(&self, limit: i64) -> Result<Vec<OutboxRecord>, PgError> {
        let mut session = self.session.lock().await;
        let mut connection = match std::mem::replace(&mut *session, Session::Closed) {
            Session::Leader(connection) => connection,
            Session::Follower(mut connection) => {
                if !take_lock(&mut connection).await? {
                    *session = Session::Follower(connection);
                    return Ok(Vec::new());
                }
                tracing::info!("this replica's outbox relay took the leadership");
                connection
            }
            Session::Closed => {
                let mut connection = self.connector.establish().await?;
                if !take_lock(&mut connection).await? {
                    *session = Session::Follower(connection);
                    return Ok(Vec::new());
                }
                tracing::info!("this replica's outbox relay took the leadership");
                connection
            }
        };
        // Read on the session that holds the lock: if it has died, so has the leadership,
        // and the read fails instead of racing the new leader.
        match read_pending(&mut connection, limit).await {
            Ok(records) => {
                *session = Session::Leader(connection);
                Ok(records)
            }
            Err(err @ PgError::InvalidRow { .. }) => {
                // The session is fine; the stored event is not. Keep leading, so that the
                // relay keeps reporting the event instead of handing it around.
                *session = Session::Leader(connection);
                Err(err)
            }
            Err(err) => {
                tracing::warn!("the outbox relay gave up the leadership after a failed read");
                Err(err)
            }
        }
    }
}

/// Tries the leadership lock on `connection`; a failure drops the connection (the caller
/// leaves the session closed).
async fn take_lock(connection: &mut AsyncPgConnection) -> Result<bool, PgError> {
    let row: LockTaken = diesel::sql_query(
        "SELECT pg_try_advisory_lock($1, 'outbox_events'::regclass::oid::int4) AS taken",
    )
    .bind::<Integer, _>(RELAY_LOCK_CLASS)
    .get_result(connection)
    .await?;
    Ok(row.taken)
}

async fn read_pending(
    connection: &mut AsyncPgConnection,
    limit: i64,
) -> Result<Vec<OutboxRecord>, PgError> {
    let rows: Vec<(i64, serde_json::Value, OffsetDateTime)> = outbox_events::table
        .filter(outbox_events::sent_at.is_null())
        .order(outbox_events::sequence.asc())
        .limit(limit)
        .select((outbox_events::sequence, outbox_events::event, outbox_events::recorded_at))
        .load(connection)
        .await?;
    rows.into_iter()
        .map(|(sequence, event, recorded_at)| {
            Ok(OutboxRecord {
                sequence: u64::try_from(sequence)
                    .map_err(|_| PgError::invalid_row("outbox event", "negative sequence"))?,
                event: event_json::decode(event)?,
                recorded_at,
            })
        })
        .collect()
}
