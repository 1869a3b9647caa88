//! How to reach PostgreSQL: the URL, the schema, the pool size and every timeout.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

use crate::tls::PgTls;

/// Connection settings of [`PgAppDataRepository`](crate::PgAppDataRepository) and
/// [`migrate`](crate::migrate).
///
/// Build one with [`PgConfig::new`] and change the public fields as needed; its `Debug`
/// never prints the URL, which may hold a password.
#[derive(Clone)]
pub struct PgConfig {
    /// A `postgres://user:password@host:port/database` URL (tokio-postgres syntax; the
    /// key-value form `host=… user=…` works too).
    pub url: SecretString,
    /// The schema the tables live in (the connection's `search_path`). `None` keeps the
    /// server's default search path; [`migrate`](crate::migrate) creates a named schema
    /// that does not exist.
    pub schema: Option<String>,
    /// Most pooled connections a repository opens. The outbox relay's leadership connection
    /// comes on top, so one repository holds at most `max_pool_size + 1` connections.
    pub max_pool_size: usize,
    /// Longest time to open a connection (TCP, TLS handshake, session settings).
    pub connect_timeout: Duration,
    /// Longest time a port call waits to check a connection out of the pool, opening one
    /// included; after it the call fails with `PortError::Unavailable`.
    pub wait_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every pooled connection; a statement cancelled by
    /// it fails with `PortError::Unavailable`. Zero disables it. Migrations run without it.
    pub statement_timeout: Duration,
    /// TLS towards the server (libpq's `sslmode` and `sslrootcert`); plaintext by default.
    /// The URL's own `sslmode` is not used: a plaintext configuration refuses a URL that
    /// says `sslmode=require`.
    pub tls: PgTls,
}

impl PgConfig {
    /// Pool size when none is configured.
    pub const DEFAULT_MAX_POOL_SIZE: usize = 10;
    /// Connect timeout when none is configured.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Pool checkout timeout when none is configured.
    pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(5);
    /// Statement timeout when none is configured.
    pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Settings for `url` with the defaults: no schema (the server's search path), 10
    /// connections, 5 s to connect, 5 s to check a connection out, 30 s per statement.
    pub fn new(url: SecretString) -> Self {
        Self {
            url,
            schema: None,
            max_pool_size: Self::DEFAULT_MAX_POOL_SIZE,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            wait_timeout: Self::DEFAULT_WAIT_TIMEOUT,
            statement_timeout: Self::DEFAULT_STATEMENT_TIMEOUT,
            tls: PgTls::default(),
        }
    }

    /// The same settings in `schema`.
    #[must_use]
    pub fn with_schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
}

impl fmt::Debug for PgConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgConfig")
            .field("url", &"[redacted]")
            .field("schema", &self.schema)
            .field("max_pool_size", &self.max_pool_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("wait_timeout", &self.wait_timeout)
            .field("statement_timeout", &self.statement_timeout)
            .field("tls", &self.tls)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_url() {
        let config = PgConfig::new(SecretString::from("postgres://rtm:hunter2@db:5432/rtm"))
            .with_schema("runtime");

        let printed = format!("{config:?}");

        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("db:5432"), "{printed}");
        assert!(printed.contains("[redacted]") && printed.contains("runtime"), "{printed}");
    }

    #[test]
    fn defaults_are_explicit() {
        let config = PgConfig::new(SecretString::from("postgres://localhost/test"));

        assert_eq!(config.max_pool_size, 10);
        assert_eq!(config.connect_timeout, Duration::from_secs(5));
        assert_eq!(config.wait_timeout, Duration::from_secs(5));
        assert_eq!(config.statement_timeout, Duration::from_secs(30));
        assert_eq!(config.schema, None);
    }
}
