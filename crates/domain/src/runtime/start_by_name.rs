//! Start by name: a process start that arrives as a message (Kafka's start-by-name topic)
//! with the user's token inside it. The token is verified like a bearer token, the start
//! runs on the user's active build, and failures that left the engine untouched are worth
//! another attempt within a bound; the channel only decodes, waits and answers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::DomainResult;
use crate::error::DomainError;
use crate::model::{ApplicationId, RawJson, ResourceName, WorkspaceId};
use crate::ports::{Credentials, EngineError, TokenError, TokenVerifier};
use crate::runtime::process_start::{ProcessStartService, ProcessStarted, StartOn, StartRequest};

/// Default of the retry bound (`RTM_START_BY_NAME_RETRY_SECONDS`).
pub const DEFAULT_RETRY_BOUND: Duration = Duration::from_secs(60);
/// Pause after the first failed attempt; each further pause doubles, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(250);
/// Longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_secs(5);

/// A start as a message asks for it, decoded by the channel.
#[derive(Clone)]
pub struct StartByName {
    /// The application (`Fx-AppId`).
    pub application_id: ApplicationId,
    /// The workspace the message names (`Fx-WorkspaceId`), when it names one.
    pub workspace_id: Option<WorkspaceId>,
    /// The process definition's name (`Fx-ProcessName`).
    pub process_name: ResourceName,
    /// The user's access token (`jwt`); never printed.
    pub token: String,
    /// The start data: a JSON object (checked by the channel).
    pub body: RawJson,
}

impl fmt::Debug for StartByName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StartByName")
            .field("application_id", &self.application_id)
            .field("workspace_id", &self.workspace_id)
            .field("process_name", &self.process_name)
            .field("token", &"<redacted>")
            .field("body", &self.body)
            .finish()
    }
}

/// When a failed start-by-name attempt is worth another one: only failures that left the
/// engine untouched, within a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartRetry {
    bound: Duration,
}

impl StartRetry {
    /// Attempts go on for at most `bound` after the first one.
    pub fn within(bound: Duration) -> Self {
        Self { bound }
    }

    /// How long attempts may go on.
    pub fn bound(self) -> Duration {
        self.bound
    }

    /// The pause before another attempt after `error`, or `None` when the answer is final:
    /// `attempts` were made so far, the first one `elapsed` ago.
    ///
    /// Only failures that left the engine untouched are retried: the engine could not be
    /// reached (nothing was sent, so a retry cannot start twice), a store was unavailable or
    /// the signing keys could not be fetched (both before the engine is asked). A refusal,
    /// an engine failure or a timeout is final: the start may have happened. The pauses
    /// double from 250 ms up to 5 s and the last one ends at the bound, so attempts stop
    /// `bound` after the first one (plus the last attempt's own time).
    pub fn after(self, error: &DomainError, attempts: u32, elapsed: Duration) -> Option<Duration> {
        let transient = matches!(
            error,
            DomainError::ProcessEngine(EngineError::Unreachable(_))
                | DomainError::Unavailable(_)
                | DomainError::Unauthenticated(TokenError::KeysUnavailable)
        );
        if !transient {
            return None;
        }
        let remaining = self.bound.checked_sub(elapsed).filter(|left| !left.is_zero())?;
        let doublings = attempts.saturating_sub(1).min(16);
        let pause = FIRST_PAUSE.saturating_mul(1 << doublings).min(MAX_PAUSE);
        Some(pause.min(remaining))
    }
}

impl Default for StartRetry {
    fn default() -> Self {
        Self::within(DEFAULT_RETRY_BOUND)
    }
}

/// Starts processes for messages: verify the token, resolve the user's active build, start.
#[derive(Debug, Clone)]
pub struct StartByNameService {
    starts: ProcessStartService,
    tokens: Arc<dyn TokenVerifier>,
    retry: StartRetry,
}

impl StartByNameService {
    /// A service that checks tokens with `tokens` (the REST API's own validator), starts
    /// through `starts` and retries as `retry` says.
    pub fn new(
        starts: ProcessStartService,
        tokens: Arc<dyn TokenVerifier>,
        retry: StartRetry,
    ) -> Self {
        Self { starts, tokens, retry }
    }

