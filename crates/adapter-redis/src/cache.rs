//! `RedisCache`: the `Cache` port on Redis, through a deadpool of multiplexed connections.

use std::fmt;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use deadpool_redis::redis::{self, Cmd, FromRedisValue, IntoConnectionInfo as _};
use deadpool_redis::{Pool, PoolConfig, Runtime, Timeouts};
use std::sync::Arc;

use domain::model::{ApplicationId, BuildId, BuildSummary, PolicySnapshot};
use domain::ports::{Cache, PortError, PortResult};
use secrecy::ExposeSecret as _;

use crate::breaker::{Admission, Breaker, Transition};
use crate::codec::{self, FORMAT_VERSION};
use crate::config::RedisConfig;
use crate::error::CacheError;

/// Resolution snapshots and build summaries in Redis, each a hash under
/// `{key_prefix}v{format}:snapshot:{applicationId}` (fields `rev`, the snapshot's policy
/// revision, and `doc`, its JSON) or `{key_prefix}v{format}:build:{buildId}` (`doc`, or
/// `deleted`), each written with the configured TTL.
///
/// The port's generation rule is kept by small Lua scripts, atomic in Redis: an eviction
/// leaves a tombstone (the hash with `rev` and no `doc`, or `deleted`) for one TTL instead of
/// deleting the key, and a put compares revisions and refuses an older one, or a deleted
/// build's summary. Every replica sharing the Redis sees the same floor.
///
/// Every operation is bounded by the configured `operation_timeout` and fails with
/// [`PortError::Unavailable`] when Redis is down or slow; after such a failure reads and
/// writes skip Redis for `breaker_cooldown` (evictions are always attempted).
pub struct RedisCache {
    pool: Pool,
    /// `host:port` (no password), for logs.
    endpoint: String,
    key_prefix: String,
    ttl_millis: u64,
    operation_timeout: Duration,
    breaker: Breaker,
}

/// Whether an operation may be skipped while the breaker is open.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Reads and writes: skipping one is a miss, which the service handles.
    Breaker,
    /// Evictions: a skipped one would leave a stale entry until its TTL, so always try.
    Always,
}

/// A snapshot of the connection pool: what the server's pool gauges report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Most connections the pool opens.
    pub max_size: usize,
    /// Connections open now (in use or idle).
    pub size: usize,
    /// Open connections not checked out.
    pub idle: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

