//! The in-memory adapters pass the same port contracts as every real backend.

use adapter_memory::{
    InMemoryAppDataRepository, InMemoryBlobStore, InMemoryCache, InMemoryEventPublisher,
    InMemoryRuntimeDataStore,
};

#[tokio::test]
async fn the_in_memory_repository_honours_the_app_data_contract() {
    port_contracts::app_data::run_all(&InMemoryAppDataRepository::new()).await;
}

#[tokio::test]
async fn the_in_memory_store_honours_the_runtime_data_contract() {
    port_contracts::runtime_data::run_all(&InMemoryRuntimeDataStore::new()).await;
}

#[tokio::test]
async fn the_in_memory_publisher_honours_the_events_contract_and_keeps_the_order() {
    let publisher = InMemoryEventPublisher::new();

    let sent = port_contracts::events::run_all(&publisher).await;

    port_contracts::events::assert_published_in_order(&publisher.published(), &sent);
}

#[tokio::test]
async fn the_in_memory_cache_honours_the_cache_contract() {
    port_contracts::cache::run_all(&InMemoryCache::new()).await;
}

#[tokio::test]
async fn the_in_memory_blob_store_honours_the_blobs_contract() {
    port_contracts::blobs::run_all(&InMemoryBlobStore::new()).await;
}
