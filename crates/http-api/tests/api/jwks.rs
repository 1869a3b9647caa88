//! Production token validation against a realm's signing keys, fetched through OIDC
//! discovery: key rotation without restart, one rate-limited refetch for unknown keys, the
//! timed refresh (a removed key stops being trusted, an added one is trusted, an outage keeps
//! the old keys and warns once, the loop stops when told), the last good keys while the
//! provider is down, and what a Keycloak-shaped realm publishes (RSA signing and encryption
//! keys, a strict issuer, no redirects, a size cap).

use std::future::Future;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use http_api::auth::{
    AuthError, JwksKeySource, JwksSettings, LocalIssuer, TokenPolicy, TokenRequest, TokenValidator,
};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A test-only RSA key (2048 bits, generated for these tests and used nowhere else): Keycloak
/// signs with RS256 by default.
const TEST_RSA_KEY: &str = r"-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCkCzf73weY0sff
ruwytpzTQSDNMwWCQ9rWNnnmHxiK1BCtiSROof3WUDABn9LKfYcY92q9ggX0u64O
T0yXKx1r8y8DD0qQ/jlcr+e9X9o4MoDKFsbs/oYjR8491I4ubr8f4L8h4Z9m2ZE5
fAJVHJBVr8m65q1MU5PtNUY6g/OJvpdis4IIqD6tLc4XCYUw7C+1Fz7/m4+b3nwc
nxNNWI88VvS1Qg3GJUmGf7+HKluGLXu1CpoDFH93Nov0/5noMenodMdjk8Ayw/ds
ritBNlFhtavQCoFfeCL3FYczrcYtKgPnclwHQ3V3vdhW6muFb4FhoTBr72i1OT9B
smYpazwHAgMBAAECggEAPHG1yyS+09y2sQDvHzCSUHTq9TEbkogWFmA0Qkqq7Fx/
WLHzotWlhlY9mhudu+bM5LIlrnY+Y5LT64nkmr7UNHaCmAoGW66QzEo0hV7QNWzG
b7A81A5ktpM6tyWezhUYb1KMmptb9LWuARRkd5/yvt/q4Ocma71QAFNk8SK1lccB
MQWFyjYUuAhiNslDPEgw8YFcZcGOIIU655Cxi3DarCA6SJ5LzfcVu/v1j57jhOdq
vztfZJFjFmqmJxyztGfGZDIHXDAIPpmWJQj0f2wwr3zeZrMW1W12N5oeLlGpVsc2
QUZIwAMADtEjwQeAaBSCjoXbw1efLgjDStr4uVcFQQKBgQDV19Js2NmMar5I2dKx
rZqOfREMSQHQ02oH3vBR3hbKtUu1LoOGHWxkC+oG7f2MPkO00MmWqDyl/JcF9JiD
Abur0B1bnhvEYKJ67dAdDXy8Zu8T6d+bYCd74Yl9D3SVdPglkGzWUKJ+Tq8usf0B
enBoPLNN4PI8fyjCn2NZS/mn/wKBgQDEYiQ5BZ2aPFwo7o7hXPLBpAxToQm9EJfI
nmnAKTh1Y5rZUifcIJ0KFZml/KcdhUjlOcNBAznPIlwNAD7GUZU2CdWfnAC8WtNe
O59SbY7r1Cuq0P3ZDurBvujjVg0XsiABRtEsQa2PHwl2RMKnk8ksXTJNed0hS6Y0
l3iyU6Er+QKBgFj18BRYIijIP2EPPRetoR6l6PGzbY3yZanglRl5ywGJanV1ZEHm
+7CjRDidyV0Oihwuv65tTs2+xxUzLD9T+T8A1TXIEMUhbna1eF6dvcajC9K8+Mkq
t0JSEWB1jYqfnpwB+UUvRmpFUZubcCWtShYTKoS7kAqa29obdLkxYisBAoGAD1qt
AlhSDjER85FTUoN153XwEMnSfRnDBEh+dCvE4ki7Xqpxu2BBZvxxWuz6E/DL1kBB
599csbk6ATo3rkHKrMLwFN6ZoCBpzkBTIJq4Re/8ygo1Drd/204V31BnDac7oV3s
FM29yCbhEoIlxfxkCjfvKueQRn4nrIz7PtYTD+ECgYEAihMGdl/ibAjFsr2OpDog
a2cJTVPNiwv4YQRC9sQK8ewTRNj0JZTGBkhtA3X9UxmYqkYklw+9L27jHYA3AWQv
d7c41lFXsFfNSMp9PjWg3VdeE6v5tZcmlJK+HjILqsn5nzsvjnsPPJZbCJ8si2B0
BWpcFeSmwK9pQl/kz371mW8=
-----END PRIVATE KEY-----";
/// Its modulus, base64url.
const TEST_RSA_MODULUS: &str = "pAs3-98HmNLH367sMrac00EgzTMFgkPa1jZ55h8YitQQrYkkTqH91lAwAZ_Syn2HGPdqvYIF9LuuDk9Mlysda_MvAw9KkP45XK_nvV_aODKAyhbG7P6GI0fOPdSOLm6_H-C_IeGfZtmROXwCVRyQVa_JuuatTFOT7TVGOoPzib6XYrOCCKg-rS3OFwmFMOwvtRc-_5uPm958HJ8TTViPPFb0tUINxiVJhn-_hypbhi17tQqaAxR_dzaL9P-Z6DHp6HTHY5PAMsP3bK4rQTZRYbWr0AqBX3gi9xWHM63GLSoD53JcB0N1d73YVuprhW-BYaEwa-9otTk_QbJmKWs8Bw";

