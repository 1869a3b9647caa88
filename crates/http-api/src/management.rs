//! The management endpoints on their own port: Spring-shaped health (overall, liveness,
//! readiness) and info.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpResponse, web};
use serde_json::json;

/// Whether the service takes traffic: false until the server has started, and again while
/// it shuts down. Liveness does not depend on it.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Marks the service ready or not.
    pub fn set_ready(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    /// Whether the service is ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Clone)]
struct Info {
    role: String,
    mode: String,
}

/// The management application: `/actuator/health`, `/actuator/health/liveness`,
/// `/actuator/health/readiness` and `/actuator/info`.
pub fn management_app(
    readiness: Readiness,
    role: &str,
    mode: &str,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::Data::new(readiness))
        .app_data(web::Data::new(Info { role: role.to_owned(), mode: mode.to_owned() }))
        .route("/actuator/health", web::get().to(health))
        .route("/actuator/health/liveness", web::get().to(liveness))
        .route("/actuator/health/readiness", web::get().to(readiness_probe))
        .route("/actuator/info", web::get().to(info))
}

fn readiness_state(readiness: &Readiness) -> (&'static str, HttpResponse) {
    if readiness.is_ready() {
        ("UP", HttpResponse::Ok().finish())
    } else {
        ("OUT_OF_SERVICE", HttpResponse::ServiceUnavailable().finish())
    }
}

async fn health(readiness: web::Data<Readiness>) -> HttpResponse {
    let (status, response) = readiness_state(&readiness);
    let mut builder = HttpResponse::build(response.status());
    builder.json(json!({
        "status": status,
        "components": {
            "livenessState": { "status": "UP" },
            "readinessState": { "status": status },
        },
        "groups": ["liveness", "readiness"],
    }))
}

async fn liveness() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "UP" }))
}

async fn readiness_probe(readiness: web::Data<Readiness>) -> HttpResponse {
    let (status, response) = readiness_state(&readiness);
    HttpResponse::build(response.status()).json(json!({ "status": status }))
}

async fn info(info: web::Data<Info>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "app": { "name": "rtm", "version": env!("CARGO_PKG_VERSION"), "role": info.role, "mode": info.mode },
    }))
}
