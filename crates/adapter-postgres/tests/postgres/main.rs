//! What the port contract cannot see of the PostgreSQL repository: migrations under
//! concurrency, claims racing, design-time races (commits, WIP starts, resource names) and
//! all-or-nothing writes, relay leadership across replicas, timeouts, indexes and a hundred thousand overrides.
//!
//! Tests that need PostgreSQL read `APP_TEST_POSTGRES_URL` (e.g.
//! `postgres://root@127.0.0.1:5432/test`) and each work in a fresh schema; the tests of an
//! unreachable database need none.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of a test binary; a failed unwrap is a failed test"
)]

mod availability;
mod claims;
mod design;
mod indexes;
mod migrations;
mod overrides;
mod references;
mod relay;
mod support;
mod timers;
