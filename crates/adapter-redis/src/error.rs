//! Errors of this adapter and their translation into `PortError`.

use std::time::Duration;

use deadpool_redis::{CreatePoolError, PoolError};
use domain::model::ValidationError;
use domain::ports::PortError;

/// Why a cache operation failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CacheError {
    /// The URL in the configuration is not a Redis URL.
    #[error("the redis url is invalid")]
    Config(#[source] CreatePoolError),
    /// The TLS settings cannot be used: root certificates with a `redis://` URL, or root
    /// certificates that are not PEM.
    #[error("the redis TLS settings are invalid")]
    Tls(#[source] deadpool_redis::redis::RedisError),
    /// The root certificates are not a PEM list of certificates.
    #[error("the redis TLS settings are invalid: the root certificates hold {0}")]
    Roots(String),
    /// No connection could be had from the pool (Redis down, refused, or slow to accept).
    #[error("no redis connection")]
    Pool(#[source] PoolError),
    /// Redis refused or failed the command.
    #[error("redis command failed")]
    Command(#[source] deadpool_redis::redis::RedisError),
    /// The operation took longer than the configured bound.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Redis failed recently, so it was not asked (the circuit breaker is open).
    #[error("redis is skipped for a while after a failure")]
    Skipped,
    /// The value could not be written or read as JSON.
    #[error("cached value is not valid json of this format")]
    Json(#[from] serde_json::Error),
    /// The value decoded, but the domain refuses it.
    #[error("cached value is invalid")]
    Invalid(#[from] ValidationError),
}

impl CacheError {
    /// Whether the failure says something about Redis itself (and so trips the breaker),
    /// rather than about one value.
    pub(crate) fn is_redis_failure(&self) -> bool {
        matches!(self, Self::Pool(_) | Self::Command(_) | Self::Timeout(_))
    }
}

impl From<CacheError> for PortError {
    fn from(err: CacheError) -> Self {
        let unavailable = match &err {
            CacheError::Pool(PoolError::Backend(redis)) | CacheError::Command(redis) => {
                is_connection_failure(redis)
            }
            CacheError::Pool(_) | CacheError::Timeout(_) | CacheError::Skipped => true,
            CacheError::Config(_)
            | CacheError::Tls(_)
            | CacheError::Roots(_)
            | CacheError::Json(_)
            | CacheError::Invalid(_) => false,
        };
        if unavailable {
            PortError::Unavailable(err.into())
        } else {
            PortError::Backend(err.into())
        }
    }
}

/// Whether Redis could not be reached or dropped the connection, as opposed to refusing
/// what it was sent (a wrong password, a wrong type).
fn is_connection_failure(err: &deadpool_redis::redis::RedisError) -> bool {
    err.is_io_error()
        || err.is_connection_refusal()
        || err.is_connection_dropped()
        || err.is_timeout()
}
