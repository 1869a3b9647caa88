//! Why a start did not come back as an answer to pass on, and how each reason becomes an
//! [`EngineError`]: the only way out of this crate.

use domain::ports::EngineError;

/// Longest refusal message passed on to the caller, in characters.
pub(crate) const MAX_MESSAGE_CHARS: usize = 500;

/// What went wrong with one start.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// No connection could be made (refused, no route, DNS, connect timeout): nothing was
    /// sent.
    #[error("cannot connect to the process engine")]
    Connect(#[source] reqwest::Error),
    /// No whole answer within the total timeout.
    #[error("the process engine did not answer within the timeout")]
    Timeout(#[source] reqwest::Error),
    /// The connection broke or the answer was not HTTP.
    #[error("the process engine's answer is not HTTP")]
    Transport(#[source] reqwest::Error),
    /// The engine answered 4xx.
    #[error("the process engine refused the start with {status}")]
    Refused { status: u16, message: String },
    /// The engine answered 5xx.
    #[error("the process engine failed with {status}")]
    Failed { status: u16 },
    /// The engine answered 1xx or 3xx: nothing to pass on, and following a redirect would
    /// send the start a second time.
    #[error("the process engine answered {status}, which is neither an answer nor a refusal")]
    Unexpected { status: u16 },
    /// An accepted start's answer is larger than the configured bound.
    #[error("the process engine's answer is larger than {limit} bytes")]
    AnswerTooLarge { limit: usize },
    /// A value cannot be an HTTP header value, so the request was not sent.
    #[error("the {what} cannot be sent as an HTTP header")]
    InvalidHeader { what: &'static str },
}

impl CallError {
    /// Sorts a reqwest failure: connecting (nothing sent) before timing out, since a connect
    /// timeout is both.
    pub(crate) fn of(err: reqwest::Error) -> Self {
        if err.is_connect() {
            Self::Connect(err)
        } else if err.is_timeout() {
            Self::Timeout(err)
        } else {
            Self::Transport(err)
        }
    }
}

impl From<CallError> for EngineError {
    fn from(err: CallError) -> Self {
        match err {
            CallError::Connect(_) => Self::Unreachable(Box::new(err)),
            CallError::Timeout(_) => Self::TimedOut,
            CallError::Refused { status, message } => Self::Refused { status, message },
            CallError::Failed { status } => Self::Failed { status },
            // A Bad Gateway: the engine said something rtm cannot pass on.
            CallError::Transport(_)
            | CallError::Unexpected { .. }
            | CallError::AnswerTooLarge { .. } => Self::Failed { status: 502 },
            // Only a caller can send such a value (the engine was not asked): a bad request.
            CallError::InvalidHeader { what } => Self::Refused {
                status: 400,
                message: format!(
                    "the {what} cannot be sent to the process engine as an HTTP header"
                ),
            },
        }
    }
}

/// What a refusal says: the `message` of a JSON body (Spring's error body has one; its
/// `error` when the message is empty), else the body as text, else the status's reason;
/// at most [`MAX_MESSAGE_CHARS`] characters.
pub(crate) fn refusal_message(status: reqwest::StatusCode, body: &[u8]) -> String {
    let from_json = serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|json| {
        ["message", "error"].into_iter().find_map(|field| {
            json.get(field)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        })
    });
    let text = from_json.unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
    if text.is_empty() {
        return status.canonical_reason().unwrap_or("no message").to_owned();
    }
    bounded(&text, MAX_MESSAGE_CHARS)
}

fn bounded(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use reqwest::StatusCode;

    use super::*;

    #[test]
    fn the_message_of_a_json_refusal_is_taken() {
        let body = br#"{"timestamp":"2026-12-01T10:00:00Z","status":400,"error":"Bad Request","message":"field amount is required"}"#;
        assert_eq!(refusal_message(StatusCode::BAD_REQUEST, body), "field amount is required");
    }

    #[test]
    fn springs_empty_message_falls_back_to_its_error_field() {
        let body = br#"{"status":403,"error":"Forbidden","message":""}"#;
        assert_eq!(refusal_message(StatusCode::FORBIDDEN, body), "Forbidden");
    }

    #[test]
    fn a_body_that_is_not_json_is_taken_as_text_and_bounded() {
        let long = "x".repeat(2_000);
        let message = refusal_message(StatusCode::BAD_REQUEST, long.as_bytes());
        assert_eq!(
            message.chars().count(),
            MAX_MESSAGE_CHARS + 1,
            "500 characters and an ellipsis"
        );
        assert!(message.ends_with('…'));
        assert_eq!(refusal_message(StatusCode::CONFLICT, b"  busy \n"), "busy");
    }

    #[test]
    fn an_empty_refusal_says_its_status() {
        assert_eq!(refusal_message(StatusCode::NOT_FOUND, b""), "Not Found");
    }

    #[test]
    fn bounding_never_cuts_a_character_in_two() {
        assert_eq!(bounded("ăăă", 2), "ăă…");
        assert_eq!(bounded("ăă", 2), "ăă");
    }
}
