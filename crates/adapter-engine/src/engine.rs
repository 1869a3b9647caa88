//! `HttpProcessEngine`: one POST per start, on a pooled reqwest client that never retries.

use async_trait::async_trait;
use domain::model::ResourceName;
use domain::ports::{EngineAnswer, EngineError, EngineStart, ProcessEngine};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, Url};

use crate::config::{EngineConfig, EngineConfigError};
use crate::error::{CallError, refusal_message};

/// How much of a refusal's body is read to find its message.
const MAX_REFUSAL_BYTES: usize = 64 * 1024;

const FX_APP_ID: HeaderName = HeaderName::from_static("fx-appid");
const FX_BUILD_ID: HeaderName = HeaderName::from_static("fx-buildid");
const FX_WORKSPACE_ID: HeaderName = HeaderName::from_static("fx-workspaceid");
const FX_PROCESS_NAME: HeaderName = HeaderName::from_static("fx-processname");

/// The process engine over HTTP.
#[derive(Debug, Clone)]
pub struct HttpProcessEngine {
    client: reqwest::Client,
    base_url: Url,
    max_answer_bytes: usize,
}

impl HttpProcessEngine {
    /// A client of the engine `config` names. Nothing is connected yet: the first start
    /// opens the first connection.
    ///
    /// # Errors
    ///
    /// [`EngineConfigError::Client`] when the HTTP client cannot be built.
    pub fn new(config: EngineConfig) -> Result<Self, EngineConfigError> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout.min(config.timeout))
            .timeout(config.timeout)
            .pool_max_idle_per_host(config.max_idle_connections)
            .pool_idle_timeout(config.idle_timeout)
            // A start is not idempotent: reqwest's default retry of protocol NACKs is
            // switched off, and a redirect (a 307 repeats the POST) is not followed.
            .retry(reqwest::retry::never())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("rtm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(EngineConfigError::Client)?;
        Ok(Self {
            client,
            base_url: config.base_url().clone(),
            max_answer_bytes: config.max_answer_bytes,
        })
    }

    /// `{base}/api/process/{name}/start`, the name one percent-encoded path segment.
    fn start_url(&self, process_name: &ResourceName) -> Url {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .expect("EngineConfig::new accepts http(s) URLs only, which always have a path")
            .pop_if_empty()
            .extend(["api", "process", process_name.as_str(), "start"]);
        url
    }

    fn headers(start: &EngineStart) -> Result<HeaderMap, CallError> {
        let text = |value: String| {
            HeaderValue::try_from(value).map_err(|_| CallError::InvalidHeader { what: "value" })
        };
        let mut headers = HeaderMap::new();
        let mut authorization = HeaderValue::from_str(start.credentials.expose())
            .map_err(|_| CallError::InvalidHeader { what: "caller's Authorization" })?;
        // Kept out of any debug print of the request.
        authorization.set_sensitive(true);
        headers.insert(AUTHORIZATION, authorization);
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(FX_APP_ID, text(start.application_id.to_string())?);
        headers.insert(FX_BUILD_ID, text(start.build_id.to_string())?);
        if let Some(workspace_id) = start.workspace_id {
            headers.insert(FX_WORKSPACE_ID, text(workspace_id.to_string())?);
        }
        // A name may hold any printable character; its UTF-8 bytes travel as they are (the
        // path segment, percent-encoded, is the unambiguous copy).
        let process_name = HeaderValue::from_bytes(start.process_name.as_str().as_bytes())
            .map_err(|_| CallError::InvalidHeader { what: "process name" })?;
        headers.insert(FX_PROCESS_NAME, process_name);
        Ok(headers)
    }

    async fn call(&self, start: EngineStart) -> Result<EngineAnswer, CallError> {
        let headers = Self::headers(&start)?;
        let response = self
            .client
            .post(self.start_url(&start.process_name))
            .headers(headers)
            .body(start.body.as_str().to_owned())
            .send()
            .await
            .map_err(CallError::of)?;
        let status = response.status();
        if status.is_success() {
            self.accepted(response).await
        } else if status.is_client_error() {
            // The engine has refused; a body that cannot be read still leaves its status.
            let body = read_at_most(response, MAX_REFUSAL_BYTES).await.unwrap_or_default();
            Err(CallError::Refused {
                status: status.as_u16(),
                message: refusal_message(status, &body),
            })
        } else if status.is_server_error() {
            Err(CallError::Failed { status: status.as_u16() })
        } else {
            Err(CallError::Unexpected { status: status.as_u16() })
        }
    }

    async fn accepted(&self, response: Response) -> Result<EngineAnswer, CallError> {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let limit = self.max_answer_bytes;
        if response.content_length().is_some_and(|length| length > limit as u64) {
            return Err(CallError::AnswerTooLarge { limit });
        }
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(CallError::of)? {
            if body.len() + chunk.len() > limit {
                return Err(CallError::AnswerTooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(EngineAnswer { status, content_type, body })
    }
}

/// Up to `limit` bytes of the body; the rest is left unread.
async fn read_at_most(mut response: Response, limit: usize) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while body.len() < limit {
        let Some(chunk) = response.chunk().await? else { break };
        let room = limit - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
    }
    Ok(body)
}

#[async_trait]
impl ProcessEngine for HttpProcessEngine {
    #[tracing::instrument(
        name = "engine.start",
        skip_all,
        fields(process = %start.process_name, build_id = %start.build_id)
    )]
    async fn start(&self, start: EngineStart) -> Result<EngineAnswer, EngineError> {
        self.call(start).await.map_err(|err| {
            // The port's error keeps the status only; why an answer could not be passed on
            // is said here, once.
            if matches!(
                err,
                CallError::Transport(_)
                    | CallError::Unexpected { .. }
                    | CallError::AnswerTooLarge { .. }
            ) {
                tracing::warn!(error = ?err, "the process engine's answer cannot be passed on");
            }
            EngineError::from(err)
        })
    }
}

#[cfg(test)]
mod tests {
    use domain::model::ResourceName;

    use super::*;

    fn engine(base: &str) -> HttpProcessEngine {
        HttpProcessEngine::new(EngineConfig::new(base).expect("valid URL")).expect("a client")
    }

    fn name(raw: &str) -> ResourceName {
        ResourceName::parse(raw).expect("a valid name")
    }

    #[test]
    fn the_start_route_is_appended_to_the_base_path_with_the_name_as_one_segment() {
        assert_eq!(
            engine("http://engine:8080").start_url(&name("loan_application")).as_str(),
            "http://engine:8080/api/process/loan_application/start"
        );
        assert_eq!(
            engine("http://gateway/engine/").start_url(&name("a/b c?d#e%")).as_str(),
            "http://gateway/engine/api/process/a%2Fb%20c%3Fd%23e%25/start"
        );
    }
}
