//! The S3 adapter of rtm's [`BlobStore`](domain::ports::BlobStore) port: build archives and
//! media binaries as objects of one bucket (`applications-bucket` by default), through
//! `rust-s3` with path-style addressing, so it works with AWS S3, MinIO and s3s-fs alike.
//!
//! It depends on `domain` and its own driver (`rust-s3`) only.
//!
//! [`S3BlobStore::connect`] checks the credentials and creates the bucket when it is
//! missing; every operation is bounded by [`S3Config::request_timeout`], and fails with
//! `PortError::Unavailable` when the service cannot be reached in time and
//! `PortError::Backend` when it refuses (wrong keys, missing rights), with the service's
//! error code in the message.

mod config;
mod error;
mod store;

pub use crate::config::S3Config;
pub use crate::store::S3BlobStore;
