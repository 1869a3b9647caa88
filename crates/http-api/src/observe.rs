//! What the API tells operators about each request: the `http_server_requests_seconds`
//! histogram in Spring/Micrometer's names and labels, one log line per request, and the
//! Prometheus scrape endpoint of the management port.
//!
//! Metrics go through the `metrics` facade: whatever recorder the process installed (the
//! server's Prometheus exporter) receives them; with none, recording costs nothing.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, HttpResponse, web};

use crate::ApiError;
use crate::trace;

/// Metric names of this crate, in one place (docs/OPERATIONS.md lists them).
pub mod names {
    /// Histogram of request durations in seconds; labels [`METHOD`], [`URI`], [`STATUS`],
    /// [`OUTCOME`], [`EXCEPTION`] (Micrometer's `http.server.requests`).
    pub const HTTP_SERVER_REQUESTS_SECONDS: &str = "http_server_requests_seconds";
    /// The request's method.
    pub const METHOD: &str = "method";
    /// The route pattern that matched (`/api/runtime/app/{appId}/build/info`), or
    /// [`UNKNOWN_URI`](super::UNKNOWN_URI).
    pub const URI: &str = "uri";
    /// The response status code.
    pub const STATUS: &str = "status";
    /// Micrometer's outcome: the class of the status.
    pub const OUTCOME: &str = "outcome";
    /// `None`, or the stable code of the error the request ended with.
    pub const EXCEPTION: &str = "exception";
}

/// Describes this crate's metrics (their `# HELP` lines) to the installed recorder.
pub fn describe_metrics() {
    metrics::describe_histogram!(
        names::HTTP_SERVER_REQUESTS_SECONDS,
        metrics::Unit::Seconds,
        "API requests by method, route pattern, status, outcome and error code"
    );
}

/// The `uri` label of a request that matched no route: a path itself would give every
/// probing client its own time series.
pub const UNKNOWN_URI: &str = "UNKNOWN";

/// The `exception` label of a request that ended without an error (Micrometer's spelling).
const NO_EXCEPTION: &str = "None";

/// The log target of the per-request lines, so that a filter can single them out
/// (`RUST_LOG=http_api::request=off`).
const REQUEST_LOG_TARGET: &str = "http_api::request";

/// The authenticated user of a request, put in the request's extensions by the `Caller`
/// extractor for the request's log line: a name, never the token.
#[derive(Debug, Clone)]
pub(crate) struct RequestUser(pub(crate) String);

/// Micrometer's `outcome` of a status.
pub fn outcome(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "INFORMATIONAL",
        200..=299 => "SUCCESS",
        300..=399 => "REDIRECTION",
        400..=499 => "CLIENT_ERROR",
        500..=599 => "SERVER_ERROR",
        _ => "UNKNOWN",
    }
}

/// The `exception` label of an error: the stable code of an [`ApiError`], else a fixed
/// word. Never a message: messages carry request data and would multiply time series.
fn exception_of(err: &actix_web::Error) -> &'static str {
    match err.as_error::<ApiError>() {
        Some(api_error) => api_error.code(),
        // actix's own errors (a body that cannot be read, a response that failed): only
        // their class is known here.
        None if err.as_response_error().status_code().is_server_error() => "http_server_error",
        None => "http_client_error",
    }
}

/// The middleware of the API app: times every request, records it in
/// `http_server_requests_seconds`, and writes its log line (method, route, status, duration,
/// trace id, user; never a header, so never a token).
pub(crate) async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.match_pattern();
    let trace_id = trace::of(&req);
    // The request is not cloned here: routing needs it unshared. Its extensions are read
    // back from the response. Everything inside runs with the trace id in scope, so error
    // bodies (CORS refusals included) carry the id this line shows.
    let result = trace::scope(trace_id.clone(), next.call(req)).await;
    let elapsed = started.elapsed();
    let (status, exception) = match &result {
        Ok(response) => (response.status(), response.response().error().map(exception_of)),
        Err(err) => (err.as_response_error().status_code(), Some(exception_of(err))),
    };
    let uri = route.as_deref().unwrap_or(UNKNOWN_URI);
    let exception = exception.unwrap_or(NO_EXCEPTION);
    metrics::histogram!(
        names::HTTP_SERVER_REQUESTS_SECONDS,
        names::METHOD => method.as_str().to_owned(),
        names::URI => uri.to_owned(),
        names::STATUS => status.as_u16().to_string(),
        names::OUTCOME => outcome(status),
        names::EXCEPTION => exception,
    )
    .record(elapsed.as_secs_f64());
    let user = result.as_ref().ok().and_then(|response| {
        response.request().extensions().get::<RequestUser>().map(|user| user.0.clone())
    });
    tracing::info!(
        target: REQUEST_LOG_TARGET,
        method = %method,
        route = uri,
        status = status.as_u16(),
        duration_ms = elapsed.as_secs_f64() * 1000.0,
        trace_id = %trace_id,
        user = user.as_deref(),
        exception,
        "request"
    );
    result
}

/// Renders the process's metrics in Prometheus' text format: the server's exporter, after
/// refreshing the gauges that are read on demand (process, pools).
#[derive(Clone)]
pub struct Scrape(Arc<dyn Fn() -> String + Send + Sync>);

impl Scrape {
    /// A scrape that answers what `render` returns.
    pub fn new(render: impl Fn() -> String + Send + Sync + 'static) -> Self {
        Self(Arc::new(render))
    }
}

impl std::fmt::Debug for Scrape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scrape")
    }
}

/// `GET /actuator/prometheus` for the management app:
/// `http_api::management_app(…).configure(http_api::prometheus_endpoint(scrape))`.
pub fn prometheus_endpoint(scrape: Scrape) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(scrape))
            .route("/actuator/prometheus", web::get().to(prometheus));
    }
}

async fn prometheus(scrape: web::Data<Scrape>) -> HttpResponse {
    // Rendering takes the exporter's locks and walks every series: off the server's worker.
    let scrape = scrape.into_inner();
    match web::block(move || (scrape.0)()).await {
        Ok(text) => {
            HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text)
        }
        Err(err) => {
            tracing::error!(error = %err, "rendering the metrics failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_micrometers_status_classes() {
        let cases = [
            (101, "INFORMATIONAL"),
            (200, "SUCCESS"),
            (204, "SUCCESS"),
            (307, "REDIRECTION"),
            (400, "CLIENT_ERROR"),
            (404, "CLIENT_ERROR"),
            (500, "SERVER_ERROR"),
            (503, "SERVER_ERROR"),
            (600, "UNKNOWN"),
        ];
        for (status, expected) in cases {
            let status = StatusCode::from_u16(status).expect("a valid status");
            assert_eq!(outcome(status), expected, "{status}");
        }
    }

    #[test]
    fn the_exception_of_an_api_error_is_its_code_never_its_message() {
        let err: actix_web::Error =
            ApiError::malformed("invalid_json", "secret-looking text at line 1").into();
        assert_eq!(exception_of(&err), "invalid_json");
        let err = actix_web::error::ErrorInternalServerError("boom with details");
        assert_eq!(exception_of(&err), "http_server_error");
    }
}
