//! Real-backend mode: PostgreSQL, MongoDB, S3, Kafka, the realm's JWKS and, optionally,
//! Redis, each connected with bounded timeouts so that a missing backend stops the start
//! with a message naming it instead of hanging.

use std::sync::Arc;
use std::time::Duration;

use adapter_kafka::{KafkaEventPublisher, PolicyUpdateListener};
use adapter_memory::TokioTimer;
use adapter_mongo::MongoRuntimeDataStore;
use adapter_near_cache::{NearCache, NearCacheConfig};
use adapter_postgres::PgAppDataRepository;
use adapter_redis::RedisCache;
use adapter_s3::S3BlobStore;
use anyhow::Context as _;
use domain::ports::{Cache, Ports};
use http_api::Health;
use http_api::auth::{JwksKeySource, JwksSettings, TokenPolicy, TokenValidator};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::health;
use crate::observability::Pools;
use crate::settings::backends::RealBackends;

/// Least time between two JWKS fetches caused by unknown key ids.
const JWKS_MIN_REFETCH: Duration = Duration::from_secs(30);
/// Timeout of one request to the identity provider.
const JWKS_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// The ports over the real backends, the token validator of the realm, and the background
/// tasks: the listener that keeps this replica's cache in step with the others, and the
/// timer that refetches the realm's signing keys. Both end when the start's
/// `CancellationToken` is cancelled.
pub(crate) struct RealMode {
    pub(crate) ports: Ports,
    pub(crate) tokens: TokenValidator,
    pub(crate) listener: JoinHandle<()>,
    pub(crate) key_refresh: JoinHandle<()>,
    /// The connection pools, for their gauges.
    pub(crate) pools: Pools,
    /// The near cache (also in `ports.cache`), for the revision it has applied.
    pub(crate) near_cache: Arc<NearCache>,
}

/// Runs the database migrations under PostgreSQL's advisory lock (`rtm migrate`, and the
/// start unless `RTM_MIGRATE_ON_START=false`).
pub(crate) async fn migrate(backends: &RealBackends) -> anyhow::Result<Vec<String>> {
    let report = adapter_postgres::migrate(&backends.postgres)
        .await
        .context("could not migrate PostgreSQL (SPRING_DATASOURCE_URL)")?;
    Ok(report.applied)
}

/// Connects every backend, marking each component of `health` UP once connected (the
/// management server shows the start's progress).
pub(crate) async fn connect(
    backends: &RealBackends,
    near_cache: NearCacheConfig,
    health: &Health,
    cancel: CancellationToken,
) -> anyhow::Result<RealMode> {
    if backends.migrate_on_start {
        let applied = migrate(backends).await?;
        tracing::info!(n_applied = applied.len(), "database schema is up to date");
    }
    let app_data = PgAppDataRepository::connect(&backends.postgres)
        .await
        .context("could not connect to PostgreSQL (SPRING_DATASOURCE_URL)")?;
    health.set_up(health::DB);
    let runtime_data = MongoRuntimeDataStore::connect(&backends.mongo)
        .await
        .context("could not connect to MongoDB (SPRING_DATA_MONGODB_URI)")?;
    health.set_up(health::MONGO);
    let blobs = S3BlobStore::connect(&backends.s3)
        .await
        .context("could not connect to S3 (APPLICATION_FILE_STORAGE_S3_SERVER_URL)")?;
    health.set_up(health::S3);
    let created = adapter_kafka::ensure_topics(&backends.kafka)
        .await
        .context("could not reach Kafka (SPRING_KAFKA_BOOTSTRAP_SERVERS)")?;
    if !created.is_empty() {
        tracing::info!(n_created = created.len(), "created missing Kafka topics");
    }
    let events = KafkaEventPublisher::connect(&backends.kafka)
        .await
        .context("could not connect to Kafka (SPRING_KAFKA_BOOTSTRAP_SERVERS)")?;
    health.set_up(health::KAFKA);
    let app_data = Arc::new(app_data);
    let mut pools = Pools { postgres: Some(app_data.clone()), redis: None };
    let shared: Option<Arc<dyn Cache>> = match &backends.redis {
        // Redis is optional and never stops the start: an unreachable one is a cache miss.
        Some(config) => {
            let redis = Arc::new(
                RedisCache::connect(config)
                    .await
                    .context("invalid Redis configuration (SPRING_REDIS_HOST)")?,
            );
            pools.redis = Some(redis.clone());
            Some(redis)
        }
        None => {
            tracing::info!(
                "no Redis configured: each replica caches in its near cache, kept in step through Kafka"
            );
            None
        }
    };
    let near_cache = Arc::new(NearCache::new(near_cache, shared));
    let cache: Arc<dyn Cache> = near_cache.clone();
    let listener = {
        let cache = cache.clone();
        PolicyUpdateListener::spawn(
            &backends.kafka,
            Arc::new(move |application_id, revision| {
                let cache = cache.clone();
                tokio::spawn(async move {
                    if let Err(err) = cache.evict_policy_snapshot(application_id, revision).await {
                        tracing::warn!(error = %err, app.id = %application_id, "could not evict a cached resolution");
                    }
                });
            }),
            cancel.clone(),
        )
    };
    let keys = Arc::new(
        JwksKeySource::new(JwksSettings {
            issuer: backends.oauth.issuer.clone(),
            request_timeout: JWKS_REQUEST_TIMEOUT,
            min_refetch_interval: JWKS_MIN_REFETCH,
            refresh_interval: backends.oauth.jwks_refresh,
        })
        .context("invalid identity provider (SECURITY_OAUTH2_BASE_SERVER_URL)")?,
    );
    // An identity provider that is down does not stop the start: the failure is logged, and
    // the keys are fetched on the next tick or when a token needs them.
    let _ = keys.refresh().await;
    let key_refresh = tokio::spawn({
        let keys = keys.clone();
        async move { keys.refresh_periodically(cancel.cancelled_owned()).await }
    });
    let tokens = TokenValidator::new(
        keys,
        TokenPolicy {
            issuers: vec![backends.oauth.issuer.clone()],
            audience: backends.oauth.audience.clone(),
            leeway_seconds: 30,
        },
    );
    let ports = Ports {
        app_data,
        runtime_data: Arc::new(runtime_data),
        events: Arc::new(events),
        cache,
        blobs: Arc::new(blobs),
        timer: Arc::new(TokioTimer),
    };
    Ok(RealMode { ports, tokens, listener, key_refresh, pools, near_cache })
}
