//! The test application, tokens, example archives and request helpers.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::test::{self, TestRequest};
use actix_web::web;
use adapter_memory::{Fakes, InMemoryProcessEngine};
use build_archive::{ArchiveLimits, ArchivePackager};
use domain::access::AccessRules;
use domain::builds::BuildService;
use domain::design::{
    ApplicationService, BinaryService, BuildCreationService, ConfigDefaultsService,
    DependencyService, ResourceService, VersionService,
};
use domain::model::{ApplicationId, PageRequest};
use domain::ports::{BuildCatalog as _, Outbox as _};
use domain::runtime::{
    ConfigOverrideService, PolicyService, ProcessStartService, RuntimeService,
    ScheduledProcessService,
};
use http_api::auth::{
    Authenticator, LocalIssuer, StaticKeys, TokenPolicy, TokenRequest, TokenValidator,
};
use http_api::{ApiOptions, Apis, AppManagerState, Roles, RuntimeManagerState};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

pub(crate) const LOAN_APP: &str = "7a3e5c1d-2b4f-4e8a-9c6d-1f2e3a4b5c6d";
pub(crate) const LOAN_BUILD_1: &str = "b1a1e001-0000-4000-8000-000000000001";
pub(crate) const LOAN_BUILD_2: &str = "b1a1e001-0000-4000-8000-000000000002";
pub(crate) const LIBRARY_APP: &str = "5e1f0c2a-7d3b-4a9e-8f6c-2b1a3c4d5e6f";
pub(crate) const LIBRARY_BUILD: &str = "11b0a001-0000-4000-8000-000000000001";

/// The API over fresh fakes, with a local issuer whose tokens it trusts.
pub(crate) struct TestApp {
    pub(crate) fakes: Fakes,
    /// The process engine starts are forwarded to: it records them and answers as told.
    pub(crate) engine: Arc<InMemoryProcessEngine>,
    pub(crate) issuer: Arc<LocalIssuer>,
    apis: Apis,
}

fn shared_issuer() -> Arc<LocalIssuer> {
    static ISSUER: OnceLock<Arc<LocalIssuer>> = OnceLock::new();
    ISSUER.get_or_init(|| Arc::new(LocalIssuer::generate().expect("key"))).clone()
}

impl TestApp {
    pub(crate) fn new() -> Self {
        Self::with(
            ArchiveLimits::default(),
            AccessRules::default(),
            vec![LocalIssuer::ISSUER.to_owned()],
        )
    }

    pub(crate) fn with_limits(limits: ArchiveLimits) -> Self {
        Self::with(limits, AccessRules::default(), vec![LocalIssuer::ISSUER.to_owned()])
    }

    /// The API with no process engine configured (`RTM_PROCESS_ENGINE_URL` unset).
    pub(crate) fn without_process_engine() -> Self {
        let mut app = Self::new();
        if let Some(state) = &mut app.apis.runtime_manager {
            state.process_start = ProcessStartService::new(app.fakes.ports(), None);
        }
        app
    }

    /// The API of the given roles only, as a process of one role serves it.
    pub(crate) fn serving(roles: Roles) -> Self {
        let mut app = Self::new();
        if !roles.runtime_manager {
            app.apis.runtime_manager = None;
        }
        if !roles.app_manager {
            app.apis.app_manager = None;
        }
        app
    }

    pub(crate) fn with(limits: ArchiveLimits, access: AccessRules, issuers: Vec<String>) -> Self {
        test_support::init_tracing();
        let fakes = Fakes::new();
        let issuer = shared_issuer();
        // As the server makes it: every test of the API runs with the token cache on.
        let validator = TokenValidator::new(
            Arc::new(StaticKeys::new(issuer.key_set())),
            TokenPolicy { issuers, audience: None, leeway_seconds: 0 },
        )
        .with_token_cache(std::time::Duration::from_secs(60));
        let ports = fakes.ports();
        let engine = Arc::new(InMemoryProcessEngine::new());
        let builds = BuildService::new(ports.clone());
        let runtime_manager = RuntimeManagerState {
            runtime: RuntimeService::new(ports.clone()),
            process_start: ProcessStartService::new(ports.clone(), Some(engine.clone())),
            builds: builds.clone(),
            policies: PolicyService::new(ports.clone()),
            config_overrides: ConfigOverrideService::new(ports.clone()),
            scheduled_processes: ScheduledProcessService::new(ports.clone()),
            archive_limits: limits,
        };
        let app_manager = AppManagerState {
            applications: ApplicationService::new(ports.clone()),
            versions: VersionService::new(ports.clone()),
            resources: ResourceService::new(ports.clone()),
            binaries: BinaryService::new(ports.clone()),
            dependencies: DependencyService::new(ports.clone()),
            config_defaults: ConfigDefaultsService::new(ports.clone()),
            builds: BuildCreationService::new(
                ports,
                builds,
                Arc::new(ArchivePackager::new(limits)),
            ),
            max_binary_bytes: limits.max_archive_bytes,
        };
        let apis = Apis {
            authenticator: Authenticator::new(validator, access),
            runtime_manager: Some(runtime_manager),
            app_manager: Some(app_manager),
        };
        Self { fakes, engine, issuer, apis }
    }

