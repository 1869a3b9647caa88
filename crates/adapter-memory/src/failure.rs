//! The one failure knob every fake has: make a coming call fail with a chosen error.

use std::sync::Mutex;

use domain::ports::{PortError, PortResult};

/// Which [`PortError`] an armed fake returns (`PortError` itself is not `Clone`, so tests
/// name the kind and the fake builds the error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// [`PortError::Unavailable`]: the backend cannot be reached.
    Unavailable,
    /// [`PortError::Backend`]: any other backend failure.
    Backend,
    /// [`PortError::Conflict`]: the write collides with existing state.
    Conflict,
}

impl FailureKind {
    fn error(self) -> PortError {
        let message = "failure injected by a test";
        match self {
            Self::Unavailable => PortError::Unavailable(message.into()),
            Self::Backend => PortError::Backend(message.into()),
            Self::Conflict => PortError::Conflict(message.to_owned()),
        }
    }
}

/// The armed failure of one fake: after letting `calls_left` calls through, the next call
/// (of any method) fails, once. A failing call changes nothing.
#[derive(Debug, Default)]
pub(crate) struct FailureSwitch {
    armed: Mutex<Option<Armed>>,
}

#[derive(Debug, Clone, Copy)]
struct Armed {
    calls_left: usize,
    kind: FailureKind,
}

impl FailureSwitch {
    pub(crate) fn arm(&self, calls_left: usize, kind: FailureKind) {
        *crate::lock(&self.armed) = Some(Armed { calls_left, kind });
    }

    /// Called first by every port method: `Err` when this call is the one to fail.
    pub(crate) fn check(&self) -> PortResult<()> {
        let mut armed = crate::lock(&self.armed);
        match armed.as_mut() {
            None => Ok(()),
            Some(Armed { calls_left: 0, kind }) => {
                let kind = *kind;
                *armed = None;
                Err(kind.error())
            }
            Some(Armed { calls_left, .. }) => {
                *calls_left -= 1;
                Ok(())
            }
        }
    }
}

/// The public side of the knob, the same on every fake.
macro_rules! failure_knob {
    ($fake:ty) => {
        impl $fake {
            /// Makes the next call of any method of this fake fail with `kind`, once.
            pub fn fail_next_with(&self, kind: $crate::FailureKind) {
                self.failure.arm(0, kind);
            }

            /// Lets `calls` calls succeed, then makes the next one fail with `kind`, once: for
            /// failing a use case midway, after it has written something.
            pub fn fail_after_calls(&self, calls: usize, kind: $crate::FailureKind) {
                self.failure.arm(calls, kind);
            }
        }
    };
}

pub(crate) use failure_knob;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_switch_fails_exactly_one_call_after_the_ones_it_lets_through() {
        let switch = FailureSwitch::default();
        assert!(switch.check().is_ok());
        switch.arm(2, FailureKind::Unavailable);
        assert!(switch.check().is_ok());
        assert!(switch.check().is_ok());
        assert!(matches!(switch.check(), Err(PortError::Unavailable(_))));
        assert!(switch.check().is_ok());
    }
}
