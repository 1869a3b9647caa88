//! The `HealthCheck` every store port carries: a reachable backend answers `ping`.

use domain::ports::HealthCheck;

/// A reachable backend answers `ping` with `Ok`, again and again (the background health
/// check calls it every few seconds).
pub async fn a_reachable_backend_answers_ping(port: &dyn HealthCheck) {
    for attempt in 0..3 {
        if let Err(err) = port.ping().await {
            panic!("ping {attempt} of a reachable {port:?} failed: {err:?}");
        }
    }
}