    /// When a failed attempt is worth another one.
    pub fn retry(&self) -> StartRetry {
        self.retry
    }

    /// One attempt: verifies the token, then starts the process on the active build of the
    /// token's user (resolved as build info resolves it: USER, GROUP, global), once.
    ///
    /// # Errors
    ///
    /// `Unauthenticated` for a token the REST API would refuse (same codes), then the
    /// errors of [`ProcessStartService::start`] (`no_active_policy` for an unknown
    /// application, `process_not_found`, the engine's refusal or failure, …).
    pub async fn start(&self, request: &StartByName) -> DomainResult<ProcessStarted> {
        let principal = self.tokens.verify(&request.token).await?;
        self.starts
            .start(StartRequest {
                application_id: request.application_id,
                on: StartOn::Active { workspace_id: request.workspace_id },
                process_name: request.process_name.clone(),
                principal,
                credentials: Credentials::bearer(&request.token),
                body: request.body.clone(),
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::NotFound;
    use crate::model::BuildId;
    use crate::ports::PortError;

    fn unreachable() -> DomainError {
        DomainError::ProcessEngine(EngineError::Unreachable("connection refused".into()))
    }

    #[test]
    fn an_unreachable_engine_is_retried_with_doubling_pauses_up_to_five_seconds() {
        let retry = StartRetry::within(Duration::from_secs(60));
        let pauses: Vec<Duration> = (1..=7)
            .map(|attempts| retry.after(&unreachable(), attempts, Duration::ZERO).unwrap())
            .collect();
        let ms = Duration::from_millis;
        assert_eq!(pauses, [ms(250), ms(500), ms(1000), ms(2000), ms(4000), ms(5000), ms(5000)]);
        assert_eq!(StartRetry::default().bound(), Duration::from_secs(60));
    }

    #[test]
    fn the_last_pause_ends_at_the_bound_and_none_follows_it() {
        let retry = StartRetry::within(Duration::from_secs(10));
        assert_eq!(
            retry.after(&unreachable(), 9, Duration::from_millis(9_800)),
            Some(Duration::from_millis(200))
        );
        assert_eq!(retry.after(&unreachable(), 10, Duration::from_secs(10)), None);
        assert_eq!(retry.after(&unreachable(), 10, Duration::from_secs(11)), None);
        assert_eq!(
            StartRetry::within(Duration::ZERO).after(&unreachable(), 1, Duration::ZERO),
            None
        );
    }

    #[test]
    fn only_failures_that_left_the_engine_untouched_are_retried() {
        let retry = StartRetry::default();
        let retried = [
            unreachable(),
            DomainError::Unavailable(PortError::Unavailable("db down".into())),
            DomainError::Unauthenticated(TokenError::KeysUnavailable),
        ];
        for error in &retried {
            assert!(retry.after(error, 1, Duration::ZERO).is_some(), "{error:?}");
        }
        let final_answers = [
            DomainError::ProcessEngine(EngineError::Refused { status: 400, message: "no".into() }),
            DomainError::ProcessEngine(EngineError::Failed { status: 500 }),
            DomainError::ProcessEngine(EngineError::TimedOut),
            DomainError::ProcessEngineNotConfigured,
            DomainError::Unauthenticated(TokenError::Rejected {
                code: "token_expired",
                message: "the token has expired".into(),
            }),
            DomainError::NotFound(NotFound::Build {
                application_id: ApplicationId::random(),
                build_id: BuildId::random(),
            }),
            DomainError::Internal(PortError::Backend("broken".into())),
        ];
        for error in &final_answers {
            assert_eq!(retry.after(error, 1, Duration::ZERO), None, "{error:?}");
        }
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let request = StartByName {
            application_id: ApplicationId::random(),
            workspace_id: None,
            process_name: ResourceName::parse("onboarding").unwrap(),
            token: "eyJhbGciOiJFUzI1NiJ9.secret.signature".to_owned(),
            body: RawJson::from_validated("{}".to_owned()),
        };
        let shown = format!("{request:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
