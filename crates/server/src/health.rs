//! The backends' health as the management server shows it: which components exist, and the
//! background check that pings each one every [`CHECK_INTERVAL`] and records what it saw in
//! [`Health`], so that a probe never costs a backend call.
//!
//! PostgreSQL (`db`) and MongoDB (`mongo`) are required: readiness follows them. Kafka,
//! Redis and S3 show their state without changing readiness (events wait in the outbox, a
//! cache miss is served from the stores, and blobs are only needed by imports and exports).

use std::sync::Arc;
use std::time::Duration;

use domain::ports::{HealthCheck, PortError, Ports};
use http_api::Health;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

/// Time between two rounds of the background check.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// The longest one ping may take before its component counts as DOWN.
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The PostgreSQL component.
pub(crate) const DB: &str = "db";
/// The MongoDB component.
pub(crate) const MONGO: &str = "mongo";
/// The Kafka component.
pub(crate) const KAFKA: &str = "kafka";
/// The Redis (cache) component.
pub(crate) const REDIS: &str = "redis";
/// The S3 component.
pub(crate) const S3: &str = "s3";

/// What a process runs on, for the components' details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backends {
    /// Real backends; `redis` says whether a Redis is configured.
    Real { redis: bool },
    /// Every store in memory.
    Embedded,
}

/// Registers the five components, UNKNOWN until connected or checked.
pub(crate) fn register(health: &Health, backends: Backends) {
    let real = |backend: &str| match backends {
        Backends::Real { .. } => backend.to_owned(),
        Backends::Embedded => "in-memory (embedded mode)".to_owned(),
    };
    let redis = match backends {
        Backends::Real { redis: true } => "Redis".to_owned(),
        Backends::Real { redis: false } => "in-memory (no Redis configured)".to_owned(),
        Backends::Embedded => real("Redis"),
    };
    for (name, required, key, value) in [
        (DB, true, "database", real("PostgreSQL")),
        (MONGO, true, "database", real("MongoDB")),
        (KAFKA, false, "backend", real("Kafka")),
        (REDIS, false, "backend", redis),
        (S3, false, "backend", real("S3")),
    ] {
        let mut details = Map::new();
        details.insert(key.to_owned(), Value::String(value));
        health.register(name, required, details);
    }
}

/// Each component's port.
fn components(ports: &Ports) -> [(&'static str, Arc<dyn HealthCheck>); 5] {
    [
        (DB, ports.app_data.clone() as Arc<dyn HealthCheck>),
        (MONGO, ports.runtime_data.clone() as Arc<dyn HealthCheck>),
        (KAFKA, ports.events.clone() as Arc<dyn HealthCheck>),
        (REDIS, ports.cache.clone() as Arc<dyn HealthCheck>),
        (S3, ports.blobs.clone() as Arc<dyn HealthCheck>),
    ]
}

/// One round: every component pinged at once, each within [`CHECK_TIMEOUT`].
pub(crate) async fn check_once(health: &Health, ports: &Ports) {
    let checks = components(ports).map(|(name, port)| async move {
        let outcome = tokio::time::timeout(CHECK_TIMEOUT, port.ping()).await;
        (name, outcome)
    });
    for (name, outcome) in futures_util::future::join_all(checks).await {
        let outcome = match outcome {
            Ok(answer) => answer.map_err(|err| describe(&err)),
            Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
        };
        let was_down = health.status(name) == Some(http_api::ComponentStatus::Down);
        match outcome {
            Ok(()) => {
                if was_down {
                    tracing::info!(component = name, "health check: reachable again");
                }
                health.set_up(name);
            }
            Err(error) => {
                if !was_down {
                    tracing::warn!(component = name, error = %error, "health check: not reachable");
                }
                health.set_down(name, error);
            }
        }
    }
}

pub(crate) async fn check_periodically(health: Health, ports: Ports, cancel: CancellationToken) {
    // The first round is the caller's (`check_once` before readiness): start one interval on.
    let mut interval =
        tokio::time::interval_at(tokio::time::Instant::now() + CHECK_INTERVAL, CHECK_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = interval.tick() => check_once(&health, &ports).await,
        }
    }
}

/// The error and its causes, with the password of any URL in them hidden: a driver may
/// quote the address it failed to reach.
fn describe(err: &PortError) -> String {
    domain::ports::error_chain(err)
        .split(' ')
        .map(|word| {
            if word.contains("://") && word.contains('@') {
                crate::config_check::redact_url(word)
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use adapter_memory::{FailureKind, Fakes};
    use http_api::ComponentStatus;

    use super::*;

    #[tokio::test]
    async fn the_background_check_follows_the_backends_and_redis_never_blocks_readiness() {
        let fakes = Fakes::new();
        let ports = fakes.ports();
        let health = Health::default();
        register(&health, Backends::Real { redis: true });
        assert!(!health.required_up(), "UNKNOWN until checked");
        check_once(&health, &ports).await;
        assert!(health.required_up());

        // MongoDB stops answering: the next round marks it DOWN, the one after UP again.
        fakes.runtime_data.fail_next_with(FailureKind::Unavailable);
        check_once(&health, &ports).await;
        assert_eq!(health.status(MONGO), Some(ComponentStatus::Down));
        assert!(!health.required_up(), "MongoDB is required");
        check_once(&health, &ports).await;
        assert_eq!(health.status(MONGO), Some(ComponentStatus::Up));
        assert!(health.required_up());

        fakes.cache.fail_next_with(FailureKind::Unavailable);
        check_once(&health, &ports).await;
        assert_eq!(health.status(REDIS), Some(ComponentStatus::Down));
        assert!(health.required_up(), "Redis down never makes the service unready");

        fakes.app_data.fail_next_with(FailureKind::Backend);
        check_once(&health, &ports).await;
        assert_eq!(health.status(DB), Some(ComponentStatus::Down));
        assert!(!health.required_up(), "PostgreSQL is required");
    }

    #[test]
    fn an_error_never_shows_a_password() {
        let err = PortError::Unavailable(
            "could not reach mongodb://rtm:hunter2@mongo-0:27017/app-runtime (timeout)".into(),
        );
        let text = describe(&err);
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("mongodb://rtm:****@mongo-0:27017/app-runtime"), "{text}");
    }
}
