//! `MongoConfig`: where the runtime store is and how long to wait for it.

use std::fmt;
use std::time::Duration;

use mongodb::options::ClientOptions;
use secrecy::{ExposeSecret, SecretString};

/// How to reach the runtime store.
///
/// The URI is the operator's interface (`SPRING_DATA_MONGODB_URI` of the original platform):
/// an option it sets itself (`connectTimeoutMS`, `serverSelectionTimeoutMS`, `maxPoolSize`,
/// `minPoolSize`, `appName`) wins over the value here, which is only the default for URIs
/// that leave it out.
#[derive(Clone)]
pub struct MongoConfig {
    /// `mongodb://` or `mongodb+srv://` URI; it may hold credentials, so it is never printed.
    pub uri: SecretString,
    /// Database holding `builds` and `build_resources`; default [`Self::DEFAULT_DATABASE`].
    pub database: String,
    /// Time allowed to open one connection; default 10 s.
    pub connect_timeout: Duration,
    /// Time an operation waits for a usable server before failing with `Unavailable`;
    /// default 10 s.
    pub server_selection_timeout: Duration,
    /// Most connections per server; default 10.
    pub max_pool_size: u32,
    /// Connections kept open per server even when idle; default 0.
    pub min_pool_size: u32,
}

impl MongoConfig {
    /// The original platform's runtime database.
    pub const DEFAULT_DATABASE: &str = "app-runtime";

    /// A configuration for `uri` with every other field at its default.
    pub fn new(uri: SecretString) -> Self {
        Self {
            uri,
            database: Self::DEFAULT_DATABASE.to_owned(),
            connect_timeout: Duration::from_secs(10),
            server_selection_timeout: Duration::from_secs(10),
            max_pool_size: 10,
            min_pool_size: 0,
        }
    }

    /// The driver options: the URI's, with this configuration's values where it has none.
    pub(crate) async fn client_options(&self) -> mongodb::error::Result<ClientOptions> {
        let mut options = ClientOptions::parse(self.uri.expose_secret()).await?;
        options.connect_timeout.get_or_insert(self.connect_timeout);
        options.server_selection_timeout.get_or_insert(self.server_selection_timeout);
        options.max_pool_size.get_or_insert(self.max_pool_size);
        options.min_pool_size.get_or_insert(self.min_pool_size);
        options.app_name.get_or_insert_with(|| "rtm".to_owned());
        Ok(options)
    }
}

impl fmt::Debug for MongoConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MongoConfig")
            .field("uri", &"[redacted]")
            .field("database", &self.database)
            .field("connect_timeout", &self.connect_timeout)
            .field("server_selection_timeout", &self.server_selection_timeout)
            .field("max_pool_size", &self.max_pool_size)
            .field("min_pool_size", &self.min_pool_size)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_uri() {
        let config = MongoConfig::new(SecretString::from(
            "mongodb://app-runtime:s3cret@mongo:27017/app-runtime".to_owned(),
        ));
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cret") && !printed.contains("mongo:27017"), "{printed}");
        assert!(printed.contains("app-runtime"), "the database is shown: {printed}");
    }

    #[tokio::test]
    async fn options_in_the_uri_win_over_the_defaults() {
        let mut config = MongoConfig::new(SecretString::from(
            "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500&maxPoolSize=3".to_owned(),
        ));
        config.min_pool_size = 1;

        let options = config.client_options().await.unwrap();

        assert_eq!(options.server_selection_timeout, Some(Duration::from_millis(500)));
        assert_eq!(options.max_pool_size, Some(3));
        assert_eq!(options.min_pool_size, Some(1));
        assert_eq!(options.connect_timeout, Some(Duration::from_secs(10)));
    }
}