/// How long a polled condition may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(10);
/// The timer's period in the tests of the timed refresh.
const SHORT_REFRESH: Duration = Duration::from_millis(100);
/// A refetch interval so long that only the timer can fetch within a test.
const NO_REFETCH: Duration = Duration::from_secs(3600);

/// What the realm serves; the test changes it while validators use the realm.
struct RealmState {
    issuer: String,
    /// The issuer its discovery document names (another one in the wrong-issuer test).
    discovery_issuer: Mutex<String>,
    /// The key set document.
    keys: Mutex<Value>,
    /// Answers 503 to everything.
    down: AtomicBool,
    /// Never answers discovery.
    hung: AtomicBool,
    discovery_requests: AtomicUsize,
    cert_requests: AtomicUsize,
}

/// A Keycloak-shaped realm on a local port.
struct FakeRealm {
    base: String,
    state: Arc<RealmState>,
}

/// Keycloak's discovery document, abridged but with the parts a strict parser could trip on
/// (response modes such as `query.jwt`, CIBA grant types, `mtls_endpoint_aliases`).
fn keycloak_discovery(issuer: &str, certs: &str) -> Value {
    let endpoint = |path: &str| format!("{issuer}/protocol/openid-connect/{path}");
    json!({
        "issuer": issuer,
        "authorization_endpoint": endpoint("auth"),
        "token_endpoint": endpoint("token"),
        "introspection_endpoint": endpoint("token/introspect"),
        "userinfo_endpoint": endpoint("userinfo"),
        "end_session_endpoint": endpoint("logout"),
        "frontchannel_logout_session_supported": true,
        "jwks_uri": certs,
        "check_session_iframe": endpoint("login-status-iframe.html"),
        "grant_types_supported": ["authorization_code", "implicit", "refresh_token", "password",
            "client_credentials", "urn:openid:params:grant-type:ciba",
            "urn:ietf:params:oauth:grant-type:device_code"],
        "acr_values_supported": ["0", "1"],
        "response_types_supported": ["code", "none", "id_token", "token", "id_token token",
            "code id_token", "code token", "code id_token token"],
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": ["PS384", "RS384", "EdDSA", "ES384", "HS256",
            "HS512", "ES256", "RS256", "HS384", "ES512", "PS256", "PS512", "RS512"],
        "id_token_encryption_alg_values_supported": ["ECDH-ES+A256KW", "RSA-OAEP-256", "RSA-OAEP"],
        "id_token_encryption_enc_values_supported": ["A256GCM", "A192GCM", "A128GCM",
            "A128CBC-HS256"],
        "userinfo_signing_alg_values_supported": ["PS384", "RS256", "none"],
        "request_object_signing_alg_values_supported": ["PS384", "RS256", "none"],
        "response_modes_supported": ["query", "fragment", "form_post", "query.jwt",
            "fragment.jwt", "form_post.jwt", "jwt"],
        "registration_endpoint": format!("{issuer}/clients-registrations/openid-connect"),
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic",
            "client_secret_post", "tls_client_auth", "client_secret_jwt"],
        "claims_supported": ["aud", "sub", "iss", "auth_time", "name", "given_name",
            "family_name", "preferred_username", "email", "acr"],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": true,
        "scopes_supported": ["openid", "profile", "email", "roles", "web-origins", "acr"],
        "request_parameter_supported": true,
        "request_uri_parameter_supported": true,
        "require_request_uri_registration": true,
        "code_challenge_methods_supported": ["plain", "S256"],
        "tls_client_certificate_bound_access_tokens": true,
        "authorization_response_iss_parameter_supported": true,
        "mtls_endpoint_aliases": { "token_endpoint": endpoint("token") }
    })
}

