//! rtm's [`RuntimeDataStore`](domain::ports::RuntimeDataStore) on MongoDB: builds and their
//! resource snapshots in the `app-runtime` database that other platform services read too.
//!
//! * [`MongoConfig`]: URI (a secret), database, timeouts and pool sizes.
//! * [`MongoRuntimeDataStore::connect`]: connects, checks the server answers and creates
//!   the indexes.
//! * Collections [`BUILDS_COLLECTION`] (`builds`: one document per build, `_id` = build id,
//!   visible to readers once `status` is `COMPLETE`), [`MANIFESTS_COLLECTION`]
//!   (`build_manifests`: each build's manifest in chunks, in order) and
//!   [`RESOURCES_COLLECTION`] (`build_resources`: one document per resource snapshot, its
//!   content a real BSON document); the stored shapes are described in `documents.rs`.
//!
//! Like every adapter it depends on `domain` and its own driver (`mongodb`) only; driver
//! errors become [`PortError`](domain::ports::PortError) inside this crate.

mod config;
mod content;
mod documents;
mod error;
mod runtime_data;

pub use crate::config::MongoConfig;
pub use crate::runtime_data::{
    BUILDS_COLLECTION, MANIFESTS_COLLECTION, MongoRuntimeDataStore, RESOURCES_COLLECTION,
};
