//! PostgreSQL adapter of rtm's application data: [`PgAppDataRepository`] implements
//! `domain::ports::AppDataRepository` (build headers, active policies and overrides, config
//! overrides, import claims, the transactional outbox, and the design time's applications,
//! branches, versions, resources, dependencies, config defaults and idempotency keys) with
//! diesel and diesel-async over a deadpool pool. It depends on `domain` and its own driver (diesel, diesel-async,
//! diesel_migrations) only, never on another adapter, `http-api`, `server` or
//! `build-archive`.
//!
//! # Use
//!
//! ```no_run
//! # async fn start() -> Result<(), adapter_postgres::PgSetupError> {
//! use adapter_postgres::{PgAppDataRepository, PgConfig, migrate};
//!
//! let config = PgConfig::new("postgres://rtm:secret@db:5432/rtm".into());
//! migrate(&config).await?;
//! let repository = PgAppDataRepository::connect(&config).await?;
//! # drop(repository);
//! # Ok(())
//! # }
//! ```
//!
//! # Tables
//!
//! Created by the embedded migrations in `migrations/` (see `README.md` for columns):
//! `build_headers` (unique `(application_id, id)`, indexed newest first per application and
//! per branch), `active_policies` (one per application) and `policy_overrides` (unique per
//! application, subject type and subject id), whose BUILD targets are composite foreign keys
//! to `build_headers (application_id, id)` with `ON DELETE RESTRICT`, so the database itself
//! refuses a policy naming an unknown or foreign build and the delete of a build in use;
//! `config_overrides` (key `(application_id, key)`), `import_claims` (one lease per build id)
//! and `outbox_events`.
//!
//! The design time's tables keep its race rules themselves: `applications` (a partial unique
//! index keeps one live name per workspace), `branches` (one per name), `versions` (a
//! partial unique index keeps one WIP per branch; a commit is an update `WHERE status =
//! 'WIP'`, so of racing commits one finds the row), `resource_versions` (content as `text`,
//! byte-exact), `manifest_links` (unique name per version and type; a composite foreign key
//! keeps the link's name the resource version's), `version_dependencies`,
//! `version_config_defaults` (both removed with their version by cascade) and
//! `idempotency_keys`. Every write to a version's content takes a share lock on the version
//! row first, so a commit waits for it and nothing lands in a committed version. Copying a
//! version copies links, never contents, in set-based statements.
//!
//! # Migrations
//!
//! [`migrate`] takes a session-level advisory lock with a fixed key, creates the configured
//! schema if needed, runs the pending migrations on a blocking thread, and releases the lock:
//! replicas starting at once take turns, and the later ones find nothing to do. A replica
//! that dies while migrating releases the lock with its session; its migration is rolled back.
//!
//! # Outbox and relay leadership
//!
//! Every write that takes events inserts them in the same transaction as the change; a
//! refused write records nothing. The inserts take a transaction-level advisory lock, so
//! sequence order is commit order and the relay never skips an event that commits late.
//!
//! Deliveries must keep their order across replicas, so only one replica's relay reads the
//! outbox: `pending_events` first takes a session-level advisory lock
//! (`pg_try_advisory_lock`, keyed by the outbox table, so each schema has its own) on a
//! connection kept for that purpose outside the pool, and reads on that same connection.
//! The replica holding the lock is the leader; every other replica gets an empty list and
//! tries again on its next call. When the leader's connection fails or the repository is
//! dropped (process exit, crash, network loss detected by TCP keepalive), PostgreSQL ends the
//! session and releases the lock, and the next replica that asks becomes the leader. Delivery
//! is at least once: the new leader resends whatever the old one had not marked sent.
//! `mark_events_sent` sets `sent_at`; rows sent over a day ago are purged at most every ten
//! minutes by the same call.

mod config;
mod connection;
mod error;
mod event_json;
mod migrate;
mod relay;
mod repository;
mod rows;
mod schema;
mod tls;

pub use crate::config::PgConfig;
pub use crate::error::PgSetupError;
pub use crate::migrate::{MigrationReport, migrate};
pub use crate::repository::{PgAppDataRepository, PoolStatus};
pub use crate::tls::{PgSslMode, PgTls};
