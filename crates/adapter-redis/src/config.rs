//! `RedisConfig`: where Redis is, how long entries live, and how long the service may wait.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;

/// How to reach Redis and use it as the cache.
///
/// Build it with [`RedisConfig::new`] and change the fields that differ from the defaults.
#[derive(Clone)]
pub struct RedisConfig {
    /// `redis://[[user]:password@]host:port[/db]` (`rediss://` for TLS). Secret: it may
    /// hold a password.
    pub url: SecretString,
    /// Prepended to every key, so that several installations (or tests) can share one
    /// Redis. Default `rtm:`.
    pub key_prefix: String,
    /// How long an entry lives; every value is written with it (`SET … PX`). Default
    /// 5 000 000 ms, the original's `SPRING_REDIS_TTL`.
    pub ttl: Duration,
    /// The longest one cache operation may take, connection checkout included; past it the
    /// operation fails with `Unavailable` and the service treats it as a miss. Default 250 ms.
    pub operation_timeout: Duration,
    /// How long Redis is skipped after a failed operation (see the crate docs); zero turns
    /// the skipping off. Default 1 s.
    pub breaker_cooldown: Duration,
    /// Most connections held open at once. Default 16.
    pub pool_size: usize,
    /// The root certificates (PEM) a `rediss://` server's certificate must chain up to,
    /// instead of the system's trust store. Refused with a `redis://` URL.
    pub tls_root_certs_pem: Option<Vec<u8>>,
}

impl RedisConfig {
    /// Default key prefix.
    pub const DEFAULT_KEY_PREFIX: &str = "rtm:";
    /// Default entry lifetime: the original's `SPRING_REDIS_TTL` default, 5 000 000 ms.
    pub const DEFAULT_TTL: Duration = Duration::from_millis(5_000_000);
    /// Default bound of one operation.
    pub const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_millis(250);
    /// Default time Redis is skipped after a failure.
    pub const DEFAULT_BREAKER_COOLDOWN: Duration = Duration::from_secs(1);
    /// Default pool size.
    pub const DEFAULT_POOL_SIZE: usize = 16;

    /// The configuration for `url` with every other field at its default.
    pub fn new(url: SecretString) -> Self {
        Self {
            url,
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            ttl: Self::DEFAULT_TTL,
            operation_timeout: Self::DEFAULT_OPERATION_TIMEOUT,
            breaker_cooldown: Self::DEFAULT_BREAKER_COOLDOWN,
            pool_size: Self::DEFAULT_POOL_SIZE,
            tls_root_certs_pem: None,
        }
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("url", &"[redacted]")
            .field("key_prefix", &self.key_prefix)
            .field("ttl", &self.ttl)
            .field("operation_timeout", &self.operation_timeout)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .field("pool_size", &self.pool_size)
            .field("tls_root_certs_pem", &self.tls_root_certs_pem.as_ref().map(Vec::len))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_debug_form_hides_the_url_and_its_password() {
        let config = RedisConfig::new(SecretString::from("redis://:hunter2@cache:6379/0"));

        let printed = format!("{config:?}");

        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("cache:6379"), "{printed}");
        assert!(printed.contains("key_prefix"), "{printed}");
    }

    #[test]
    fn the_defaults_are_those_of_the_original() {
        let config = RedisConfig::new(SecretString::from("redis://127.0.0.1:6379"));

        assert_eq!(config.ttl, Duration::from_millis(5_000_000));
        assert_eq!(config.key_prefix, "rtm:");
        assert_eq!(config.operation_timeout, Duration::from_millis(250));
    }
}
