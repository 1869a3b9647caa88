//! The MongoDB runtime store honours the runtime-data contract on a real server
//! (`APP_TEST_MONGO_URL`, such as `mongodb://127.0.0.1:27117`), in a database of its own.

#[path = "support/scratch.rs"]
mod scratch;

#[tokio::test]
async fn the_mongo_store_honours_the_runtime_data_contract() {
    let Some(scratch) = scratch::Scratch::new().await else { return };
    let store = scratch.store().await;

    port_contracts::runtime_data::run_all(&store).await;

    scratch.drop_database().await;
}
