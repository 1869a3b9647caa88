//! The adapter's errors: [`PgError`] inside, mapped into `PortError` at the port, and the
//! public [`PgSetupError`] of connecting and migrating.

use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::deadpool::PoolError;
use domain::ports::{BoxError, PortError};

/// Why connecting or migrating failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgSetupError {
    /// The configuration cannot work (an empty schema name, a pool of zero connections).
    #[error("invalid postgres configuration: {0}")]
    InvalidConfig(String),
    /// PostgreSQL could not be reached in time, or refused the connection.
    #[error("postgres is unavailable")]
    Unavailable(#[source] BoxError),
    /// A migration, or the lock around them, failed.
    #[error("migrating the postgres schema failed")]
    Migration(#[source] BoxError),
}

/// A failure inside the adapter.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PgError {
    #[error("no database connection became free within {0:?}")]
    CheckoutTimeout(Duration),
    #[error("could not get a database connection")]
    Pool(#[source] PoolError),
    #[error("could not connect to the database")]
    Connect(#[source] diesel::ConnectionError),
    #[error("database statement failed")]
    Query(#[source] DieselError),
    #[error("a stored {what} is invalid: {reason}")]
    InvalidRow { what: &'static str, reason: String },
    #[error("could not encode an event")]
    EncodeEvent(#[source] serde_json::Error),
    #[error("could not encode the settings of a version")]
    EncodeSettings(#[source] serde_json::Error),
    /// A rule of the port that the adapter checks itself, under a lock, in the transaction
    /// of the write: always the port's conflict, with this message.
    #[error("{0}")]
    Refused(String),
    /// A compare-and-set of the port lost (the timer schedule moved): always the port's
    /// `Outdated`, with this message.
    #[error("{0}")]
    Outdated(String),
    /// Rolls back a write whose row does not exist (so that it writes nothing at all);
    /// never leaves the method that raises it.
    #[error("no such row")]
    NoSuchRow,
}

impl From<DieselError> for PgError {
    fn from(err: DieselError) -> Self {
        Self::Query(err)
    }
}

/// A write the database refused because of a constraint the port documents as a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Violation<'a> {
    /// A unique or primary key, by constraint name.
    Unique(&'a str),
    /// A foreign key, by constraint name.
    ForeignKey(&'a str),
}

impl PgError {
    pub(crate) fn invalid_row(what: &'static str, reason: impl ToString) -> Self {
        Self::InvalidRow { what, reason: reason.to_string() }
    }

    /// The constraint the database refused the write for, if that is what happened.
    pub(crate) fn violation(&self) -> Option<Violation<'_>> {
        let Self::Query(DieselError::DatabaseError(kind, info)) = self else {
            return None;
        };
        let constraint = info.constraint_name().unwrap_or_default();
        match kind {
            DatabaseErrorKind::UniqueViolation => Some(Violation::Unique(constraint)),
            DatabaseErrorKind::ForeignKeyViolation | DatabaseErrorKind::RestrictViolation => {
                Some(Violation::ForeignKey(constraint))
            }
            _ => None,
        }
    }

    /// Whether the database could not be reached or did not answer in time.
    fn is_unavailable(&self) -> bool {
        match self {
            Self::CheckoutTimeout(_) | Self::Pool(_) | Self::Connect(_) => true,
            Self::Query(DieselError::DatabaseError(kind, info)) => match kind {
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand => {
                    true
                }
                // SQLSTATE 57014 (statement timeout) and 57P01..57P03 (shutdown) reach diesel
                // as `Unknown`; their text is all that tells them apart.
                DatabaseErrorKind::Unknown => {
                    let message = info.message();
                    message.contains("statement timeout")
                        || message.contains("terminating connection")
                        || message.contains("the database system is")
                }
                _ => false,
            },
            Self::Query(DieselError::BrokenTransactionManager) => true,
            Self::Query(_)
            | Self::InvalidRow { .. }
            | Self::EncodeEvent(_)
            | Self::EncodeSettings(_)
            | Self::Refused(_)
            | Self::Outdated(_)
            | Self::NoSuchRow => false,
        }
    }

    /// The port's error, with `conflict` deciding which violations are the port's
    /// documented conflicts (and their message); any other violation is a backend failure.
    pub(crate) fn into_port(
        self,
        conflict: impl FnOnce(Violation<'_>) -> Option<String>,
    ) -> PortError {
        if let Self::Refused(message) = self {
            return PortError::Conflict(message);
        }
        if let Self::Outdated(message) = self {
            return PortError::Outdated(message);
        }
        if let Some(message) = self.violation().and_then(conflict) {
            return PortError::Conflict(message);
        }
        if self.is_unavailable() {
            PortError::Unavailable(Box::new(self))
        } else {
            PortError::Backend(Box::new(self))
        }
    }
}

impl From<PgError> for PortError {
    /// For calls whose port contract has no conflict but the ones the adapter refuses itself.
    fn from(err: PgError) -> Self {
        err.into_port(|_| None)
    }
}

impl From<PgError> for PgSetupError {
    fn from(err: PgError) -> Self {
        if err.is_unavailable() {
            Self::Unavailable(Box::new(err))
        } else {
            Self::Migration(Box::new(err))
        }
    }
}