    /// The service under test.
    pub(crate) async fn service(
        &self,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    > {
        self.service_with(ApiOptions::default()).await
    }

    /// The service under test, with these HTTP options (CORS).
    pub(crate) async fn service_with(
        &self,
        options: ApiOptions,
    ) -> impl Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    > {
        let document = http_api::openapi_document(self.apis.roles());
        test::init_service(http_api::api_app(self.apis.clone(), document, options)).await
    }

    pub(crate) fn token(&self, subject: &str, groups: &[&str], roles: &[&str]) -> String {
        self.issuer
            .issue(&TokenRequest {
                subject: subject.to_owned(),
                groups: groups.iter().map(|group| (*group).to_owned()).collect(),
                roles: roles.iter().map(|role| (*role).to_owned()).collect(),
                ttl_seconds: 600,
                client_id: None,
            })
            .expect("token")
    }

    /// A token issued to OAuth client `client` (its `azp`), as a service account's is.
    pub(crate) fn client_token(&self, client: &str, roles: &[&str]) -> String {
        self.issuer
            .issue(&TokenRequest {
                subject: format!("service-account-{client}"),
                groups: vec![],
                roles: roles.iter().map(|role| (*role).to_owned()).collect(),
                ttl_seconds: 600,
                client_id: Some(client.to_owned()),
            })
            .expect("token")
    }

    /// A token with the highest scope of every authority.
    pub(crate) fn admin(&self) -> String {
        self.token(
            "operator",
            &[],
            &[
                "ROLE_BUILDS_MANAGE_ADMIN",
                "ROLE_ACTIVE_POLICY_MANAGE_EDIT",
                "ROLE_APP_CONFIG_OVERRIDES_MANAGE_ADMIN",
                "ROLE_APPS_MANAGE_ADMIN",
                "ROLE_APP_CONFIG_MANAGE_ADMIN",
                "ROLE_APP_DEPENDENCIES_MANAGE_ADMIN",
            ],
        )
    }

    /// Whether the stores hold nothing at all: no header, no runtime build, no blob, no event.
    pub(crate) async fn assert_nothing_stored(&self) {
        for app in [LOAN_APP, LIBRARY_APP] {
            let headers = self
                .fakes
                .app_data
                .list_build_headers(ApplicationId::parse(app).unwrap(), PageRequest::default())
                .await
                .unwrap();
            assert_eq!(headers.total, 0, "no build header may be stored");
        }
        assert!(
            self.fakes.runtime_data.stored_build_ids().is_empty(),
            "no runtime build may be stored"
        );
        assert!(self.fakes.blobs.keys().is_empty(), "no blob may be stored");
        assert!(
            self.fakes.app_data.pending_events(100).await.unwrap().is_empty(),
            "no event may be recorded"
        );
    }
}

/// A response read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) bytes: web::Bytes,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|err| panic!("not JSON ({err}): {:?}", self.bytes))
    }

    /// Asserts the error envelope with `status` and `code`.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: &str) {
        let body = self.json();
        assert_eq!(self.status.as_u16(), status, "status of {body}");
        assert_eq!(body["status"], status, "{body}");
        assert_eq!(body["code"], code, "{body}");
        assert!(body["message"].as_str().is_some_and(|message| !message.is_empty()), "{body}");
        assert!(body["traceId"].as_str().is_some_and(|trace_id| !trace_id.is_empty()), "{body}");
    }
}

pub(crate) async fn send<S, B>(service: &S, request: TestRequest) -> Reply
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(service, request.to_request()).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    Reply { status, headers, bytes }
}

pub(crate) fn get(path: &str, token: &str) -> TestRequest {
    TestRequest::get().uri(path).insert_header(("Authorization", format!("Bearer {token}")))
}

pub(crate) fn delete(path: &str, token: &str) -> TestRequest {
    TestRequest::delete().uri(path).insert_header(("Authorization", format!("Bearer {token}")))
}