impl FakeRealm {
    fn start(keys: Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let issuer = format!("{base}/realms/flowx");
        let state = Arc::new(RealmState {
            discovery_issuer: Mutex::new(issuer.clone()),
            issuer,
            keys: Mutex::new(keys),
            down: AtomicBool::new(false),
            hung: AtomicBool::new(false),
            discovery_requests: AtomicUsize::new(0),
            cert_requests: AtomicUsize::new(0),
        });
        let (shared, moved_base) = (state.clone(), base.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::from(shared.clone()))
                .app_data(web::Data::new(moved_base.clone()))
                .route("/realms/flowx/.well-known/openid-configuration", web::get().to(discovery))
                .route("/realms/flowx/protocol/openid-connect/certs", web::get().to(certs))
                .route("/realms/moved/.well-known/openid-configuration", web::get().to(moved))
                .route("/moved-here/openid-configuration", web::get().to(moved_discovery))
                .route("/realms/huge/.well-known/openid-configuration", web::get().to(huge))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Self { base, state }
    }

    fn issuer(&self) -> &str {
        &self.state.issuer
    }

    fn serve(&self, keys: Value) {
        *self.state.keys.lock().unwrap() = keys;
    }

    fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    fn discovery_requests(&self) -> usize {
        self.state.discovery_requests.load(Ordering::SeqCst)
    }

    fn cert_requests(&self) -> usize {
        self.state.cert_requests.load(Ordering::SeqCst)
    }

    /// A key source of the realm at `issuer`.
    fn source_at(issuer: &str, min_refetch_interval: Duration, refresh: Duration) -> JwksKeySource {
        JwksKeySource::new(JwksSettings {
            issuer: issuer.to_owned(),
            request_timeout: Duration::from_secs(5),
            min_refetch_interval,
            refresh_interval: refresh,
        })
        .unwrap()
    }

    fn source(&self, min_refetch_interval: Duration, refresh: Duration) -> Arc<JwksKeySource> {
        Arc::new(Self::source_at(self.issuer(), min_refetch_interval, refresh))
    }

    fn validator(&self, min_refetch_interval: Duration) -> TokenValidator {
        self.validator_of(self.source(min_refetch_interval, NO_REFETCH))
    }

    /// A validator of the realm's tokens, with the token cache on as in the server: every
    /// rotation test below also shows that a cached token follows the keys.
    fn validator_of(&self, source: Arc<JwksKeySource>) -> TokenValidator {
        TokenValidator::new(
            source,
            TokenPolicy {
                issuers: vec![LocalIssuer::ISSUER.to_owned(), self.issuer().to_owned()],
                audience: None,
                leeway_seconds: 0,
            },
        )
        .with_token_cache(Duration::from_secs(60))
    }
}

async fn discovery(state: web::Data<RealmState>) -> HttpResponse {
    state.discovery_requests.fetch_add(1, Ordering::SeqCst);
    if state.hung.load(Ordering::SeqCst) {
        std::future::pending::<()>().await;
    }
    if state.down.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let issuer = state.discovery_issuer.lock().unwrap().clone();
    let certs = format!("{}/protocol/openid-connect/certs", state.issuer);
    HttpResponse::Ok().json(keycloak_discovery(&issuer, &certs))
}

async fn certs(state: web::Data<RealmState>) -> HttpResponse {
    state.cert_requests.fetch_add(1, Ordering::SeqCst);
    if state.down.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let keys = state.keys.lock().unwrap().clone();
    HttpResponse::Ok().json(keys)
}

/// The discovery of realm `moved` redirects to a document that would be valid for it.
async fn moved() -> HttpResponse {
    HttpResponse::Found().insert_header(("Location", "/moved-here/openid-configuration")).finish()
}

