//! The management endpoints on their own port: Spring-shaped health (overall, liveness,
//! readiness, and each backend as a component) and info.
//!
//! Probes never call a backend: [`Health`] holds what the server's background check last
//! saw, and a probe only reads it. Liveness is UP whenever the process answers. Readiness
//! is UP when the server has started ([`Readiness`]) and every *required* component is UP;
//! a component that is not required (Redis, Kafka, S3) shows its state without changing
//! readiness. `/actuator/health` reports the readiness status with every component.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpResponse, web};
use serde_json::{Map, Value, json};

/// Whether the service takes traffic: false until the server has started (every required
/// backend connected), and again while it shuts down. Liveness does not depend on it.
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

/// A component's status, in Spring Boot's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentStatus {
    /// Reachable at the last check.
    Up,
    /// Not reachable at the last check (or not connected yet).
    Down,
    /// Not checked yet.
    Unknown,
}

impl ComponentStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Up => "UP",
            Self::Down => "DOWN",
            Self::Unknown => "UNKNOWN",
        }
    }
}

#[derive(Debug, Clone)]
struct Component {
    status: ComponentStatus,
    required: bool,
    details: Map<String, Value>,
    error: Option<String>,
}

/// The backends' health as last seen, shared by the checker (the server's background task)
/// and the probes.
#[derive(Debug, Clone, Default)]
pub struct Health(Arc<RwLock<BTreeMap<String, Component>>>);

impl Health {
    /// Adds a component (`db`, `mongo`, …), UNKNOWN until first checked, with the details
    /// always shown (such as `{"database": "PostgreSQL"}`). A `required` component must be
    /// UP for the service to be ready.
    pub fn register(&self, name: &str, required: bool, details: Map<String, Value>) {
        self.write().insert(
            name.to_owned(),
            Component { status: ComponentStatus::Unknown, required, details, error: None },
        );
    }

    /// Marks a registered component UP.
    pub fn set_up(&self, name: &str) {
        if let Some(component) = self.write().get_mut(name) {
            component.status = ComponentStatus::Up;
            component.error = None;
        }
    }

    /// Marks a registered component DOWN with `error`, which is shown as is: it must name no
    /// credential.
    pub fn set_down(&self, name: &str, error: impl Into<String>) {
        if let Some(component) = self.write().get_mut(name) {
            component.status = ComponentStatus::Down;
            component.error = Some(error.into());
        }
    }

    /// A component's status, `None` if it is not registered.
    pub fn status(&self, name: &str) -> Option<ComponentStatus> {
        self.read().get(name).map(|component| component.status)
    }

    /// Whether every required component is UP.
    pub fn required_up(&self) -> bool {
        self.read()
            .values()
            .filter(|component| component.required)
            .all(|component| component.status == ComponentStatus::Up)
    }

    fn components_json(&self) -> Map<String, Value> {
        self.read()
            .iter()
            .map(|(name, component)| {
                let mut details = component.details.clone();
                if let Some(error) = &component.error {
                    details.insert("error".to_owned(), Value::String(error.clone()));
                }
                let mut body = Map::new();
                body.insert("status".to_owned(), component.status.as_str().into());
                if !details.is_empty() {
                    body.insert("details".to_owned(), Value::Object(details));
                }
                (name.clone(), Value::Object(body))
            })
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Component>> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Component>> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where `/actuator/info` reads the policy revision this replica's cache has applied: set
/// once the cache exists (after the backends are connected); `null` until then.
#[derive(Clone, Default)]
pub struct PolicyRevisionSource(Arc<OnceLock<Arc<dyn Fn() -> u64 + Send + Sync>>>);

impl PolicyRevisionSource {
    /// Reads the revision from `source` from now on; a second call is ignored (the first
    /// source stays).
    pub fn set(&self, source: Arc<dyn Fn() -> u64 + Send + Sync>) {
        let _ = self.0.set(source);
    }

    /// The applied revision, once a source is set.
    pub fn get(&self) -> Option<u64> {
        self.0.get().map(|source| source())
    }
}

impl fmt::Debug for PolicyRevisionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PolicyRevisionSource").field(&self.get()).finish()
    }
}

/// What `/actuator/info` says about the process.
#[derive(Debug, Clone, Default)]
pub struct AppInfo {
    /// The role(s) served.
    pub role: String,
    /// `real` or `embedded`.
    pub mode: String,
    /// The version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// The git commit the binary was built from, or `unknown`.
    pub commit: String,
    /// The highest policy revision this replica's cache has applied (evictions heard and
    /// snapshots loaded): replicas showing the same value have applied the same changes.
    pub policy_revision: PolicyRevisionSource,
}

/// The management application: `/actuator/health`, `/actuator/health/liveness`,
/// `/actuator/health/readiness` and `/actuator/info`.
pub fn management_app(
    readiness: Readiness,
    health: Health,
    info: AppInfo,
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
        .app_data(web::Data::new(health))
        .app_data(web::Data::new(info))
        .route("/actuator/health", web::get().to(health_endpoint))
        .route("/actuator/health/liveness", web::get().to(liveness))
        .route("/actuator/health/readiness", web::get().to(readiness_probe))
        .route("/actuator/info", web::get().to(info_endpoint))
}

/// Readiness: the status word and whether it is UP.
fn readiness_state(readiness: &Readiness, health: &Health) -> (&'static str, bool) {
    if readiness.is_ready() && health.required_up() { ("UP", true) } else { ("DOWN", false) }
}

fn respond(up: bool, body: Value) -> HttpResponse {
    if up { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}

async fn health_endpoint(
    readiness: web::Data<Readiness>,
    health: web::Data<Health>,
) -> HttpResponse {
    let (status, up) = readiness_state(&readiness, &health);
    let mut components = health.components_json();
    components.insert("livenessState".to_owned(), json!({ "status": "UP" }));
    components.insert("readinessState".to_owned(), json!({ "status": status }));
    respond(
        up,
        json!({
            "status": status,
            "components": components,
            "groups": ["liveness", "readiness"],
        }),
    )
}

async fn liveness() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "UP" }))
}

async fn readiness_probe(
    readiness: web::Data<Readiness>,
    health: web::Data<Health>,
) -> HttpResponse {
    let (status, up) = readiness_state(&readiness, &health);
    respond(up, json!({ "status": status }))
}

async fn info_endpoint(info: web::Data<AppInfo>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "app": { "name": "rtm", "version": info.version, "role": info.role, "mode": info.mode },
        "build": { "name": "rtm", "version": info.version },
        "git": { "commit": { "id": info.commit } },
        "policy": { "revision": info.policy_revision.get() },
    }))
}
