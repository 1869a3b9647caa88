//! The Redis adapter of rtm's optional [`Cache`](domain::ports::Cache) port: resolution
//! snapshots and builds, as JSON, each written with a TTL (`SPRING_REDIS_TTL`).
//!
//! It depends on `domain` and its own driver (`deadpool-redis`) only.
//!
//! Redis is optional by contract: rtm must answer every request with Redis down. So
//! * [`RedisCache::connect`] does not fail when Redis is unreachable (it logs a warning);
//!   the pool opens connections when they are needed;
//! * every operation, connection checkout included, is bounded by
//!   [`RedisConfig::operation_timeout`] and then fails with `PortError::Unavailable`, which
//!   the services treat as a miss;
//! * a circuit breaker skips Redis for [`RedisConfig::breaker_cooldown`] (1 s) after a
//!   failure, so a dead or hanging Redis costs one timeout per cooldown instead of one per
//!   request. Then one operation probes Redis; its success closes the breaker. Evictions
//!   never skip: a skipped eviction would leave a stale entry until its TTL.
//!
//! The stored format (see the `codec` module) is this crate's own; its version is part of
//! every key (`{prefix}v1:snapshot:{applicationId}`, `{prefix}v1:build:{buildId}`), so a
//! new format never reads an old entry.

mod breaker;
mod cache;
mod codec;
mod config;
mod error;

pub use crate::cache::{PoolStatus, RedisCache};
pub use crate::config::RedisConfig;