impl RedisCache {
    /// The pool's size, idle connections and waiting callers, for the pool gauges.
    pub fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            idle: status.available,
            waiting: status.waiting,
        }
    }

    /// Whether the breaker is open: Redis failed and is skipped until a probe succeeds.
    pub fn breaker_open(&self) -> bool {
        self.breaker.is_open()
    }

    /// Builds the pool and pings Redis once. Redis is optional, so an unreachable Redis is
    /// not an error: it is logged as a warning, and the cache answers `Unavailable` (a miss
    /// for the services) until Redis is back. No connection is kept open until one is needed.
    ///
    /// # Errors
    ///
    /// [`PortError::Backend`] when the URL is not a valid Redis URL.
    pub async fn connect(config: &RedisConfig) -> Result<Self, PortError> {
        let cache = Self::new(config).map_err(PortError::from)?;
        match cache.execute::<String>(&redis::cmd("PING"), Gate::Always).await {
            Ok(_) => tracing::info!(redis.endpoint = %cache.endpoint, "redis cache ready"),
            Err(err) => tracing::warn!(
                redis.endpoint = %cache.endpoint,
                error = %err,
                "redis is not reachable; requests go to the stores until it is"
            ),
        }
        Ok(cache)
    }

    fn new(config: &RedisConfig) -> Result<Self, CacheError> {
        let url = config.url.expose_secret();
        let endpoint = match url.into_connection_info() {
            Ok(info) => info.addr().to_string(),
            Err(_) => "an invalid url".to_owned(),
        };
        let mut pool_config = PoolConfig::new(config.pool_size.max(1));
        pool_config.timeouts = Timeouts {
            wait: Some(config.operation_timeout),
            create: Some(config.operation_timeout),
            recycle: Some(config.operation_timeout),
        };
        if url.starts_with("rediss://") {
            // redis builds its rustls configuration with the process's default crypto
            // provider, and the dependency tree enables two (ring and aws-lc-rs), so none is
            // chosen by itself: choose ring, as the rest of rtm does. Ignored when one is
            // installed already.
            drop(rustls::crypto::ring::default_provider().install_default());
        }
        let pool = match &config.tls_root_certs_pem {
            None => {
                let mut driver_config = deadpool_redis::Config::from_url(url);
                driver_config.pool = Some(pool_config);
                driver_config.create_pool(Some(Runtime::Tokio1)).map_err(CacheError::Config)?
            }
            Some(root_cert) => {
                use rustls::pki_types::CertificateDer;
                use rustls::pki_types::pem::PemObject as _;
                // redis skips what is not a certificate: an empty or wrong file would
                // leave no root at all, and every handshake failing later.
                let roots = CertificateDer::pem_slice_iter(root_cert)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|err| CacheError::Roots(err.to_string()))?;
                if roots.is_empty() {
                    return Err(CacheError::Roots("no PEM certificate".to_owned()));
                }
                let certificates =
                    redis::TlsCertificates { client_tls: None, root_cert: Some(root_cert.clone()) };
                let client =
                    redis::Client::build_with_tls(url, certificates).map_err(CacheError::Tls)?;
                let manager = deadpool_redis::Manager::new(client.get_connection_info().clone())
                    .map_err(CacheError::Tls)?;
                Pool::builder(manager)
                    .config(pool_config)
                    .runtime(Runtime::Tokio1)
                    .build()
                    .map_err(|err| {
                        CacheError::Config(deadpool_redis::CreatePoolError::Build(err))
                    })?
            }
        };
        Ok(Self {
            pool,
            endpoint,
            key_prefix: config.key_prefix.clone(),
            ttl_millis: u64::try_from(config.ttl.as_millis()).unwrap_or(u64::MAX).max(1),
            operation_timeout: config.operation_timeout,
            breaker: Breaker::new(config.breaker_cooldown),
        })
    }

    fn snapshot_key(&self, application_id: ApplicationId) -> String {
        format!("{}v{FORMAT_VERSION}:snapshot:{application_id}", self.key_prefix)
    }

    fn build_key(&self, build_id: BuildId) -> String {
        format!("{}v{FORMAT_VERSION}:build:{build_id}", self.key_prefix)
    }

    async fn get_doc(&self, key: String) -> Result<Option<String>, CacheError> {
        self.execute(redis::cmd("HGET").arg(key).arg("doc"), Gate::Breaker).await
    }

    /// Runs a Lua script with one key. `EVAL` with the script's text rather than
    /// `redis::Script`'s `EVALSHA` with a `SCRIPT LOAD` fallback: the scripts run only on
    /// misses and evictions, and a few hundred bytes more then cost less than a second path
    /// through the pool and the breaker.
    async fn eval(
        &self,
        script: &str,
        key: String,
        args: &[&str],
        gate: Gate,
    ) -> Result<(), CacheError> {
        let mut command = redis::cmd("EVAL");
        command.arg(script).arg(1).arg(key);
        for arg in args {
            command.arg(*arg);
        }
        self.execute::<redis::Value>(&command, gate).await.map(drop)
    }

    /// Runs `command` on a pooled connection, checkout and answer within the operation
    /// timeout, and keeps the breaker informed.
    async fn execute<T: FromRedisValue>(&self, command: &Cmd, gate: Gate) -> Result<T, CacheError> {
        if gate == Gate::Breaker && self.breaker.admit(Instant::now()) == Admission::Skipped {
            return Err(CacheError::Skipped);
        }
        let attempt = async {
            let mut connection = self.pool.get().await.map_err(CacheError::Pool)?;
            command.query_async::<T>(&mut connection).await.map_err(CacheError::Command)
        };
        let result = tokio::time::timeout(self.operation_timeout, attempt)
            .await
            .unwrap_or(Err(CacheError::Timeout(self.operation_timeout)));
        match &result {
            Ok(_) => {
                if self.breaker.record_success() {
                    tracing::info!(redis.endpoint = %self.endpoint, "redis answers again");
                }
            }
            Err(err) if err.is_redis_failure() => {
                if self.breaker.record_failure(Instant::now()) == Transition::Opened {
                    tracing::warn!(
                        redis.endpoint = %self.endpoint,
                        error = %err,
                        "redis failed; skipping it for a while"
                    );
                }
            }
            Err(_) => {}
        }
        result
    }
}

impl fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisCache")
            .field("endpoint", &self.endpoint)
            .field("key_prefix", &self.key_prefix)
            .field("ttl_millis", &self.ttl_millis)
            .field("operation_timeout", &self.operation_timeout)
            .finish_non_exhaustive()
    }
}

