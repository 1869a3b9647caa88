//! The wire form of start-by-name: the request's headers and body in, the reply's body out.
//! The shapes are documented in docs/API.md ("Kafka"); the tests here pin them.

use domain::DomainError;
use domain::model::{ApplicationId, RawJson, ResourceName, WorkspaceId};
use domain::runtime::StartByName;
use serde::Serialize;

use crate::payload::{APP_ID_HEADER, WORKSPACE_ID_HEADER};

/// Header with the process definition's name.
pub(crate) const PROCESS_NAME_HEADER: &str = "Fx-ProcessName";
/// Header with the user's access token (a compact JWT, with or without `Bearer `).
pub(crate) const JWT_HEADER: &str = "jwt";

/// Header rtm adds to every reply, after the request's own: the request id,
/// `<request topic>/<partition>/<offset>`. A request is one message of the request topic;
/// the same bytes sent twice are two requests.
pub(crate) const REQUEST_ID_HEADER: &str = "rtm-request-id";

/// The request id of the message at `offset` of `partition` of `topic`.
pub(crate) fn request_id(topic: &str, partition: i32, offset: i64) -> String {
    format!("{topic}/{partition}/{offset}")
}

/// The topic, partition and offset a reply's request id names; `None` for anything else.
/// Topic names cannot hold `/`, so the id splits without ambiguity.
pub(crate) fn parse_request_id(id: &str) -> Option<(&str, i32, i64)> {
    let mut parts = id.rsplitn(3, '/');
    let offset = parts.next()?.parse().ok()?;
    let partition = parts.next()?.parse().ok()?;
    let topic = parts.next().filter(|topic| !topic.is_empty() && !topic.contains('/'))?;
    Some((topic, partition, offset))
}

/// The request id among a reply's headers (the last one of that name: a request may carry
/// one of its own, which the reply echoes before rtm's).
pub(crate) fn request_id_of(headers: &[Header]) -> Option<(&str, i32, i64)> {
    let (_, value) = headers.iter().rev().find(|(key, _)| key == REQUEST_ID_HEADER)?;
    parse_request_id(std::str::from_utf8(value.as_deref()?).ok()?)
}

/// A message header as it came: its name and value, kept to be echoed on the reply.
pub(crate) type Header = (String, Option<Vec<u8>>);

/// Why a message is not a start request; answered as `{"error": {code, message}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed {
    /// `missing_header`, `missing_token`, `invalid_request` or `malformed_json`.
    pub(crate) code: &'static str,
    /// What is wrong, naming the header; never a header's value that could be a secret.
    pub(crate) message: String,
}

impl Malformed {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

/// The request a message carries, or why it carries none. Headers are matched by name
/// regardless of case; when one is repeated, the last one counts (Kafka's `lastHeader`).
pub(crate) fn decode(headers: &[Header], payload: Option<&[u8]>) -> Result<StartByName, Malformed> {
    let process_name = required(headers, PROCESS_NAME_HEADER)?;
    let process_name = ResourceName::parse(process_name).map_err(|err| {
        Malformed::new("invalid_request", format!("header `{PROCESS_NAME_HEADER}`: {}", err.reason))
    })?;
    let application_id =
        ApplicationId::parse(required(headers, APP_ID_HEADER)?).map_err(|err| {
            Malformed::new("invalid_request", format!("header `{APP_ID_HEADER}`: {}", err.reason))
        })?;
    let workspace_id = text(headers, WORKSPACE_ID_HEADER)?
        .map(|raw| {
            WorkspaceId::parse(raw).map_err(|err| {
                Malformed::new(
                    "invalid_request",
                    format!("header `{WORKSPACE_ID_HEADER}`: {}", err.reason),
                )
            })
        })
        .transpose()?;
    let token = text(headers, JWT_HEADER)?
        .map(|raw| bearer_prefix_removed(raw).trim())
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            Malformed::new(
                "missing_token",
                format!("the message has no `{JWT_HEADER}` header with the user's access token"),
            )
        })?
        .to_owned();
    let body = start_data(payload)?;
    Ok(StartByName { application_id, workspace_id, process_name, token, body })
}

/// The start data: a JSON object, kept as sent.
fn start_data(payload: Option<&[u8]>) -> Result<RawJson, Malformed> {
    let payload = payload.filter(|payload| !payload.is_empty()).ok_or_else(|| {
        Malformed::new(
            "malformed_json",
            "the message has no body; send the start data as a JSON object (`{}` for none)",
        )
    })?;
    let text = std::str::from_utf8(payload)
        .map_err(|_| Malformed::new("malformed_json", "the body is not UTF-8 text"))?;
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Ok(RawJson::from_validated(text.to_owned())),
        Ok(_) => Err(Malformed::new("malformed_json", "the body must be a JSON object")),
        Err(err) => Err(Malformed::new("malformed_json", format!("invalid JSON body: {err}"))),
    }
}