async fn moved_discovery(state: web::Data<RealmState>, base: web::Data<String>) -> HttpResponse {
    let certs = format!("{}/protocol/openid-connect/certs", state.issuer);
    HttpResponse::Ok().json(keycloak_discovery(&format!("{}/realms/moved", base.get_ref()), &certs))
}

/// The discovery of realm `huge` is valid but padded to 2 MiB.
async fn huge(state: web::Data<RealmState>, base: web::Data<String>) -> HttpResponse {
    let certs = format!("{}/protocol/openid-connect/certs", state.issuer);
    let mut document = keycloak_discovery(&format!("{}/realms/huge", base.get_ref()), &certs);
    document["padding"] = "x".repeat(2 * 1024 * 1024).into();
    HttpResponse::Ok().json(document)
}

/// The key set of `issuers`, as a realm serves it.
fn key_set(issuers: &[&LocalIssuer]) -> Value {
    let keys = issuers.iter().flat_map(|issuer| issuer.key_set().keys).collect();
    serde_json::to_value(JwkSet { keys }).unwrap()
}

fn token(issuer: &LocalIssuer, subject: &str) -> String {
    issuer
        .issue(&TokenRequest {
            subject: subject.into(),
            groups: vec![],
            roles: vec![],
            ttl_seconds: 600,
            client_id: None,
        })
        .unwrap()
}

/// An RS256 token of the realm signed with the test RSA key, naming `kid`.
fn rsa_token(realm: &FakeRealm, kid: &str, subject: &str) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    let claims = json!({ "iss": realm.issuer(), "sub": subject, "iat": now, "exp": now + 600 });
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(TEST_RSA_KEY.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// Waits until `check` holds, failing the test with `what` after [`DEADLINE`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {DEADLINE:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The timed refresh of `source`, running until [`Refresher::stop`].
struct Refresher {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Refresher {
    fn start(source: &Arc<JwksKeySource>) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let source = source.clone();
        let task = tokio::spawn(async move {
            source
                .refresh_periodically(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self { stop, task }
    }

    /// Tells the loop to stop and waits for it to end.
    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("the refresh loop ends when told")
            .unwrap();
    }
}

#[actix_web::test]
async fn a_rotated_key_is_fetched_without_a_restart() {
    let (old, new) = (LocalIssuer::generate().unwrap(), LocalIssuer::generate().unwrap());
    let realm = FakeRealm::start(key_set(&[&old]));
    let validator = realm.validator(Duration::ZERO);
    assert_eq!(validator.validate(&token(&old, "alice")).await.unwrap().subject, "alice");

    realm.serve(key_set(&[&old, &new]));
    assert_eq!(
        validator.validate(&token(&new, "bob")).await.unwrap().subject,
        "bob",
        "the new key is fetched"
    );
}

#[actix_web::test]
async fn unknown_key_ids_cause_at_most_one_refetch_per_interval() {
    let (known, forger) = (LocalIssuer::generate().unwrap(), LocalIssuer::generate().unwrap());
    let realm = FakeRealm::start(key_set(&[&known]));
    let validator = realm.validator(NO_REFETCH);
    validator.validate(&token(&known, "alice")).await.unwrap();
    let after_first = realm.cert_requests();
    for _ in 0..20 {
        let err = validator.validate(&token(&forger, "mallory")).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidToken(_)), "{err:?}");
    }
    assert_eq!(realm.cert_requests(), after_first, "no refetch within the interval");
}

#[actix_web::test]
async fn the_last_good_keys_keep_working_while_the_provider_is_down() {
    let (known, unknown) = (LocalIssuer::generate().unwrap(), LocalIssuer::generate().unwrap());
    let realm = FakeRealm::start(key_set(&[&known]));
    let validator = realm.validator(Duration::ZERO);
    validator.validate(&token(&known, "alice")).await.unwrap();
    realm.set_down(true);
    assert_eq!(validator.validate(&token(&known, "alice")).await.unwrap().subject, "alice");
    let err = validator.validate(&token(&unknown, "mallory")).await.unwrap_err();
    assert!(
        matches!(err, AuthError::InvalidToken(_)),
        "an unknown key is refused, not an outage: {err:?}"
    );
}

#[actix_web::test]
async fn without_any_keys_and_the_provider_down_tokens_are_refused_as_unavailable_keys() {
    let issuer = LocalIssuer::generate().unwrap();
    let realm = FakeRealm::start(key_set(&[&issuer]));
    realm.set_down(true);
    let validator = realm.validator(Duration::ZERO);
    assert_eq!(
        validator.validate(&token(&issuer, "alice")).await.unwrap_err(),
        AuthError::KeysUnavailable
    );
}

#[actix_web::test]
async fn a_key_the_realm_removed_stops_being_trusted_after_the_timed_refresh() {
    let (kept, removed) = (LocalIssuer::generate().unwrap(), LocalIssuer::generate().unwrap());
    let realm = FakeRealm::start(key_set(&[&kept, &removed]));
    let source = realm.source(NO_REFETCH, SHORT_REFRESH);
    source.refresh().await.unwrap();
    let validator = realm.validator_of(source.clone());
    validator.validate(&token(&removed, "alice")).await.unwrap();
    let refresher = Refresher::start(&source);

    realm.serve(key_set(&[&kept]));
    let stale = token(&removed, "alice");
    eventually("the removed key is refused", || async {
        validator.validate(&stale).await.is_err()
    })
    .await;
    assert!(
        matches!(validator.validate(&stale).await, Err(AuthError::InvalidToken(_))),
        "refused as signed with an unknown key"
    );
    assert_eq!(validator.validate(&token(&kept, "bob")).await.unwrap().subject, "bob");
    refresher.stop().await;
}

#[actix_web::test]
async fn a_cached_token_of_a_key_rotated_away_is_refused_after_the_refresh() {
    let (kept, removed) = (LocalIssuer::generate().unwrap(), LocalIssuer::generate().unwrap());
    let realm = FakeRealm::start(key_set(&[&kept, &removed]));
    let source = realm.source(NO_REFETCH, NO_REFETCH);
    source.refresh().await.unwrap();
    let validator = realm.validator_of(source.clone());
    let cached = token(&removed, "alice");
    let other = token(&kept, "bob");
    for _ in 0..2 {
        validator.validate(&cached).await.unwrap();
        validator.validate(&other).await.unwrap();
    }

    realm.serve(key_set(&[&kept]));
    source.refresh().await.unwrap();
    let err = validator.validate(&cached).await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidToken(_)), "signed with an unknown key: {err:?}");
    assert!(validator.validate(&cached).await.is_err(), "and stays refused");
    assert_eq!(
        validator.validate(&other).await.unwrap().subject,
        "bob",
        "the kept key still works"
    );
}

