//! Kafka over TLS and with SASL OAUTHBEARER, on the wire: rtm's adapter produces and
//! consumes through a TLS proxy trusting the right CA, and refuses at once (naming Kafka) a
//! broker certificate of another CA, an expired one or one for another host; its
//! OAUTHBEARER token, fetched from the stack's OIDC realm, reaches a Kafka-protocol peer that
//! verifies it ([`peer`]) and is replaced by a fresh one before it expires; and both
//! together (`SASL_SSL`).
//!
//! Each test starts a broker of its own (`tansu`, installed by `cargo xtask services up`)
//! that advertises the address of what stands in front of it (the TLS proxy, the peer), so
//! that every connection of the client goes through it. The TLS proxy is `stunnel4`
//! (`test_support::tls`). The OIDC realm is the stack's (`APP_TEST_OIDC_URL`); the broker
//! tests run when `APP_TEST_KAFKA_BROKERS` says the stack is there.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

mod peer;

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapter_kafka::{
    KafkaConfig, KafkaEventPublisher, KafkaSecurity, KafkaTls, KafkaTrust, OAuthBearer,
    PolicyUpdateListener, TopicNames, TopicNaming,
};
use domain::model::{ApplicationId, DomainEvent, OutboxRecord};
use domain::ports::EventPublisher as _;
use http_api::auth::{JwksKeySource, JwksSettings, TokenPolicy, TokenValidator};
use secrecy::SecretString;
use test_support::tls::{TestCa, TlsProxy, free_port};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::peer::{Presented, SaslPeer};

/// How long a test waits for what it expects from a broker.
const PATIENCE: Duration = Duration::from_secs(60);
/// The longest a refused TLS handshake may take to fail the start: the bound of the topic
/// creation that rtm's start begins with.
const START_BOUND: Duration = Duration::from_secs(15);
/// The OAuth client rtm's tests ask tokens for (the mock realm accepts any).
const OAUTH_CLIENT: &str = "rtm-kafka-security-tests";
/// Lifetime of the tokens of the refresh test, in seconds: short, yet long enough for
/// librdkafka's margins (it asks for a new token at 80 % of a token's lifetime and
/// re-authenticates at 90 % of a session's). 30 rather than 10: with 10, the 2 s between
/// the refresh and the expiry were once not enough for the token fetch and the
/// re-authentication on a 2-core machine running the whole suite (CI, 2026-12-02).
const SHORT_LIFETIME: u64 = 30;

/// A tansu broker of one test, in memory, killed on drop.
struct Tansu {
    child: Child,
    address: String,
}

impl Tansu {
    /// A broker on a free port advertising `advertised` (`host:port`) to its clients.
    async fn start(advertised: &str) -> Self {
        Self::start_on(free_port(), advertised).await
    }

    /// A broker on `port` advertising `advertised`.
    async fn start_on(port: u16, advertised: &str) -> Self {
        let address = format!("127.0.0.1:{port}");
        let program = tansu_program();
        let mut child = Command::new(&program)
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://{address}"),
                "--advertised-listener-url",
                &format!("tcp://{advertised}"),
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot run {} ({err}): install it with `cargo xtask services up`",
                    program.display()
                )
            });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("tansu exited ({status}) before listening on {address}");
            }
            if tokio::net::TcpStream::connect(&address).await.is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "tansu does not listen on {address} after 20 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, address }
    }
}

impl Tansu {
    /// Creates the topics of `config` on this broker directly (rtm creates none with SASL
    /// OAUTHBEARER), with tansu's own client.
    async fn create_topics(&self, config: &KafkaConfig) {
        for (_, topic) in config.topics.iter() {
            let status = Command::new(tansu_program())
                .args(["topic", "create", topic, "--partitions", "1", "--broker"])
                .arg(format!("tcp://{}", self.address))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .await
                .unwrap();
            assert!(status.success(), "tansu topic create {topic}: {status}");
        }
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        drop(self.child.start_kill());
    }
}

/// Where `cargo xtask services up` installs tansu (`cargo install`), else the `PATH`'s.
fn tansu_program() -> PathBuf {
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    cargo_home
        .map(|home| home.join("bin").join("tansu"))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("tansu"))
}

/// A configuration of `security` for `bootstrap`, on topics of a random environment.
fn config(bootstrap: &str, security: KafkaSecurity) -> KafkaConfig {
    let naming = TopicNaming {
        environment: format!("t{}.", Uuid::new_v4().simple()),
        ..TopicNaming::default()
    };
    let mut config = KafkaConfig::new(bootstrap);
    config.topics = TopicNames::new(&naming, []).unwrap();
    config.message_timeout = Duration::from_secs(20);
    config.client_id = "rtm-adapter-kafka-security-tests".to_owned();
    config.security = security;
    config
}

