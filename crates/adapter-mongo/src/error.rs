//! Errors of this adapter and their translation into `PortError`.

use domain::ports::PortError;
use mongodb::error::{Error as DriverError, ErrorKind, WriteFailure};

use crate::content::ContentError;
use crate::documents::DocumentError;

/// MongoDB's code for a duplicate key in a unique index.
const DUPLICATE_KEY: i32 = 11000;

/// Server error codes that mean "not reachable or not ready now; try again": network,
/// shutdown, failover and time limit codes (the driver's retryable-read set plus
/// `MaxTimeMSExpired`).
const UNAVAILABLE_CODES: &[i32] = &[
    6,     // HostUnreachable
    7,     // HostNotFound
    50,    // MaxTimeMSExpired
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    134,   // ReadConcernMajorityNotAvailableYet
    189,   // PrimarySteppedDown
    262,   // ExceededTimeLimit
    9001,  // SocketException
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

#[derive(Debug, thiserror::Error)]
pub(crate) enum MongoError {
    /// A driver call failed; `operation` says which.
    #[error("mongodb {operation} failed")]
    Driver {
        operation: &'static str,
        #[source]
        source: DriverError,
    },
    /// A build id is published with another checksum, or resources were staged into a
    /// published build.
    #[error("{0}")]
    Conflict(String),
    /// A stored document is not a valid domain value.
    #[error("stored data is invalid")]
    Document(#[from] DocumentError),
    /// A resource's content cannot be stored.
    #[error("resource content cannot be stored")]
    Content(#[from] ContentError),
}

impl MongoError {
    /// Wraps a driver error with the operation it came from.
    pub(crate) fn driver(operation: &'static str) -> impl FnOnce(DriverError) -> Self {
        move |source| Self::Driver { operation, source }
    }
}

impl From<MongoError> for PortError {
    fn from(err: MongoError) -> Self {
        match err {
            MongoError::Conflict(message) => PortError::Conflict(message),
            MongoError::Driver { ref source, .. } if is_unavailable(source) => {
                PortError::Unavailable(err.into())
            }
            MongoError::Driver { ref source, .. } if is_duplicate_key(source) => {
                PortError::Conflict(err.to_string())
            }
            other => PortError::Backend(other.into()),
        }
    }
}

/// Whether `err` means the server could not be reached (or not in time).
pub(crate) fn is_unavailable(err: &DriverError) -> bool {
    match err.kind.as_ref() {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Shutdown => true,
        ErrorKind::Command(command) => UNAVAILABLE_CODES.contains(&command.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(concern)) => {
            UNAVAILABLE_CODES.contains(&concern.code)
        }
        _ => err.contains_label("RetryableWriteError") || err.contains_label("NetworkError"),
    }
}

/// The positions, in batch order, of the documents an unordered `insert_many` refused for a
/// duplicate key; `None` when it failed for any other reason too.
pub(crate) fn duplicate_key_positions(err: &DriverError) -> Option<Vec<usize>> {
    let ErrorKind::InsertMany(failure) = err.kind.as_ref() else { return None };
    let errors = failure.write_errors.as_ref()?;
    if failure.write_concern_error.is_some()
        || errors.is_empty()
        || errors.iter().any(|error| error.code != DUPLICATE_KEY)
    {
        return None;
    }
    let mut positions: Vec<usize> = errors.iter().map(|error| error.index).collect();
    positions.sort_unstable();
    Some(positions)
}

/// Whether `err` is a duplicate key in a unique index.
pub(crate) fn is_duplicate_key(err: &DriverError) -> bool {
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(write)) => write.code == DUPLICATE_KEY,
        ErrorKind::Command(command) => command.code == DUPLICATE_KEY,
        _ => false,
    }
}