#[actix_web::test]
async fn a_cached_token_is_refused_once_its_kid_names_another_key() {
    let (first, impostor) = (LocalIssuer::generate().unwrap(), LocalIssuer::generate().unwrap());
    let realm = FakeRealm::start(key_set(&[&first]));
    let source = realm.source(NO_REFETCH, NO_REFETCH);
    source.refresh().await.unwrap();
    let validator = realm.validator_of(source.clone());
    let cached = token(&first, "alice");
    validator.validate(&cached).await.unwrap();
    validator.validate(&cached).await.unwrap();

    // The realm now publishes another key under the same kid.
    let mut replaced = key_set(&[&impostor]);
    replaced["keys"][0]["kid"] = key_set(&[&first])["keys"][0]["kid"].clone();
    realm.serve(replaced);
    source.refresh().await.unwrap();
    let err = validator.validate(&cached).await.unwrap_err();
    assert!(matches!(err, AuthError::InvalidToken(_)), "verified again, and refused: {err:?}");
}

#[actix_web::test]
async fn a_key_the_realm_added_is_trusted_after_the_timed_refresh_alone() {
    let (first, added) = (LocalIssuer::generate().unwrap(), LocalIssuer::generate().unwrap());
    let realm = FakeRealm::start(key_set(&[&first]));
    // Unknown key ids cause no refetch here: only the timer can bring the new key.
    let source = realm.source(NO_REFETCH, SHORT_REFRESH);
    source.refresh().await.unwrap();
    let validator = realm.validator_of(source.clone());
    let fresh = token(&added, "carol");
    assert!(validator.validate(&fresh).await.is_err(), "not a key of the realm yet");
    let refresher = Refresher::start(&source);

    realm.serve(key_set(&[&first, &added]));
    eventually("the added key is trusted", || async { validator.validate(&fresh).await.is_ok() })
        .await;
    refresher.stop().await;
}