/// `PING` within the operation timeout, past the breaker: the check must see Redis itself,
/// and its answer closes or opens the breaker like any other call.
#[async_trait]
impl domain::ports::HealthCheck for RedisCache {
    async fn ping(&self) -> PortResult<()> {
        self.execute::<String>(&redis::cmd("PING"), Gate::Always).await?;
        Ok(())
    }
}

/// Stores a snapshot unless the key holds a higher revision (a newer snapshot or an
/// eviction's tombstone). KEYS[1]: the snapshot key; ARGV: revision, JSON, TTL in ms.
const PUT_SNAPSHOT: &str = r"
local held = redis.call('HGET', KEYS[1], 'rev')
if held and tonumber(held) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'rev', ARGV[1], 'doc', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

/// Replaces the snapshot by a tombstone at the higher of its revision and the held one.
/// KEYS[1]: the snapshot key; ARGV: revision, TTL in ms.
const EVICT_SNAPSHOT: &str = r"
local held = redis.call('HGET', KEYS[1], 'rev')
local floor = tonumber(ARGV[1])
if held and tonumber(held) > floor then floor = tonumber(held) end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'rev', string.format('%d', floor))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// Stores a build summary unless the build's tombstone is there.
/// KEYS[1]: the build key; ARGV: JSON, TTL in ms.
const PUT_SUMMARY: &str = r"
if redis.call('HEXISTS', KEYS[1], 'deleted') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// Replaces a build summary by its tombstone. KEYS[1]: the build key; ARGV: TTL in ms.
const EVICT_BUILD: &str = r"
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'deleted', '1')
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
";

#[async_trait]
impl Cache for RedisCache {
    #[tracing::instrument(name = "redis.get_policy_snapshot", skip_all, fields(app.id = %application_id))]
    async fn get_policy_snapshot(
        &self,
        application_id: ApplicationId,
    ) -> PortResult<Option<Arc<PolicySnapshot>>> {
        let json = self.get_doc(self.snapshot_key(application_id)).await?;
        Ok(json.as_deref().map(codec::decode_snapshot).transpose()?.map(Arc::new))
    }

    #[tracing::instrument(name = "redis.put_policy_snapshot", skip_all, fields(app.id = %application_id))]
    async fn put_policy_snapshot(
        &self,
        application_id: ApplicationId,
        snapshot: Arc<PolicySnapshot>,
    ) -> PortResult<()> {
        let json = codec::encode_snapshot(&snapshot)?;
        let (revision, ttl) = (snapshot.revision().to_string(), self.ttl_millis.to_string());
        let key = self.snapshot_key(application_id);
        Ok(self.eval(PUT_SNAPSHOT, key, &[&revision, &json, &ttl], Gate::Breaker).await?)
    }

    #[tracing::instrument(name = "redis.evict_policy_snapshot", skip_all, fields(app.id = %application_id, policy.revision = revision))]
    async fn evict_policy_snapshot(
        &self,
        application_id: ApplicationId,
        revision: u64,
    ) -> PortResult<()> {
        let (revision, ttl) = (revision.to_string(), self.ttl_millis.to_string());
        let key = self.snapshot_key(application_id);
        Ok(self.eval(EVICT_SNAPSHOT, key, &[&revision, &ttl], Gate::Always).await?)
    }

    #[tracing::instrument(name = "redis.get_build_summary", skip_all, fields(build.id = %build_id))]
    async fn get_build_summary(&self, build_id: BuildId) -> PortResult<Option<Arc<BuildSummary>>> {
        let json = self.get_doc(self.build_key(build_id)).await?;
        Ok(json.as_deref().map(codec::decode_summary).transpose()?.map(Arc::new))
    }

    #[tracing::instrument(name = "redis.put_build_summary", skip_all, fields(build.id = %summary.id()))]
    async fn put_build_summary(&self, summary: Arc<BuildSummary>) -> PortResult<()> {
        let json = codec::encode_summary(&summary)?;
        let ttl = self.ttl_millis.to_string();
        let key = self.build_key(summary.id());
        Ok(self.eval(PUT_SUMMARY, key, &[&json, &ttl], Gate::Breaker).await?)
    }

    #[tracing::instrument(name = "redis.evict_build", skip_all, fields(build.id = %build_id))]
    async fn evict_build(&self, build_id: BuildId) -> PortResult<()> {
        let ttl = self.ttl_millis.to_string();
        Ok(self.eval(EVICT_BUILD, self.build_key(build_id), &[&ttl], Gate::Always).await?)
    }
}
