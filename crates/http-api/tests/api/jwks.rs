//! Production token validation against a realm's JWKS: key rotation without restart, one
//! rate-limited refetch for unknown keys, and the last good keys while the provider is down.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use http_api::auth::{
    AuthError, JwksKeySource, JwksSettings, LocalIssuer, TokenPolicy, TokenRequest, TokenValidator,
};
use jsonwebtoken::jwk::JwkSet;
use serde_json::json;

/// A realm that serves discovery and a JWKS that the test can change or take down.
struct FakeRealm {
    issuer: String,
    keys: Arc<Mutex<JwkSet>>,
    down: Arc<AtomicBool>,
    cert_requests: Arc<AtomicUsize>,
}

impl FakeRealm {
    fn start(keys: JwkSet) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let issuer = format!("http://127.0.0.1:{port}/realms/flowx");
        let keys = Arc::new(Mutex::new(keys));
        let down = Arc::new(AtomicBool::new(false));
        let cert_requests = Arc::new(AtomicUsize::new(0));
        let (shared_keys, shared_down, shared_count, shared_issuer) =
            (keys.clone(), down.clone(), cert_requests.clone(), issuer.clone());
        let server = HttpServer::new(move || {
            let (keys, down, count, issuer) = (
                shared_keys.clone(),
                shared_down.clone(),
                shared_count.clone(),
                shared_issuer.clone(),
            );
            let discovery_down = down.clone();
            App::new()
                .route(
                    "/realms/flowx/.well-known/openid-configuration",
                    web::get().to(move || {
                        let (issuer, down) = (issuer.clone(), discovery_down.clone());
                        async move {
                            if down.load(Ordering::SeqCst) {
                                return HttpResponse::ServiceUnavailable().finish();
                            }
                            HttpResponse::Ok().json(json!({
                                "issuer": issuer,
                                "jwks_uri": format!("{issuer}/protocol/openid-connect/certs"),
                            }))
                        }
                    }),
                )
                .route(
                    "/realms/flowx/protocol/openid-connect/certs",
                    web::get().to(move || {
                        let (keys, down, count) = (keys.clone(), down.clone(), count.clone());
                        async move {
                            count.fetch_add(1, Ordering::SeqCst);
                            if down.load(Ordering::SeqCst) {
                                return HttpResponse::ServiceUnavailable().finish();
                            }
                            let set = keys.lock().unwrap().clone();
                            HttpResponse::Ok().json(set)
                        }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Self { issuer, keys, down, cert_requests }
    }

    fn validator(&self, min_refetch_interval: Duration) -> TokenValidator {
        let source = JwksKeySource::new(JwksSettings {
            issuer: self.issuer.clone(),
            request_timeout: Duration::from_secs(5),
            min_refetch_interval,
        })
        .unwrap();
        TokenValidator::new(
            Arc::new(source),
            TokenPolicy {
                issuers: vec![LocalIssuer::ISSUER.to_owned()],
                audience: None,
                leeway_seconds: 0,
            },
        )
    }
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

#[actix_web::test]
async fn a_rotated_key_is_fetched_without_a_restart() {
    let (old, new) = (LocalIssuer::generate().unwrap(), LocalIssuer::generate().unwrap());
    let realm = FakeRealm::start(old.key_set());
    let validator = realm.validator(Duration::ZERO);
    assert_eq!(validator.validate(&token(&old, "alice")).await.unwrap().subject, "alice");

    let mut both = old.key_set();
    both.keys.extend(new.key_set().keys);
    *realm.keys.lock().unwrap() = both;
    assert_eq!(
        validator.validate(&token(&new, "bob")).await.unwrap().subject,
        "bob",
        "the new key is fetched"
    );
}

#[actix_web::test]
async fn unknown_key_ids_cause_at_most_one_refetch_per_interval() {
    let (known, forger) = (LocalIssuer::generate().unwrap(), LocalIssuer::generate().unwrap());
    let realm = FakeRealm::start(known.key_set());
    let validator = realm.validator(Duration::from_secs(3600));
    validator.validate(&token(&known, "alice")).await.unwrap();
    let after_first = realm.cert_requests.load(Ordering::SeqCst);
    for _ in 0..20 {
        let err = validator.validate(&token(&forger, "mallory")).await.unwrap_err();
        assert!(matches!(err, AuthError::InvalidToken(_)), "{err:?}");
    }
    assert_eq!(
        realm.cert_requests.load(Ordering::SeqCst),
        after_first,
        "no refetch within the interval"
    );
}

#[actix_web::test]
async fn the_last_good_keys_keep_working_while_the_provider_is_down() {
    let (known, unknown) = (LocalIssuer::generate().unwrap(), LocalIssuer::generate().unwrap());
    let realm = FakeRealm::start(known.key_set());
    let validator = realm.validator(Duration::ZERO);
    validator.validate(&token(&known, "alice")).await.unwrap();
    realm.down.store(true, Ordering::SeqCst);
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
    let realm = FakeRealm::start(issuer.key_set());
    realm.down.store(true, Ordering::SeqCst);
    let validator = realm.validator(Duration::ZERO);
    assert_eq!(
        validator.validate(&token(&issuer, "alice")).await.unwrap_err(),
        AuthError::KeysUnavailable
    );
}