/// The value of header `name` (the last one of that name) as text; `None` when absent or
/// blank.
fn text<'a>(headers: &'a [Header], name: &str) -> Result<Option<&'a str>, Malformed> {
    let Some((_, value)) = headers.iter().rev().find(|(key, _)| key.eq_ignore_ascii_case(name))
    else {
        return Ok(None);
    };
    let Some(value) = value else { return Ok(None) };
    let value = std::str::from_utf8(value).map_err(|_| {
        Malformed::new("invalid_request", format!("header `{name}` is not UTF-8 text"))
    })?;
    Ok(Some(value.trim()).filter(|value| !value.is_empty()))
}

fn required<'a>(headers: &'a [Header], name: &str) -> Result<&'a str, Malformed> {
    text(headers, name)?.ok_or_else(|| {
        Malformed::new("missing_header", format!("the message has no `{name}` header"))
    })
}

/// The token without the `Bearer ` scheme some senders copy from an `Authorization` header.
fn bearer_prefix_removed(value: &str) -> &str {
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token,
        None if value.eq_ignore_ascii_case("bearer") => "",
        _ => value,
    }
}

/// `{"error": {"code": …, "message": …}}`.
#[derive(Serialize)]
struct ErrorReply<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
}

/// The body of an error reply.
pub(crate) fn error_body(code: &str, message: &str) -> Vec<u8> {
    // Serializing two strings cannot fail; the fallback keeps the reply well-formed anyway.
    serde_json::to_vec(&ErrorReply { error: ErrorDetail { code, message } }).unwrap_or_else(|_| {
        br#"{"error":{"code":"internal_error","message":"internal failure"}}"#.to_vec()
    })
}

/// The error reply's code and message for a failed start. Failures inside rtm say no more
/// than the REST API's 5xx bodies do; the log line has the cause.
pub(crate) fn failure(err: &DomainError) -> (&'static str, String) {
    let message = match err {
        DomainError::Internal(_) => "internal failure".to_owned(),
        DomainError::Unavailable(_) => "a dependency is unavailable".to_owned(),
        other => other.to_string(),
    };
    (err.code(), message)
}

#[cfg(test)]
mod tests {
    use domain::ports::{EngineError, PortError, TokenError};

    use super::*;

    const APP: &str = "3f1c2d9e-0000-4000-8000-000000000001";
    const WORKSPACE: &str = "3f1c2d9e-0000-4000-8000-0000000000aa";

    fn header(name: &str, value: &str) -> Header {
        (name.to_owned(), Some(value.as_bytes().to_vec()))
    }

    fn complete() -> Vec<Header> {
        vec![
            header("Fx-ProcessName", "onboarding"),
            header("Fx-AppId", APP),
            header("jwt", "eyJ.header.sig"),
            header("fxContext", "main"),
        ]
    }

    fn without(name: &str) -> Vec<Header> {
        complete().into_iter().filter(|(key, _)| key != name).collect()
    }

    fn refusal(headers: &[Header], payload: Option<&[u8]>) -> Malformed {
        decode(headers, payload).expect_err("the message should be refused")
    }