#[actix_web::test]
async fn a_timed_refresh_does_not_hold_back_the_refetch_for_a_new_key() {
    let (first, added) = (LocalIssuer::generate().unwrap(), LocalIssuer::generate().unwrap());
    let realm = FakeRealm::start(key_set(&[&first]));
    let source = realm.source(NO_REFETCH, NO_REFETCH);
    // What the timer does; the realm then adds a key and its first token arrives at once.
    source.refresh().await.unwrap();
    realm.serve(key_set(&[&first, &added]));
    let validator = realm.validator_of(source);
    assert_eq!(validator.validate(&token(&added, "dave")).await.unwrap().subject, "dave");
}

#[actix_web::test]
async fn an_outage_during_timed_refreshes_keeps_the_old_keys_and_warns_once_per_outage() {
    let logged = Arc::new(Logged::default());
    let _logs = tracing::subscriber::set_default(tracing_subscriber::layer::SubscriberExt::with(
        tracing_subscriber::registry(),
        CountEvents(logged.clone()),
    ));
    let known = LocalIssuer::generate().unwrap();
    let realm = FakeRealm::start(key_set(&[&known]));
    let source = realm.source(NO_REFETCH, SHORT_REFRESH);
    source.refresh().await.unwrap();
    let validator = realm.validator_of(source.clone());
    let refresher = Refresher::start(&source);

    realm.set_down(true);
    let before = realm.discovery_requests();
    eventually("three refreshes fail", || async { realm.discovery_requests() >= before + 3 }).await;
    assert_eq!(validator.validate(&token(&known, "alice")).await.unwrap().subject, "alice");
    assert_eq!(logged.warnings(), 1, "one warning for the whole outage");

    let fetched = logged.infos();
    realm.set_down(false);
    eventually("a refresh succeeds and says so", || async { logged.infos() > fetched }).await;
    realm.set_down(true);
    eventually("the next outage is warned about", || async { logged.warnings() == 2 }).await;
    assert_eq!(validator.validate(&token(&known, "alice")).await.unwrap().subject, "alice");
    refresher.stop().await;
}

/// How many warnings and infos `http_api` logged.
#[derive(Default)]
struct Logged {
    warnings: AtomicUsize,
    infos: AtomicUsize,
}

impl Logged {
    fn warnings(&self) -> usize {
        self.warnings.load(Ordering::SeqCst)
    }

    fn infos(&self) -> usize {
        self.infos.load(Ordering::SeqCst)
    }
}

struct CountEvents(Arc<Logged>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountEvents {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let metadata = event.metadata();
        if !metadata.target().starts_with("http_api") {
            return;
        }
        match *metadata.level() {
            tracing::Level::WARN => self.0.warnings.fetch_add(1, Ordering::SeqCst),
            tracing::Level::INFO => self.0.infos.fetch_add(1, Ordering::SeqCst),
            _ => 0,
        };
    }
}

#[actix_web::test]
async fn the_refresh_loop_stops_when_told_even_while_the_provider_hangs() {
    let known = LocalIssuer::generate().unwrap();
    let realm = FakeRealm::start(key_set(&[&known]));
    let source = realm.source(NO_REFETCH, SHORT_REFRESH);
    let refresher = Refresher::start(&source);
    realm.state.hung.store(true, Ordering::SeqCst);
    let before = realm.discovery_requests();
    eventually("a refresh waits on the hung provider", || async {
        realm.discovery_requests() > before
    })
    .await;
    // The request timeout is 5 s: the loop ends long before the fetch would.
    let asked = Instant::now();
    refresher.stop().await;
    assert!(asked.elapsed() < Duration::from_secs(4), "stopped after {:?}", asked.elapsed());
}

#[actix_web::test]
async fn a_keycloak_realm_s_rsa_signing_key_is_trusted_and_its_encryption_keys_never() {
    let rsa = |kid: &str, key_use: &str, alg: Option<&str>| {
        let mut key = json!({ "kid": kid, "kty": "RSA", "use": key_use, "n": TEST_RSA_MODULUS,
            "e": "AQAB", "x5c": ["MIICnTCCAYUCBgGSkV"], "x5t": "Yx3vgm8oq1WW2i9OPyVh8Xhsv7Y",
            "x5t#S256": "bt3NgMlcxcB0t7aQJq9DlkIpJNB_zdxlDuCXlRaRNkY" });
        if let Some(alg) = alg {
            key["alg"] = alg.into();
        }
        key
    };
    let realm = FakeRealm::start(json!({ "keys": [
        rsa("sig-kid", "sig", Some("RS256")),
        // Keycloak's own encryption key, and one that names no algorithm.
        rsa("enc-kid", "enc", Some("RSA-OAEP")),
        rsa("enc-no-alg-kid", "enc", None),
    ]}));
    let validator = realm.validator(Duration::ZERO);
    let principal = validator.validate(&rsa_token(&realm, "sig-kid", "alice")).await.unwrap();
    assert_eq!(principal.subject, "alice");
    for kid in ["enc-kid", "enc-no-alg-kid"] {
        let err = validator.validate(&rsa_token(&realm, kid, "mallory")).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidToken(_)), "{kid} is not trusted: {err:?}");
    }
}

