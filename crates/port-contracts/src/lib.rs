//! The behaviour every adapter of a port must show, whatever its backend: the `# Errors`
//! sentences and documented behaviours of `domain::ports`, as executable checks.
//!
//! One module per port. Each has public async checks that take the port as `&dyn Port`,
//! and a `run_all` that runs them in turn; every adapter's `tests/contracts.rs` calls the
//! `run_all` of its port, the in-memory fakes always, the real backends when they are up.
//! A broken rule panics with a message that names it.
//!
//! Real backends keep their state between test runs and may be shared by tests running at
//! the same time, so every check works on fresh random ids (application and build ids,
//! blob-key prefixes), finds its own rows among others', and never assumes an empty store.
//! Timestamps are whole milliseconds, the finest precision every backend keeps.
//!
//! The crate needs no async runtime: callers drive the futures (`#[tokio::test]`).

pub mod app_data;
pub mod blobs;
pub mod cache;
pub mod events;
pub mod health;
pub mod runtime_data;

mod fixtures;
