//! A circuit breaker, so that a dead Redis costs one timeout per cooldown, not one per request.
//!
//! Closed, every operation goes to Redis. A failure opens it for `cooldown`: operations
//! fail at once without touching Redis. When the cooldown is over, one operation (the
//! first to ask) goes through as a probe while the others keep failing fast for another
//! cooldown; the probe's success closes the breaker, its failure opens it again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The breaker state: `0` when closed, else the millisecond (since `epoch`, plus one, so it
/// is never `0`) until which Redis is skipped.
#[derive(Debug)]
pub(crate) struct Breaker {
    cooldown: Duration,
    epoch: Instant,
    open_until: AtomicU64,
}

/// What a caller learns from [`Breaker::admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Go to Redis.
    Admitted,
    /// Skip Redis: it failed less than a cooldown ago.
    Skipped,
}

/// What [`Breaker::record_failure`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// The breaker was closed and is now open: worth a log line.
    Opened,
    /// It was already open (a failed probe or a concurrent failure).
    StillOpen,
}

impl Breaker {
    /// A closed breaker; a zero `cooldown` disables it (every operation is admitted).
    pub(crate) fn new(cooldown: Duration) -> Self {
        Self { cooldown, epoch: Instant::now(), open_until: AtomicU64::new(0) }
    }

    /// Whether an operation starting at `now` may go to Redis.
    pub(crate) fn admit(&self, now: Instant) -> Admission {
        let open_until = self.open_until.load(Ordering::Acquire);
        if open_until == 0 || self.cooldown.is_zero() {
            return Admission::Admitted;
        }
        let now_ms = self.millis(now);
        if now_ms < open_until {
            return Admission::Skipped;
        }
        // Cooldown over: the one caller that moves the deadline on is the probe.
        let next = now_ms.saturating_add(self.cooldown_ms());
        match self.open_until.compare_exchange(
            open_until,
            next,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            Ok(_) => Admission::Admitted,
            Err(_) => Admission::Skipped,
        }
    }

    /// Whether Redis is being skipped: a failure opened the breaker and no probe has
    /// closed it since (a probe may be under way).
    pub(crate) fn is_open(&self) -> bool {
        self.open_until.load(Ordering::Acquire) != 0
    }

    /// Redis answered: close the breaker. Returns whether it was open.
    pub(crate) fn record_success(&self) -> bool {
        self.open_until.swap(0, Ordering::AcqRel) != 0
    }

    /// Redis failed at `now`: skip it for a cooldown.
    pub(crate) fn record_failure(&self, now: Instant) -> Transition {
        if self.cooldown.is_zero() {
            return Transition::StillOpen;
        }
        let until = self.millis(now).saturating_add(self.cooldown_ms());
        if self.open_until.swap(until, Ordering::AcqRel) == 0 {
            Transition::Opened
        } else {
            Transition::StillOpen
        }
    }

    /// Milliseconds since `epoch`, plus one so that no deadline is `0`.
    fn millis(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.epoch).as_millis();
        u64::try_from(elapsed).unwrap_or(u64::MAX).saturating_add(1)
    }

    fn cooldown_ms(&self) -> u64 {
        u64::try_from(self.cooldown.as_millis()).unwrap_or(u64::MAX).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOLDOWN: Duration = Duration::from_secs(1);

    #[test]
    fn a_closed_breaker_admits_everything() {
        let breaker = Breaker::new(COOLDOWN);
        let now = Instant::now();

        assert_eq!(breaker.admit(now), Admission::Admitted);
        assert_eq!(breaker.admit(now), Admission::Admitted);
    }

    #[test]
    fn a_failure_skips_redis_until_the_cooldown_is_over() {
        let breaker = Breaker::new(COOLDOWN);
        let failed_at = Instant::now();

        assert_eq!(breaker.record_failure(failed_at), Transition::Opened);

        assert_eq!(breaker.admit(failed_at), Admission::Skipped);
        assert_eq!(breaker.admit(failed_at + COOLDOWN / 2), Admission::Skipped);
        assert_eq!(breaker.admit(failed_at + COOLDOWN), Admission::Admitted);
    }

    #[test]
    fn after_the_cooldown_one_probe_goes_through_and_the_others_still_skip() {
        let breaker = Breaker::new(COOLDOWN);
        let failed_at = Instant::now();
        breaker.record_failure(failed_at);
        let later = failed_at + COOLDOWN + Duration::from_millis(10);

        assert_eq!(breaker.admit(later), Admission::Admitted, "the probe");
        assert_eq!(breaker.admit(later), Admission::Skipped, "a second caller waits for the probe");
    }

    #[test]
    fn a_successful_probe_closes_the_breaker_and_a_failed_one_reopens_it() {
        let breaker = Breaker::new(COOLDOWN);
        let failed_at = Instant::now();
        breaker.record_failure(failed_at);
        let probe_at = failed_at + COOLDOWN;
        assert_eq!(breaker.admit(probe_at), Admission::Admitted);

        assert_eq!(breaker.record_failure(probe_at), Transition::StillOpen);
        assert_eq!(breaker.admit(probe_at + COOLDOWN / 2), Admission::Skipped);

        let second_probe_at = probe_at + COOLDOWN;
        assert_eq!(breaker.admit(second_probe_at), Admission::Admitted);
        assert!(breaker.record_success(), "the breaker was open");
        assert_eq!(breaker.admit(second_probe_at), Admission::Admitted);
        assert!(!breaker.record_success(), "the breaker was already closed");
    }

    #[test]
    fn a_zero_cooldown_never_skips() {
        let breaker = Breaker::new(Duration::ZERO);
        let now = Instant::now();

        breaker.record_failure(now);

        assert_eq!(breaker.admit(now), Admission::Admitted);
    }
}
