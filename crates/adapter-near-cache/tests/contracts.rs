//! The near cache passes the cache contract alone, disabled, over the in-memory fake and
//! over a real Redis (`APP_TEST_REDIS_URL`, with a key prefix of its own).

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::sync::Arc;
use std::time::Duration;

use adapter_memory::InMemoryCache;
use adapter_near_cache::{NearCache, NearCacheConfig};
use adapter_redis::{RedisCache, RedisConfig};
use domain::ports::Cache;
use secrecy::SecretString;

const TTL: Duration = Duration::from_secs(300);

#[tokio::test]
async fn the_near_cache_alone_honours_the_cache_contract() {
    let cache = NearCache::new(NearCacheConfig::new(64, TTL), None);
    port_contracts::cache::run_all(&cache).await;
}

#[tokio::test]
async fn the_near_cache_over_a_shared_level_honours_the_cache_contract() {
    let shared: Arc<dyn Cache> = Arc::new(InMemoryCache::new());
    let cache = NearCache::new(NearCacheConfig::new(64, TTL), Some(shared));
    port_contracts::cache::run_all(&cache).await;
}

#[tokio::test]
async fn a_disabled_near_level_over_a_shared_one_honours_the_cache_contract() {
    let shared: Arc<dyn Cache> = Arc::new(InMemoryCache::new());
    let cache = NearCache::new(NearCacheConfig::new(0, TTL), Some(shared));
    port_contracts::cache::run_all(&cache).await;
}

#[tokio::test]
async fn the_near_cache_over_redis_honours_the_cache_contract() {
    test_support::init_tracing();
    let Some(url) = test_support::backend_url("APP_TEST_REDIS_URL") else { return };
    let mut config = RedisConfig::new(SecretString::from(url));
    config.key_prefix = format!("rtm-test:{}:", uuid::Uuid::new_v4());
    let redis: Arc<dyn Cache> = Arc::new(RedisCache::connect(&config).await.unwrap());
    let cache = NearCache::new(NearCacheConfig::new(64, TTL), Some(redis));
    port_contracts::cache::run_all(&cache).await;
}
