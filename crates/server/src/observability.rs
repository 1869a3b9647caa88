//! Metrics of the process: the Prometheus recorder behind the `metrics` facade that the
//! domain, http-api and the adapters record through, the gauges read at each scrape
//! (process, connection pools, the Redis breaker), and the outbox gauges sampled by the
//! relay. Metric names recorded here are in [`names`]; docs/OPERATIONS.md lists them all.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use adapter_postgres::PgAppDataRepository;
use adapter_redis::RedisCache;
use anyhow::Context as _;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Metric names and labels recorded by the server.
pub(crate) mod names {
    /// Hikari's names, so that the Spring dashboards' pool panels work: connections in
    /// use, idle, callers waiting for one, the pool's maximum, and the open ones.
    pub(crate) const HIKARI_ACTIVE: &str = "hikaricp_connections_active";
    pub(crate) const HIKARI_IDLE: &str = "hikaricp_connections_idle";
    pub(crate) const HIKARI_PENDING: &str = "hikaricp_connections_pending";
    pub(crate) const HIKARI_MAX: &str = "hikaricp_connections_max";
    pub(crate) const HIKARI_TOTAL: &str = "hikaricp_connections";
    /// The same for the Redis pool.
    pub(crate) const REDIS_ACTIVE: &str = "rtm_redis_pool_connections_active";
    pub(crate) const REDIS_IDLE: &str = "rtm_redis_pool_connections_idle";
    pub(crate) const REDIS_PENDING: &str = "rtm_redis_pool_connections_pending";
    pub(crate) const REDIS_MAX: &str = "rtm_redis_pool_connections_max";
    /// 1 while the Redis breaker is open (Redis skipped after a failure), else 0.
    pub(crate) const REDIS_BREAKER_OPEN: &str = "rtm_redis_breaker_open";
    /// Label of the pool gauges: the pool's name.
    pub(crate) const POOL: &str = "pool";
    /// The PostgreSQL pool's [`POOL`] label (Hikari's default pool names look alike).
    pub(crate) const POSTGRES_POOL: &str = "rtm-postgres";
    /// The Redis pool's [`POOL`] label.
    pub(crate) const REDIS_POOL: &str = "rtm-redis";
}

/// Bucket bounds (seconds) of every `*_seconds` histogram: from a cached resolution (a few
/// milliseconds) to a large import (tens of seconds).
const SECONDS_BUCKETS: &[f64] =
    &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// How often the relay loop reads the outbox backlog for its gauges.
pub(crate) const OUTBOX_SAMPLE_INTERVAL: Duration = Duration::from_secs(10);

/// The pools whose gauges are read at each scrape (real-backend mode).
#[derive(Debug, Default, Clone)]
pub(crate) struct Pools {
    pub(crate) postgres: Option<Arc<PgAppDataRepository>>,
    pub(crate) redis: Option<Arc<RedisCache>>,
}

/// The process's recorder, installed once.
#[derive(Clone)]
pub(crate) struct Metrics {
    handle: PrometheusHandle,
    process: metrics_process::Collector,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

/// Installs the Prometheus recorder as the `metrics` facade's global recorder (once per
/// process; later calls return the first) and describes every metric.
///
/// # Errors
///
/// When the bucket configuration is refused or another recorder was installed first.
pub(crate) fn install() -> anyhow::Result<Metrics> {
    static INSTALLED: OnceLock<Metrics> = OnceLock::new();
    if let Some(metrics) = INSTALLED.get() {
        return Ok(metrics.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), SECONDS_BUCKETS)
        .context("invalid histogram buckets")?
        .install_recorder()
        .context("could not install the metrics recorder")?;
    let process = metrics_process::Collector::default();
    process.describe();
    describe();
    domain::telemetry::describe();
    adapter_kafka::telemetry::describe();
    http_api::describe_metrics();
    Ok(INSTALLED.get_or_init(|| Metrics { handle, process }).clone())
}

impl Metrics {
    /// What `/actuator/prometheus` answers: the gauges read now, then every series. The
    /// pools are set once the backends are connected (the endpoint answers before that).
    pub(crate) fn scrape(&self, pools: Arc<OnceLock<Pools>>) -> http_api::Scrape {
        let metrics = self.clone();
        http_api::Scrape::new(move || {
            metrics.process.collect();
            if let Some(pools) = pools.get() {
                record_pools(pools);
            }
            metrics.handle.render()
        })
    }
}

fn record_pools(pools: &Pools) {
    if let Some(postgres) = &pools.postgres {
        let status = postgres.pool_status();
        let pool = names::POSTGRES_POOL;
        let hikari =
            [names::HIKARI_ACTIVE, names::HIKARI_IDLE, names::HIKARI_PENDING, names::HIKARI_MAX];
        record_pool(hikari, pool, status.size, status.idle, status.waiting, status.max_size);
        metrics::gauge!(names::HIKARI_TOTAL, names::POOL => pool).set(gauge(status.size));
    }
    if let Some(redis) = &pools.redis {
        let status = redis.pool_status();
        let gauges =
            [names::REDIS_ACTIVE, names::REDIS_IDLE, names::REDIS_PENDING, names::REDIS_MAX];
        record_pool(
            gauges,
            names::REDIS_POOL,
            status.size,
            status.idle,
            status.waiting,
            status.max_size,
        );
        metrics::gauge!(names::REDIS_BREAKER_OPEN).set(if redis.breaker_open() {
            1.0
        } else {
            0.0
        });
    }
}

/// One pool's active, idle, pending and maximum gauges (each adapter reports its own
/// deadpool status type, hence the plain numbers).
fn record_pool(
    [active, idle_name, pending, max]: [&'static str; 4],
    pool: &'static str,
    size: usize,
    idle: usize,
    waiting: usize,
    max_size: usize,
) {
    metrics::gauge!(active, names::POOL => pool).set(gauge(size.saturating_sub(idle)));
    metrics::gauge!(idle_name, names::POOL => pool).set(gauge(idle));
    metrics::gauge!(pending, names::POOL => pool).set(gauge(waiting));
    metrics::gauge!(max, names::POOL => pool).set(gauge(max_size));
}

#[allow(clippy::cast_precision_loss, reason = "gauge values: pool sizes are small")]
fn gauge(count: usize) -> f64 {
    count as f64
}

fn describe() {
    use metrics::describe_gauge;
    describe_gauge!(names::HIKARI_ACTIVE, "PostgreSQL connections in use");
    describe_gauge!(names::HIKARI_IDLE, "PostgreSQL connections open and idle");
    describe_gauge!(names::HIKARI_PENDING, "Callers waiting for a PostgreSQL connection");
    describe_gauge!(names::HIKARI_MAX, "Most PostgreSQL connections the pool opens");
    describe_gauge!(names::HIKARI_TOTAL, "PostgreSQL connections open");
    describe_gauge!(names::REDIS_ACTIVE, "Redis connections in use");
    describe_gauge!(names::REDIS_IDLE, "Redis connections open and idle");
    describe_gauge!(names::REDIS_PENDING, "Callers waiting for a Redis connection");
    describe_gauge!(names::REDIS_MAX, "Most Redis connections the pool opens");
    describe_gauge!(names::REDIS_BREAKER_OPEN, "1 while Redis is skipped after a failure, else 0");
}