fn tls_trusting(ca: &TestCa) -> KafkaTls {
    KafkaTls { trust: KafkaTrust::PemFile(ca.ca_file().to_owned()), identity: None }
}

/// The stack's OIDC realm: its issuer URL, or `None` (skip) without the stack.
fn realm() -> Option<String> {
    let url = test_support::backend_url("APP_TEST_OIDC_URL")?;
    let realm = std::env::var("APP_TEST_OIDC_REALM").unwrap_or_else(|_| "flowx".to_owned());
    Some(format!("{}/realms/{realm}", url.trim_end_matches('/')))
}

/// rtm's OAuth client at `issuer`, asking for tokens of `lifetime` seconds when given (the
/// stack's mock reads `expires_in` from the token URL's query).
fn oauth(issuer: &str, lifetime: Option<u64>) -> OAuthBearer {
    let query = lifetime.map(|seconds| format!("?expires_in={seconds}")).unwrap_or_default();
    OAuthBearer {
        token_endpoint: format!("{issuer}/protocol/openid-connect/token{query}"),
        client_id: OAUTH_CLIENT.to_owned(),
        client_secret: SecretString::from("kafka-client-secret"),
    }
}

/// The realm's own check of a token: RS256 by its JWKS, its issuer, unexpired (no leeway).
fn validator(issuer: &str) -> TokenValidator {
    let keys = JwksKeySource::new(JwksSettings {
        issuer: issuer.to_owned(),
        request_timeout: Duration::from_secs(5),
        min_refetch_interval: Duration::from_secs(1),
        refresh_interval: Duration::from_secs(300),
    })
    .unwrap();
    TokenValidator::new(
        Arc::new(keys),
        TokenPolicy { issuers: vec![issuer.to_owned()], audience: None, leeway_seconds: 0 },
    )
}

/// A peer in front of a broker of its own that advertises the peer.
async fn peer_and_broker(issuer: &str) -> (SaslPeer, Tansu) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let advertised = listener.local_addr().unwrap().to_string();
    let broker = Tansu::start(&advertised).await;
    let peer = SaslPeer::start(listener, broker.address.clone(), validator(issuer));
    (peer, broker)
}

fn policy_update(application_id: ApplicationId, sequence: u64) -> OutboxRecord {
    OutboxRecord {
        sequence,
        event: DomainEvent::ActivePolicyUpdated { application_id },
        recorded_at: OffsetDateTime::now_utc(),
    }
}

/// rtm's adapter, as its start runs it: creates the topics, connects the publisher and
/// the active-policy listener, and publishes an update until the listener hears it.
/// Returns what keeps them alive.
async fn produce_and_consume(config: &KafkaConfig) -> Connected {
    adapter_kafka::ensure_topics(config)
        .await
        .expect("the brokers are reached (and the topics created without SASL)");
    let publisher = KafkaEventPublisher::connect(config).await.expect("the publisher connects");
    let cancel = CancellationToken::new();
    let (heard, hearing) = mpsc::unbounded_channel();
    let listener = PolicyUpdateListener::spawn(
        config,
        Arc::new(move |application_id, _revision| {
            let _ = heard.send(application_id);
        }),
        cancel.clone(),
    );
    let mut connected = Connected { publisher, hearing, cancel, listener, sequence: 0 };
    connected.round_trip().await;
    connected
}

struct Connected {
    publisher: KafkaEventPublisher,
    hearing: mpsc::UnboundedReceiver<ApplicationId>,
    cancel: CancellationToken,
    listener: tokio::task::JoinHandle<()>,
    sequence: u64,
}

impl Connected {
    /// Publishes an update of a new application until the listener hears it (it joins its
    /// group and starts at the end of the topic, which takes a moment).
    async fn round_trip(&mut self) {
        let application_id = ApplicationId::random();
        let deadline = Instant::now() + PATIENCE;
        loop {
            assert!(Instant::now() < deadline, "the listener never heard {application_id}");
            self.sequence += 1;
            self.publisher.publish(&[policy_update(application_id, self.sequence)]).await.unwrap();
            let round = tokio::time::sleep(Duration::from_secs(1));
            tokio::pin!(round);
            loop {
                tokio::select! {
                    () = &mut round => break,
                    heard = self.hearing.recv() => {
                        if heard == Some(application_id) {
                            return;
                        }
                    }
                }
            }
        }
    }

