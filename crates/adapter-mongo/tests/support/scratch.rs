//! A database of one test's own on the server at `APP_TEST_MONGO_URL`, dropped at the end.

use adapter_mongo::{MongoConfig, MongoRuntimeDataStore};
use mongodb::Client;
use secrecy::SecretString;

/// The variable naming the server, such as `mongodb://127.0.0.1:27117`.
pub(crate) const URL_VAR: &str = "APP_TEST_MONGO_URL";

/// A fresh, randomly named database and a configuration pointing at it.
pub(crate) struct Scratch {
    pub(crate) config: MongoConfig,
    pub(crate) client: Client,
}

impl Scratch {
    /// `None` (the test skips) when `APP_TEST_MONGO_URL` is unset.
    pub(crate) async fn new() -> Option<Self> {
        test_support::init_tracing();
        let url = test_support::backend_url(URL_VAR)?;
        let mut config = MongoConfig::new(SecretString::from(url.clone()));
        config.database = format!("rtm-test-{}", uuid::Uuid::new_v4().simple());
        let client = Client::with_uri_str(&url).await.expect("a valid APP_TEST_MONGO_URL");
        Some(Self { config, client })
    }

    /// A store on this database.
    pub(crate) async fn store(&self) -> MongoRuntimeDataStore {
        MongoRuntimeDataStore::connect(&self.config)
            .await
            .unwrap_or_else(|err| panic!("connect to {URL_VAR} (cargo xtask services up): {err:?}"))
    }

    /// This test's database, to look at what the adapter stored.
    pub(crate) fn database(&self) -> mongodb::Database {
        self.client.database(&self.config.database)
    }

    /// Drops the database.
    pub(crate) async fn drop_database(self) {
        self.database().drop().await.expect("drop the test database");
    }
}