    #[test]
    fn a_complete_message_is_a_start_on_the_named_application() {
        let request = decode(&complete(), Some(br#"{"clientId": 7}"#)).unwrap();
        assert_eq!(request.application_id.to_string(), APP);
        assert_eq!(request.process_name.as_str(), "onboarding");
        assert_eq!(request.workspace_id, None);
        assert_eq!(request.token, "eyJ.header.sig");
        assert_eq!(request.body.as_str(), r#"{"clientId": 7}"#, "the start data is kept as sent");
    }

    #[test]
    fn the_workspace_header_is_optional_and_names_are_matched_regardless_of_case() {
        let headers = vec![
            header("fx-processname", "onboarding"),
            header("FX-APPID", APP),
            header("Fx-WorkspaceId", WORKSPACE),
            header("JWT", "Bearer eyJ.header.sig"),
        ];
        let request = decode(&headers, Some(b"{}")).unwrap();
        assert_eq!(request.workspace_id.unwrap().to_string(), WORKSPACE);
        assert_eq!(request.token, "eyJ.header.sig", "a copied `Bearer ` scheme is dropped");
    }

    #[test]
    fn the_last_of_repeated_headers_counts() {
        let mut headers = complete();
        headers.push(header("Fx-ProcessName", "payment"));
        assert_eq!(decode(&headers, Some(b"{}")).unwrap().process_name.as_str(), "payment");
    }

    #[test]
    fn a_missing_or_blank_header_is_named() {
        for name in ["Fx-ProcessName", "Fx-AppId"] {
            let err = refusal(&without(name), Some(b"{}"));
            assert_eq!(err.code, "missing_header", "{name}");
            assert!(err.message.contains(name), "{err:?}");
            let mut blank = without(name);
            blank.push(header(name, "  "));
            assert_eq!(refusal(&blank, Some(b"{}")).code, "missing_header", "{name}");
        }
        let mut no_value = without("Fx-AppId");
        no_value.push(("Fx-AppId".to_owned(), None));
        assert_eq!(refusal(&no_value, Some(b"{}")).code, "missing_header");
    }

    #[test]
    fn a_message_without_a_token_is_missing_token_like_a_request_without_a_bearer() {
        let err = refusal(&without("jwt"), Some(b"{}"));
        assert_eq!(err.code, "missing_token");
        let mut only_scheme = without("jwt");
        only_scheme.push(header("jwt", "Bearer "));
        assert_eq!(refusal(&only_scheme, Some(b"{}")).code, "missing_token");
    }

    #[test]
    fn ids_and_names_that_break_their_rules_are_invalid_requests() {
        let mut bad_app = without("Fx-AppId");
        bad_app.push(header("Fx-AppId", "not-a-uuid"));
        let err = refusal(&bad_app, Some(b"{}"));
        assert_eq!(err.code, "invalid_request");
        assert!(err.message.starts_with("header `Fx-AppId`"), "{err:?}");

        let mut bad_workspace = complete();
        bad_workspace.push(header("Fx-WorkspaceId", "nope"));
        assert_eq!(refusal(&bad_workspace, Some(b"{}")).code, "invalid_request");

        let mut bad_name = without("Fx-ProcessName");
        bad_name.push(header("Fx-ProcessName", "line\nbreak"));
        assert_eq!(refusal(&bad_name, Some(b"{}")).code, "invalid_request");

        let mut not_text = without("Fx-AppId");
        not_text.push(("Fx-AppId".to_owned(), Some(vec![0xff, 0xfe])));
        assert_eq!(refusal(&not_text, Some(b"{}")).code, "invalid_request");
    }

    #[test]
    fn a_body_that_is_not_a_json_object_is_malformed_json() {
        let payloads: [Option<&[u8]>; 6] = [
            None,
            Some(b""),
            Some(b"not json"),
            Some(b"[1, 2]"),
            Some(b"\"s\""),
            Some(&[0xff, 0x00]),
        ];
        for payload in payloads {
            let err = refusal(&complete(), payload);
            assert_eq!(err.code, "malformed_json", "{payload:?}");
        }
    }

    #[test]
    fn no_refusal_echoes_the_token() {
        let mut bad_app = complete();
        bad_app.push(header("Fx-AppId", "nope"));
        let err = refusal(&bad_app, Some(b"{}"));
        assert!(!err.message.contains("eyJ"), "{err:?}");
    }

    #[test]
    fn a_request_id_names_topic_partition_and_offset_and_reads_back() {
        let id = request_id("ai.flowx.dev.core.trigger.start-by-name.process.v1", 2, 41);
        assert_eq!(id, "ai.flowx.dev.core.trigger.start-by-name.process.v1/2/41");
        assert_eq!(
            parse_request_id(&id),
            Some(("ai.flowx.dev.core.trigger.start-by-name.process.v1", 2, 41))
        );
        for bad in ["", "t/1", "/1/2", "t/x/2", "t/1/y", "a/b/1/2"] {
            assert_eq!(parse_request_id(bad), None, "{bad}");
        }
        let mut headers = complete();
        headers.push(header(REQUEST_ID_HEADER, "forged/0/0"));
        headers.push(header(REQUEST_ID_HEADER, "in/3/7"));
        assert_eq!(request_id_of(&headers), Some(("in", 3, 7)), "the last one is rtm's");
        assert_eq!(request_id_of(&complete()), None);
    }

    #[test]
    fn an_error_reply_is_an_error_object_with_code_and_message() {
        let body: serde_json::Value =
            serde_json::from_slice(&error_body("process_not_found", "process `x` \"quoted\""))
                .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "process_not_found", "message": "process `x` \"quoted\""}})
        );
    }

    #[test]
    fn failures_inside_rtm_never_echo_their_cause() {
        let internal = DomainError::Internal(PortError::Backend("password=hunter2".into()));
        assert_eq!(failure(&internal), ("internal_error", "internal failure".to_owned()));
        let unavailable = DomainError::Unavailable(PortError::Unavailable("db at 10.0.0.1".into()));
        assert_eq!(
            failure(&unavailable),
            ("service_unavailable", "a dependency is unavailable".to_owned())
        );
        let refused = DomainError::ProcessEngine(EngineError::Refused {
            status: 422,
            message: "clientId is required".into(),
        });
        let (code, message) = failure(&refused);
        assert_eq!(code, "process_engine_refused");
        assert!(message.contains("clientId is required"), "{message}");
        let expired = DomainError::Unauthenticated(TokenError::Rejected {
            code: "token_expired",
            message: "the token has expired".into(),
        });
        assert_eq!(failure(&expired), ("token_expired", "the token has expired".to_owned()));
    }
}