#[actix_web::test]
async fn a_key_rtm_cannot_read_leaves_the_other_keys_working() {
    let known = LocalIssuer::generate().unwrap();
    let mut keys = key_set(&[&known]);
    keys["keys"].as_array_mut().unwrap().extend([
        json!({ "kid": "x448", "kty": "OKP", "crv": "X448", "x": "AAAA" }),
        json!({ "kid": "odd", "kty": "HSM" }),
    ]);
    let realm = FakeRealm::start(keys);
    let validator = realm.validator(Duration::ZERO);
    assert_eq!(validator.validate(&token(&known, "alice")).await.unwrap().subject, "alice");
}

#[actix_web::test]
async fn a_discovery_document_naming_another_issuer_is_refused() {
    let known = LocalIssuer::generate().unwrap();
    let realm = FakeRealm::start(key_set(&[&known]));
    *realm.state.discovery_issuer.lock().unwrap() = "https://idp.example.com/realms/flowx".into();
    let validator = realm.validator(Duration::ZERO);
    assert_eq!(
        validator.validate(&token(&known, "alice")).await.unwrap_err(),
        AuthError::KeysUnavailable
    );
    assert_eq!(realm.cert_requests(), 0, "the key set of an unverified document is not fetched");
}

#[actix_web::test]
async fn a_redirect_from_the_discovery_endpoint_is_not_followed() {
    let known = LocalIssuer::generate().unwrap();
    let realm = FakeRealm::start(key_set(&[&known]));
    let source = Arc::new(FakeRealm::source_at(
        &format!("{}/realms/moved", realm.base),
        Duration::ZERO,
        NO_REFETCH,
    ));
    assert_eq!(source.refresh().await.unwrap_err(), AuthError::KeysUnavailable);
    assert_eq!(realm.cert_requests(), 0);
}

#[actix_web::test]
async fn a_discovery_document_over_the_size_cap_is_refused() {
    let known = LocalIssuer::generate().unwrap();
    let realm = FakeRealm::start(key_set(&[&known]));
    let source =
        FakeRealm::source_at(&format!("{}/realms/huge", realm.base), Duration::ZERO, NO_REFETCH);
    assert_eq!(source.refresh().await.unwrap_err(), AuthError::KeysUnavailable);
    assert_eq!(realm.cert_requests(), 0);
}

#[actix_web::test]
async fn the_local_stack_s_realm_is_discovered_and_its_tokens_are_accepted() {
    test_support::init_tracing();
    let Some(base) = test_support::backend_url("APP_TEST_OIDC_URL") else { return };
    let realm = std::env::var("APP_TEST_OIDC_REALM").unwrap_or_else(|_| "flowx".to_owned());
    let issuer = format!("{}/realms/{realm}", base.trim_end_matches('/'));
    let source = Arc::new(FakeRealm::source_at(&issuer, Duration::ZERO, NO_REFETCH));
    let n_keys = source.refresh().await.unwrap_or_else(|err| {
        panic!("{err}: is the stack's OIDC mock up at {base}? (cargo xtask services up)")
    });
    assert!(n_keys >= 1, "the realm publishes a signing key");
    let answer: Value = reqwest::Client::new()
        .post(format!("{issuer}/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "rtm-jwks-test"),
            ("client_secret", "unchecked"),
            ("sub", "alice"),
            ("roles", "ROLE_TEST"),
        ])
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let validator = TokenValidator::new(
        source,
        TokenPolicy { issuers: vec![issuer], audience: None, leeway_seconds: 30 },
    );
    let principal = validator.validate(answer["access_token"].as_str().unwrap()).await.unwrap();
    assert_eq!(principal.subject, "alice");
    assert!(principal.roles.contains("ROLE_TEST"), "{principal:?}");
}
