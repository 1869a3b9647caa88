//! Helpers shared by rtm's tests.
//!
//! A dev-dependency of any crate, and a normal dependency of `port-contracts` only (itself
//! test code, never a normal dependency of anything); it may depend on `domain` and on no
//! adapter, framework or driver (`xtask/src/layering.rs`).
//!
//! * [`BuildFixture`] and its companions ([`resources_of`], [`resource`], [`param`],
//!   [`settings`], …) build valid `Build`s, headers and resources: every crate's tests use
//!   these, so a new field of `Build` is learnt here once.
//! * [`init_tracing`] shows the logs of the code under test when `TEST_LOG=1`.
//! * [`backend_url`] gates a test on a real backend (PostgreSQL, MongoDB, Kafka, Redis, S3):
//!   the test skips itself when the backend's URL is not set, instead of a bare `#[ignore]`.
//! * [`tls`]: a throwaway certificate authority and a TLS-terminating proxy (`stunnel4`) for
//!   the tests of TLS towards the backends.
//!
//! ```no_run
//! #[test]
//! fn an_app_is_found_by_its_name_in_postgres() {
//!     test_support::init_tracing();
//!     let Some(url) = test_support::backend_url("APP_TEST_POSTGRES_URL") else { return };
//!     // ... connect to `url` with a schema of this test's own.
//! #   drop(url);
//! }
//! ```

mod builds;
pub mod tls;

use std::sync::LazyLock;

use tracing_subscriber::EnvFilter;

pub use builds::{
    BuildFixture, branch, checksum, config_key, entry, now, param, resource, resource_type,
    resources_of, settings, timer,
};

/// Set to `1` to see the logs of the code under test; unset, tests are silent.
const TEST_LOG: &str = "TEST_LOG";
/// Set to `1` where real backends must be present (the contracts CI job): a missing URL then
/// fails the test instead of skipping it.
const REQUIRE_BACKENDS: &str = "APP_TEST_REQUIRE_BACKENDS";

static TRACING: LazyLock<()> = LazyLock::new(|| {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("debug"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    // A subscriber is installed either way, so that every span and field is still formatted
    // (and a panicking `Display` still shows up) when the output is thrown away.
    let installed = if is_set_to_one(TEST_LOG) {
        builder.with_test_writer().try_init()
    } else {
        builder.with_writer(std::io::sink).try_init()
    };
    // Another global subscriber may already be installed in this test binary; it then wins.
    drop(installed);
});

/// An error and every source under it on one line, for assertions on what an error says
/// all the way down.
pub use domain::ports::error_chain;

/// Installs the tracing subscriber of the tests once per test binary; call it first in every
/// test that wants logs. Silent unless `TEST_LOG=1`; the level follows `RUST_LOG`
/// (default `debug`).
pub fn init_tracing() {
    LazyLock::force(&TRACING);
}

/// The URL of a real backend, read from the environment variable `var`
/// (for example `APP_TEST_POSTGRES_URL`).
///
/// When `var` is unset or empty, prints `skipping: set VAR (cargo xtask services up)` and
/// returns `None`, and the test returns early.
///
/// # Panics
/// When `var` is unset or empty and `APP_TEST_REQUIRE_BACKENDS=1`: in that run a missing
/// backend is a failure, not a skip.
#[must_use]
#[allow(clippy::print_stderr, reason = "the skip must show in the test's output")]
pub fn backend_url(var: &str) -> Option<String> {
    let value = std::env::var(var).ok();
    match lookup(var, value, is_set_to_one(REQUIRE_BACKENDS)) {
        Lookup::Found(url) => Some(url),
        Lookup::Skip(message) => {
            eprintln!("{message}");
            None
        }
        Lookup::Missing(message) => panic!("{message}"),
    }
}

/// What [`backend_url`] does, decided without touching the environment.
#[derive(Debug, PartialEq, Eq)]
enum Lookup {
    Found(String),
    Skip(String),
    Missing(String),
}

fn lookup(var: &str, value: Option<String>, required: bool) -> Lookup {
    match value.filter(|url| !url.is_empty()) {
        Some(url) => Lookup::Found(url),
        None => {
            let message = format!("skipping: set {var} (cargo xtask services up)");
            if required { Lookup::Missing(message) } else { Lookup::Skip(message) }
        }
    }
}

fn is_set_to_one(var: &str) -> bool {
    std::env::var(var).is_ok_and(|value| value == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    const VAR: &str = "APP_TEST_POSTGRES_URL";

    #[test]
    fn a_set_url_is_returned() {
        let url = "postgres://localhost/rtm".to_owned();
        assert_eq!(lookup(VAR, Some(url.clone()), false), Lookup::Found(url.clone()));
        assert_eq!(lookup(VAR, Some(url.clone()), true), Lookup::Found(url));
    }

    #[test]
    fn an_unset_or_empty_url_skips_the_test_and_says_how_to_get_one() {
        let skip = Lookup::Skip(format!("skipping: set {VAR} (cargo xtask services up)"));
        assert_eq!(lookup(VAR, None, false), skip);
        assert_eq!(lookup(VAR, Some(String::new()), false), skip);
    }

    #[test]
    fn a_missing_url_is_a_failure_when_backends_are_required() {
        assert_eq!(
            lookup(VAR, None, true),
            Lookup::Missing(format!("skipping: set {VAR} (cargo xtask services up)"))
        );
    }

    #[test]
    fn tracing_can_be_initialised_more_than_once() {
        init_tracing();
        init_tracing();
        tracing::info!("visible with TEST_LOG=1");
    }
}