pub(crate) fn put_json(path: &str, token: &str, body: &Value) -> TestRequest {
    TestRequest::put()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .set_json(body)
}

pub(crate) fn post_json(path: &str, token: &str, body: &Value) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .set_json(body)
}

/// A multipart upload of `archive` as the `file` field.
pub(crate) fn upload(path: &str, token: &str, archive: &[u8]) -> TestRequest {
    upload_field(path, token, "file", archive)
}

pub(crate) fn upload_field(path: &str, token: &str, field: &str, archive: &[u8]) -> TestRequest {
    let boundary = "rtm-test-boundary-7d1f";
    let mut body = Vec::new();
    write!(
        body,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"build.zip\"\r\nContent-Type: application/zip\r\n\r\n"
    )
    .unwrap();
    body.extend_from_slice(archive);
    write!(body, "\r\n--{boundary}--\r\n").unwrap();
    TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", format!("multipart/form-data; boundary={boundary}")))
        .set_payload(body)
}

pub(crate) fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/builds")
}

/// An example build directory packed into an archive (once per test binary).
pub(crate) fn example(name: &str) -> Vec<u8> {
    static PACKED: OnceLock<std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>> =
        OnceLock::new();
    let cache = PACKED.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap();
    cache
        .entry(name.to_owned())
        .or_insert_with(|| {
            build_archive::pack_directory(&examples_dir().join(name)).expect("example packs").bytes
        })
        .clone()
}

/// Imports the library and both loan builds; panics unless each is created.
pub(crate) async fn import_examples<S, B>(service: &S, app: &TestApp)
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    for name in ["shared-library-1", "loan-origination-1", "loan-origination-2"] {
        let reply =
            send(service, upload("/api/build-mgmt/builds/import", &app.admin(), &example(name)))
                .await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "import {name}: {}",
            String::from_utf8_lossy(&reply.bytes)
        );
    }
}

/// Writes a zip of `entries` (stored as deflate), adding a manifest computed as
/// docs/BUILD-ARCHIVE.md says when `with_manifest` is set.
pub(crate) fn zip_of(entries: &[(&str, Vec<u8>)], with_manifest: bool) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    if with_manifest {
        writer.start_file("manifest.json", options).unwrap();
        writer.write_all(manifest_for(entries).to_string().as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub(crate) fn manifest_for(entries: &[(&str, Vec<u8>)]) -> Value {
    let mut sorted: Vec<&(&str, Vec<u8>)> = entries.iter().collect();
    sorted.sort_by_key(|(name, _)| *name);
    let listed: Vec<Value> = sorted
        .iter()
        .map(|(name, bytes)| serde_json::json!({"name": name, "sha256": sha256_hex(bytes), "size": bytes.len()}))
        .collect();
    let checksum_input: String = sorted
        .iter()
        .filter(|(name, _)| !name.starts_with("binaries/"))
        .map(|(name, bytes)| format!("{name}\t{}\t{}\n", sha256_hex(bytes), bytes.len()))
        .collect();
    serde_json::json!({"formatVersion": 1, "entries": listed, "checksum": sha256_hex(checksum_input.as_bytes())})
}

/// The entries of an archive, manifest.json left out.
pub(crate) fn entries_of(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    let mut entries = Vec::new();
    for index in 0..zip.len() {
        let mut file = zip.by_index(index).unwrap();
        if file.is_dir() || file.name() == "manifest.json" {
            continue;
        }
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes).unwrap();
        entries.push((file.name().to_owned(), bytes));
    }
    entries
}

/// Re-packs an archive's entries after `change`, with a correct manifest.
pub(crate) fn rewritten(
    archive: &[u8],
    change: impl FnOnce(&mut Vec<(String, Vec<u8>)>),
) -> Vec<u8> {
    let mut entries = entries_of(archive);
    change(&mut entries);
    let borrowed: Vec<(&str, Vec<u8>)> =
        entries.iter().map(|(name, bytes)| (name.as_str(), bytes.clone())).collect();
    zip_of(&borrowed, true)
}

/// Changes one JSON entry of an archive in place.
pub(crate) fn edit_json(
    entries: &mut [(String, Vec<u8>)],
    name: &str,
    edit: impl FnOnce(&mut Value),
) {
    let entry = entries
        .iter_mut()
        .find(|(entry, _)| entry == name)
        .unwrap_or_else(|| panic!("no entry {name}"));
    let mut value: Value = serde_json::from_slice(&entry.1).unwrap();
    edit(&mut value);
    entry.1 = serde_json::to_vec_pretty(&value).unwrap();
}
