//! What every process-start route shares: the start data read under its 5 MB limit, the
//! caller's `Authorization` taken for the engine, the start through `ProcessStartService`,
//! and the engine's answer passed back unchanged (status, content type, body).

use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use domain::model::{ApplicationId, RawJson, ResourceName};
use domain::ports::{Credentials, EngineAnswer};
use domain::runtime::{StartOn, StartRequest};
use futures_util::StreamExt as _;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ApiError;
use crate::auth::{AuthError, Caller};
use crate::state::RuntimeManagerState;

/// The largest start data accepted (SPEC: 5 MB, a binary megabyte as Spring counts it).
pub(crate) const MAX_START_DATA_BYTES: usize = 5 * 1024 * 1024;

/// The start data, for the OpenAPI document: any JSON object, forwarded as sent.
#[derive(Debug, Serialize, ToSchema)]
#[schema(value_type = Object)]
#[allow(dead_code, reason = "describes the body for the OpenAPI document only")]
pub(crate) struct StartData(serde_json::Map<String, serde_json::Value>);

/// The engine's answer, for the OpenAPI document: the original's start DTO, passed on as
/// the engine sent it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code, reason = "describes the answer for the OpenAPI document only")]
pub(crate) struct ProcessStartedDto {
    /// The process instance.
    uuid: String,
    /// `STARTED`, as the engine says.
    state: String,
    build_id: String,
    application_id: String,
    process_definition_name: String,
}

/// Which process, of which application, on which build, as a route names them.
pub(crate) struct Target {
    pub(crate) application_id: ApplicationId,
    pub(crate) process_name: ResourceName,
    pub(crate) on: StartOn,
}

/// Reads the start data, forwards the start and returns the engine's answer.
pub(crate) async fn start(
    state: &RuntimeManagerState,
    caller: &Caller,
    req: &HttpRequest,
    payload: web::Payload,
    target: Target,
) -> Result<HttpResponse, ApiError> {
    let credentials = credentials(req)?;
    let body = read_start_data(req, payload).await?;
    let started = state
        .process_start
        .start(StartRequest {
            application_id: target.application_id,
            on: target.on,
            process_name: target.process_name,
            principal: caller.principal().clone(),
            credentials,
            body,
        })
        .await?;
    answer(started.answer)
}

/// The caller's `Authorization` header as sent: the engine acts for the same user. The
/// `Caller` extractor has already validated the token in it.
fn credentials(req: &HttpRequest) -> Result<Credentials, ApiError> {
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(|value| Credentials::new(value.to_owned()))
        .ok_or(ApiError::Unauthorized(AuthError::MissingToken))
}

/// Reads the body chunk by chunk, refusing it with 413 as soon as it passes the limit (or at
/// once when its declared length does), and checks that it is a JSON object. An empty body
/// is the empty start data `{}`.
async fn read_start_data(
    req: &HttpRequest,
    mut payload: web::Payload,
) -> Result<RawJson, ApiError> {
    let too_large = || {
        ApiError::TooLarge(format!(
            "the start data is larger than the limit of {MAX_START_DATA_BYTES} bytes (5 MB)"
        ))
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_START_DATA_BYTES as u64) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|err| {
            ApiError::malformed("malformed_json", format!("the body could not be read: {err}"))
        })?;
        if bytes.len() + chunk.len() > MAX_START_DATA_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    start_data(bytes)
}

/// The body as start data: JSON, an object, kept byte for byte.
fn start_data(bytes: Vec<u8>) -> Result<RawJson, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(RawJson::from_validated("{}".to_owned()));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| ApiError::malformed("malformed_json", "invalid JSON body: it is not UTF-8"))?;
    let value = serde_json::from_str::<&serde_json::value::RawValue>(&text).map_err(|err| {
        ApiError::malformed("malformed_json", format!("invalid JSON body: {err}"))
    })?;
    if !value.get().starts_with('{') {
        return Err(ApiError::malformed(
            "invalid_start_data",
            "the start data must be a JSON object, such as {\"amount\": 12000}",
        ));
    }
    Ok(RawJson::from_validated(text))
}

/// The engine's answer as it sent it.
fn answer(answer: EngineAnswer) -> Result<HttpResponse, ApiError> {
    let status = StatusCode::from_u16(answer.status).map_err(ApiError::internal)?;
    let mut response = HttpResponse::build(status);
    if let Some(content_type) = answer.content_type {
        response.insert_header((CONTENT_TYPE, content_type));
    }
    Ok(response.body(answer.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(bytes: &[u8]) -> &'static str {
        start_data(bytes.to_vec()).expect_err("refused").code()
    }

    #[test]
    fn a_json_object_is_kept_byte_for_byte() {
        let body = " {\"b\": 1,  \"a\": [true]}\n";
        assert_eq!(start_data(body.as_bytes().to_vec()).expect("accepted").as_str(), body);
    }

    #[test]
    fn an_empty_body_is_the_empty_object() {
        assert_eq!(start_data(Vec::new()).expect("accepted").as_str(), "{}");
        assert_eq!(start_data(b" \r\n".to_vec()).expect("accepted").as_str(), "{}");
    }

    #[test]
    fn json_that_is_not_an_object_is_invalid_start_data() {
        for body in [&b"[1, 2]"[..], b"\"text\"", b"42", b"null", b"  true "] {
            assert_eq!(code_of(body), "invalid_start_data", "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn a_body_that_is_not_json_is_malformed() {
        assert_eq!(code_of(b"{\"a\": "), "malformed_json");
        assert_eq!(code_of(b"{} {}"), "malformed_json");
        assert_eq!(code_of(b"amount=1"), "malformed_json");
        assert_eq!(code_of(&[b'{', 0xff, b'}']), "malformed_json");
    }
}
