//! The local service stack (`cargo xtask services up`), read from the `APP_TEST_*` variables
//! that `cargo xtask services env` prints, and the corner of it that one bench run uses: its
//! own PostgreSQL schema, MongoDB database, Kafka topic environment, S3 bucket and Redis key
//! prefix, as the end-to-end tests of `crates/server` isolate themselves.

use anyhow::{Context as _, bail};
use secrecy::{ExposeSecret as _, SecretString};

/// The stack's addresses.
#[derive(Debug)]
pub(crate) struct Stack {
    pub(crate) postgres: String,
    pub(crate) mongo: String,
    pub(crate) kafka: String,
    pub(crate) redis: String,
    pub(crate) s3: String,
    pub(crate) s3_access_key: String,
    pub(crate) s3_secret_key: SecretString,
    pub(crate) oidc: String,
    pub(crate) realm: String,
}

impl Stack {
    /// Reads the stack from the environment.
    pub(crate) fn from_env() -> anyhow::Result<Self> {
        let var = |name: &str| {
            std::env::var(name).with_context(|| {
                format!("{name} is not set: run through `cargo xtask bench`, or `eval \"$(cargo xtask services env)\"` first")
            })
        };
        Ok(Self {
            postgres: var("APP_TEST_POSTGRES_URL")?,
            mongo: var("APP_TEST_MONGO_URL")?,
            kafka: var("APP_TEST_KAFKA_BROKERS")?,
            redis: var("APP_TEST_REDIS_URL")?,
            s3: var("APP_TEST_S3_URL")?,
            s3_access_key: var("APP_TEST_S3_ACCESS_KEY")?,
            s3_secret_key: SecretString::from(var("APP_TEST_S3_SECRET_KEY")?),
            oidc: var("APP_TEST_OIDC_URL")?,
            realm: std::env::var("APP_TEST_OIDC_REALM").unwrap_or_else(|_| "flowx".to_owned()),
        })
    }

    /// The original platform's variables that point `rtm` at the stack, in `isolation`'s
    /// corner of it.
    pub(crate) fn rtm_env(&self, isolation: &Isolation) -> anyhow::Result<Vec<(String, String)>> {
        let (user, location) = split_postgres(&self.postgres);
        let (redis_host, redis_port) = split_redis(&self.redis)?;
        let env = [
            ("SPRING_APPLICATION_NAME", "runtime-manager".to_owned()),
            (
                "SPRING_DATASOURCE_URL",
                format!("jdbc:postgresql://{location}?currentSchema={}", isolation.schema()),
            ),
            ("SPRING_DATASOURCE_USERNAME", user),
            (
                "SPRING_DATA_MONGODB_URI",
                format!("{}/${{DB_NAME}}", self.mongo.trim_end_matches('/')),
            ),
            ("DB_NAME", isolation.database()),
            ("SPRING_KAFKA_BOOTSTRAP_SERVERS", self.kafka.clone()),
            ("KAFKA_TOPIC_NAMING_ENVIRONMENT", isolation.topic_environment()),
            ("APPLICATION_FILE_STORAGE_S3_SERVER_URL", self.s3.clone()),
            ("APPLICATION_FILE_STORAGE_S3_ACCESS_KEY", self.s3_access_key.clone()),
            (
                "APPLICATION_FILE_STORAGE_S3_SECRET_KEY",
                self.s3_secret_key.expose_secret().to_owned(),
            ),
            ("APPLICATION_FILE_STORAGE_S3_BUCKET_PREFIX", isolation.bucket()),
            ("SECURITY_OAUTH2_BASE_SERVER_URL", self.oidc.clone()),
            ("SECURITY_OAUTH2_REALM", self.realm.clone()),
            ("SPRING_REDIS_HOST", redis_host),
            ("SPRING_REDIS_PORT", redis_port),
            ("RTM_REDIS_KEY_PREFIX", isolation.redis_prefix()),
            // Room for the large import (100 000 entries, about 100 MB of JSON): the
            // defaults (20 000 entries, 100 MiB archive) are a production guard.
            ("RTM_IMPORT_MAX_ENTRIES", "250000".to_owned()),
            ("RTM_IMPORT_MAX_ARCHIVE_BYTES", (1_u64 << 30).to_string()),
            ("RTM_IMPORT_MAX_INFLATED_BYTES", (4_u64 << 30).to_string()),
        ];
        Ok(env.into_iter().map(|(name, value)| (name.to_owned(), value)).collect())
    }

    /// The OIDC mock's token endpoint.
    pub(crate) fn token_url(&self) -> String {
        format!(
            "{}/realms/{}/protocol/openid-connect/token",
            self.oidc.trim_end_matches('/'),
            self.realm
        )
    }
}

/// One run's corner of the stack.
#[derive(Debug, Clone)]
pub(crate) struct Isolation {
    id: String,
}

impl Isolation {
    pub(crate) fn new() -> Self {
        Self { id: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned() }
    }

    pub(crate) fn schema(&self) -> String {
        format!("bench_{}", self.id)
    }

    pub(crate) fn database(&self) -> String {
        format!("bench_{}", self.id)
    }

    pub(crate) fn topic_environment(&self) -> String {
        format!("bench{}.", self.id)
    }

    pub(crate) fn bucket(&self) -> String {
        format!("rtm-bench-{}", self.id)
    }

    pub(crate) fn redis_prefix(&self) -> String {
        format!("bench:{}:", self.id)
    }
}

/// `postgres://user[:password]@host:port/db` → (user, `host:port/db`).
fn split_postgres(url: &str) -> (String, String) {
    let rest = url.trim_start_matches("postgres://").trim_start_matches("postgresql://");
    let (user, location) = rest.split_once('@').unwrap_or(("root", rest));
    (user.split(':').next().unwrap_or("root").to_owned(), location.to_owned())
}

/// `redis://host:port[/]` → (host, port).
fn split_redis(url: &str) -> anyhow::Result<(String, String)> {
    let address = url.trim_start_matches("redis://").trim_end_matches('/');
    match address.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok((host.to_owned(), port.to_owned()))
        }
        _ => bail!("APP_TEST_REDIS_URL `{url}` is not redis://host:port"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_postgres_url_gives_the_user_and_the_jdbc_location() {
        assert_eq!(
            split_postgres("postgres://root@127.0.0.1:5432/test"),
            ("root".to_owned(), "127.0.0.1:5432/test".to_owned())
        );
        assert_eq!(split_postgres("postgresql://u:pw@h:1/d").0, "u");
    }

    #[test]
    fn the_redis_url_gives_host_and_port() {
        assert_eq!(
            split_redis("redis://127.0.0.1:6379/").expect("valid"),
            ("127.0.0.1".to_owned(), "6379".to_owned())
        );
        assert!(split_redis("redis://127.0.0.1").is_err());
    }
}
