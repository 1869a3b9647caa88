//! Opening connections: every connection, pooled or not, goes through [`Connector`], so each
//! gets the connect timeout, the schema and the statement timeout of the configuration.

use std::sync::Arc;
use std::time::Duration;

use diesel::ConnectionError;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncPgConnection, SimpleAsyncConnection};
use rustls::ClientConfig;
use secrecy::{ExposeSecret, SecretString};

use crate::config::PgConfig;
use crate::error::{PgError, PgSetupError};
use crate::tls::Transport;

/// A pooled connection.
pub(crate) type PooledConnection = Object<AsyncPgConnection>;

/// Opens connections as the configuration says.
#[derive(Clone)]
pub(crate) struct Connector {
    url: SecretString,
    /// `SET …` statements run on every new connection.
    session_setup: Arc<str>,
    connect_timeout: Duration,
    transport: Transport,
}

impl Connector {
    /// Checks the configuration; `with_statement_timeout` is false for migrations, which may
    /// legitimately run long.
    pub(crate) fn new(
        config: &PgConfig,
        with_statement_timeout: bool,
    ) -> Result<Self, PgSetupError> {
        if config.connect_timeout.is_zero() {
            return Err(PgSetupError::InvalidConfig("connect_timeout must not be zero".to_owned()));
        }
        let mut session_setup = String::new();
        if let Some(schema) = &config.schema {
            session_setup.push_str(&format!("SET search_path TO {};", quote_identifier(schema)?));
        }
        if with_statement_timeout {
            let millis = config.statement_timeout.as_millis();
            session_setup.push_str(&format!("SET statement_timeout = {millis};"));
        }
        Ok(Self {
            url: config.url.clone(),
            session_setup: session_setup.into(),
            connect_timeout: config.connect_timeout,
            transport: Transport::new(&config.tls)?,
        })
    }

    /// A new connection, set up, or an error once the connect timeout has passed.
    pub(crate) async fn establish(&self) -> Result<AsyncPgConnection, PgError> {
        establish(
            self.url.expose_secret(),
            &self.session_setup,
            self.connect_timeout,
            &self.transport,
        )
        .await
        .map_err(PgError::Connect)
    }

    /// A pool of connections opened by this connector; opens none yet.
    pub(crate) fn pool(&self, max_size: usize) -> Result<Pool<AsyncPgConnection>, PgSetupError> {
        if max_size == 0 {
            return Err(PgSetupError::InvalidConfig("max_pool_size must not be zero".to_owned()));
        }
        let session_setup = Arc::clone(&self.session_setup);
        let connect_timeout = self.connect_timeout;
        let transport = self.transport.clone();
        let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
        manager_config.custom_setup = Box::new(move |url| {
            let session_setup = Arc::clone(&session_setup);
            let url = url.to_owned();
            let transport = transport.clone();
            Box::pin(
                async move { establish(&url, &session_setup, connect_timeout, &transport).await },
            )
        });
        let manager =
            AsyncDieselConnectionManager::new_with_config(self.url.expose_secret(), manager_config);
        Pool::builder(manager)
            .max_size(max_size)
            .build()
            .map_err(|err| PgSetupError::InvalidConfig(format!("cannot build the pool: {err}")))
    }
}

async fn establish(
    url: &str,
    session_setup: &str,
    connect_timeout: Duration,
    transport: &Transport,
) -> Result<AsyncPgConnection, ConnectionError> {
    let connect = async {
        let mut connection = open(url, transport).await?;
        if !session_setup.is_empty() {
            connection
                .batch_execute(session_setup)
                .await
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
        }
        Ok(connection)
    };
    tokio::time::timeout(connect_timeout, connect).await.unwrap_or_else(|_| {
        Err(ConnectionError::BadConnection(format!(
            "no connection within the connect timeout of {connect_timeout:?}"
        )))
    })
}

/// Connects over `transport`. Done by hand rather than by `AsyncPgConnection::establish`,
/// which only speaks plaintext.
async fn open(url: &str, transport: &Transport) -> Result<AsyncPgConnection, ConnectionError> {
    use tokio_postgres::config::SslMode;
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|err| ConnectionError::InvalidConnectionUrl(domain::ports::error_chain(&err)))?;
    match transport {
        Transport::Plain => {
            // tokio-postgres's own `sslmode=require` cannot be met without a TLS connector:
            // refuse it rather than let the URL and the TLS settings disagree.
            if config.get_ssl_mode() == SslMode::Require {
                return Err(ConnectionError::InvalidConnectionUrl(
                    "the PostgreSQL URL says sslmode=require but TLS is not configured (PgConfig::tls)".to_owned(),
                ));
            }
            config.ssl_mode(SslMode::Disable);
            let (client, connection) =
                config.connect(tokio_postgres::NoTls).await.map_err(|err| {
                    ConnectionError::BadConnection(format!(
                        "PostgreSQL: {}",
                        domain::ports::error_chain(&err)
                    ))
                })?;
            AsyncPgConnection::try_from_client_and_connection(client, connection).await
        }
        Transport::Tls { mode, config: tls, label } => {
            config.ssl_mode(*mode);
            let connector = tokio_postgres_rustls::MakeRustlsConnect::new(ClientConfig::clone(tls));
            let (client, connection) = config.connect(connector).await.map_err(|err| {
                ConnectionError::BadConnection(format!(
                    "PostgreSQL over TLS (sslmode={label}): {}",
                    domain::ports::error_chain(&err)
                ))
            })?;
            AsyncPgConnection::try_from_client_and_connection(client, connection).await
        }
    }
}

/// A schema name as a quoted SQL identifier.
pub(crate) fn quote_identifier(name: &str) -> Result<String, PgSetupError> {
    if name.is_empty() || name.len() > 63 || name.contains('\0') {
        return Err(PgSetupError::InvalidConfig(format!(
            "schema `{name}` must be 1 to 63 bytes without NUL"
        )));
    }
    Ok(format!("\"{}\"", name.replace('"', "\"\"")))
}

/// Checks a connection out of `pool`, waiting at most `wait_timeout` (opening a new
/// connection included).
pub(crate) async fn checkout(
    pool: &Pool<AsyncPgConnection>,
    wait_timeout: Duration,
) -> Result<PooledConnection, PgError> {
    match tokio::time::timeout(wait_timeout, pool.get()).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(err)) => Err(PgError::Pool(err)),
        Err(_) => Err(PgError::CheckoutTimeout(wait_timeout)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_quoted_so_they_cannot_inject_sql() {
        assert_eq!(quote_identifier("runtime").ok().as_deref(), Some("\"runtime\""));
        assert_eq!(
            quote_identifier("x\"; DROP TABLE t; --").ok().as_deref(),
            Some("\"x\"\"; DROP TABLE t; --\"")
        );
        assert!(quote_identifier("").is_err());
        assert!(quote_identifier(&"s".repeat(64)).is_err());
    }
}