    async fn stop(self) {
        self.cancel.cancel();
        self.listener.await.unwrap();
        drop(self.publisher);
    }
}

#[tokio::test]
async fn ssl_produces_and_consumes_through_tls_with_the_right_ca() {
    test_support::init_tracing();
    let Some(_) = test_support::backend_url("APP_TEST_KAFKA_BROKERS") else { return };
    let ca = TestCa::new();
    let broker_port = free_port();
    let proxy = TlsProxy::start(
        &ca.issue(&["localhost", "127.0.0.1"]),
        &format!("127.0.0.1:{broker_port}"),
    );
    let advertised = format!("localhost:{}", proxy.port());
    let broker = Tansu::start_on(broker_port, &advertised).await;

    let config = config(&advertised, KafkaSecurity::Ssl(tls_trusting(&ca)));
    let connected = produce_and_consume(&config).await;
    connected.stop().await;
    drop((proxy, broker));
}

#[tokio::test]
async fn a_broker_certificate_of_another_ca_expired_or_for_another_host_stops_the_start() {
    test_support::init_tracing();
    let Some(_) = test_support::backend_url("APP_TEST_KAFKA_BROKERS") else { return };
    let ca = TestCa::new();
    let other_ca = TestCa::new();
    // Nothing listens behind the proxy: the handshake fails before anything is forwarded.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let cases = [
        ("a certificate of another CA", other_ca.issue(&["localhost", "127.0.0.1"])),
        ("an expired certificate", ca.issue_expired(&["localhost", "127.0.0.1"])),
        ("a certificate for another host", ca.issue_for_another_host()),
    ];
    for (case, certificate) in cases {
        let proxy = TlsProxy::start(&certificate, &nowhere);
        let config =
            config(&format!("localhost:{}", proxy.port()), KafkaSecurity::Ssl(tls_trusting(&ca)));
        let started = Instant::now();
        let err = adapter_kafka::ensure_topics(&config)
            .await
            .expect_err(&format!("{case}: the topics cannot be created"));
        let err = test_support::error_chain(&err);
        let took = started.elapsed();
        assert!(took < START_BOUND, "{case}: refused only after {took:?}");
        assert!(err.contains("Kafka"), "{case}: {err}");
        assert!(err.contains("TLS"), "{case}: {err}");
        assert!(err.contains("certificate verify failed"), "{case}: {err}");
        let err = KafkaEventPublisher::connect(&config)
            .await
            .expect_err(&format!("{case}: the publisher does not connect"));
        let err = test_support::error_chain(&err);
        assert!(err.contains("Kafka"), "{case}: {err}");
        drop(proxy);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_oauthbearer_token_of_the_realm_reaches_the_broker_and_is_refreshed_before_it_expires()
{
    test_support::init_tracing();
    let Some(_) = test_support::backend_url("APP_TEST_KAFKA_BROKERS") else { return };
    let Some(issuer) = realm() else { return };
    let (peer, broker) = peer_and_broker(&issuer).await;
    let config = config(
        &peer.address().to_string(),
        KafkaSecurity::SaslPlaintext(oauth(&issuer, Some(SHORT_LIFETIME))),
    );
    broker.create_topics(&config).await;

    let mut connected = produce_and_consume(&config).await;
    let first = peer.presented().first().cloned().expect("a token was presented");
    assert_eq!(first.verdict, Ok(Some(OAUTH_CLIENT.to_owned())), "{first:#?}");
    let first_expiry = first.expires_at.expect("the token has an expiry");
    let lifetime = first_expiry.saturating_sub(unix_now());
    assert!(
        lifetime <= SHORT_LIFETIME,
        "the token lives {lifetime} s, not {SHORT_LIFETIME}: the OIDC mock ignores `expires_in`; \
         restart it with `cargo xtask services down && cargo xtask services up`"
    );

    // A refreshed token: a later one, presented again on a connection that had already
    // authenticated (re-authentication). Only that counts: the other clients' first tokens
    // can be fetched a second later and expire later, without any refresh.
    let is_refresh = |token: &Presented, presented: &[Presented]| {
        token.reauthentication
            && token.expires_at.is_some_and(|exp| exp > first_expiry)
            && presented
                .iter()
                .any(|earlier| earlier.connection == token.connection && earlier.at < token.at)
    };
    peer.until("a refreshed token is presented", PATIENCE, |presented| {
        presented.iter().any(|token| is_refresh(token, presented))
    })
    .await;
    connected.round_trip().await;
    let presented = peer.presented();
    let refreshed: Vec<_> =
        presented.iter().filter(|token| is_refresh(token, &presented)).collect();
    for token in &presented {
        assert_eq!(token.verdict, Ok(Some(OAUTH_CLIENT.to_owned())), "{token:#?}");
    }
    let first_expiry_time = std::time::UNIX_EPOCH + Duration::from_secs(first_expiry);
    assert!(
        refreshed.first().is_some_and(|token| token.at < first_expiry_time),
        "the refreshed token came after the first expired: {refreshed:#?}"
    );
    for token in &refreshed {
        assert_ne!(token.token, first.token);
    }
    // librdkafka re-authenticates its open connections with the fresh token (KIP-368)
    // before the sessions the peer announced end.
    // ... on a connection that had presented an earlier token.
    assert!(
        refreshed.iter().any(|token| token.reauthentication
            && presented
                .iter()
                .any(|earlier| earlier.connection == token.connection && earlier.at < token.at)),
        "no connection was re-authenticated: {presented:#?}"
    );
    let violations = peer.violations();
    assert!(violations.is_empty(), "requests before or after a session: {violations:#?}");
    connected.stop().await;
    drop(broker);
}

#[tokio::test(flavor = "multi_thread")]
async fn sasl_ssl_presents_the_token_over_tls() {
    test_support::init_tracing();
    let Some(_) = test_support::backend_url("APP_TEST_KAFKA_BROKERS") else { return };
    let Some(issuer) = realm() else { return };
    // stunnel (TLS) → the peer (SASL) → the broker, which advertises stunnel.
    let ca = TestCa::new();
    let peer_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = TlsProxy::start(
        &ca.issue(&["localhost", "127.0.0.1"]),
        &peer_listener.local_addr().unwrap().to_string(),
    );
    let advertised = format!("localhost:{}", proxy.port());
    let broker = Tansu::start(&advertised).await;
    let peer = SaslPeer::start(peer_listener, broker.address.clone(), validator(&issuer));

    let config =
        config(&advertised, KafkaSecurity::SaslSsl(oauth(&issuer, None), tls_trusting(&ca)));
    broker.create_topics(&config).await;
    let connected = produce_and_consume(&config).await;
    let presented = peer.presented();
    assert!(!presented.is_empty());
    for token in &presented {
        assert_eq!(token.verdict, Ok(Some(OAUTH_CLIENT.to_owned())), "{token:#?}");
    }
    assert!(peer.violations().is_empty(), "{:#?}", peer.violations());
    connected.stop().await;
    drop((proxy, broker));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_the_broker_refuses_stops_the_start_naming_kafka() {
    test_support::init_tracing();
    let Some(_) = test_support::backend_url("APP_TEST_KAFKA_BROKERS") else { return };
    let Some(issuer) = realm() else { return };
    // The peer trusts another realm's issuer: the stack's tokens are refused.
    let (peer, broker) = peer_and_broker(&format!("{issuer}-other")).await;
    let config =
        config(&peer.address().to_string(), KafkaSecurity::SaslPlaintext(oauth(&issuer, None)));
    let started = Instant::now();
    let err = test_support::error_chain(
        &adapter_kafka::ensure_topics(&config).await.expect_err("the token is refused"),
    );
    assert!(started.elapsed() < START_BOUND, "refused only after {:?}", started.elapsed());
    assert!(err.contains("Kafka") && err.contains("SASL"), "{err}");
    assert!(peer.presented().iter().all(|p| p.verdict.is_err()));
    drop(broker);
}

/// The seed's settings (`KAFKA_OAUTH_CLIENT_ID`, `_SECRET`, `_TOKEN_ENDPOINT_URI`) make a
/// SASL OAUTHBEARER client, which the bundled librdkafka once refused ("No provider for
/// SASL mechanism OAUTHBEARER … Current build options: PLAIN").
#[tokio::test]
async fn the_seeds_oauth_settings_make_a_client_librdkafka_accepts() {
    test_support::init_tracing();
    let Some(issuer) = realm() else { return };
    let nowhere = format!("127.0.0.1:{}", free_port());
    let mut oauth = oauth(&issuer, None);
    oauth.client_id = "flowx-service-client".to_owned();
    let config = config(&nowhere, KafkaSecurity::SaslPlaintext(oauth));
    // No broker: connecting is not an error, creating the client is what once failed.
    let publisher = KafkaEventPublisher::connect(&config).await;
    assert!(publisher.is_ok(), "{:?}", publisher.err().map(|err| test_support::error_chain(&err)));
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}
