//! TLS towards MongoDB: the driver reads `tls=true` and `tlsCAFile` from the URI itself
//! (rustls). Tested through test-support's TLS proxy (`stunnel4`) in front of the server
//! at `APP_TEST_MONGO_URL`, with a certificate of the throwaway CA.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers fail the test on any error"
)]

use std::time::Duration;

use adapter_mongo::{MongoConfig, MongoRuntimeDataStore};
use domain::model::ApplicationId;
use domain::ports::RuntimeDataStore as _;
use secrecy::SecretString;
use test_support::BuildFixture;
use test_support::tls::{TestCa, TlsProxy};

/// `host:port` of a `mongodb://host:port[/…]` URL.
fn address(url: &str) -> String {
    let rest = url.strip_prefix("mongodb://").expect("a mongodb:// APP_TEST_MONGO_URL");
    rest.split(['/', '?']).next().unwrap().to_owned()
}

fn config(proxy: &TlsProxy, ca_file: &std::path::Path) -> MongoConfig {
    let uri = format!(
        "mongodb://localhost:{}/?directConnection=true&tls=true&tlsCAFile={}",
        proxy.port(),
        ca_file.display()
    );
    let mut config = MongoConfig::new(SecretString::from(uri));
    config.database = format!("rtm-tls-{}", uuid::Uuid::new_v4().simple());
    config.server_selection_timeout = Duration::from_secs(3);
    config
}

#[tokio::test]
async fn builds_are_stored_over_tls_with_the_right_ca_and_another_ca_is_refused() {
    test_support::init_tracing();
    let Some(url) = test_support::backend_url("APP_TEST_MONGO_URL") else { return };
    let ca = TestCa::new();
    let proxy = TlsProxy::start(&ca.issue(&["localhost", "127.0.0.1"]), &address(&url));

    let store = MongoRuntimeDataStore::connect(&config(&proxy, ca.ca_file()))
        .await
        .expect("connect over TLS");
    let build = BuildFixture::new(ApplicationId::random()).build();
    store.publish_build(&build).await.expect("an insert over TLS");
    assert_eq!(store.find_build(build.id()).await.expect("a find over TLS"), Some(build.clone()));
    store.discard_build(build.id()).await.expect("a delete over TLS");

    let other_ca = TestCa::new();
    let mut untrusted = config(&proxy, other_ca.ca_file());
    // The handshake fails at once; the driver then waits this long for a usable server.
    untrusted.server_selection_timeout = Duration::from_millis(500);
    let err =
        MongoRuntimeDataStore::connect(&untrusted).await.expect_err("a certificate of another CA");
    let text = test_support::error_chain(&err);
    assert!(text.contains("mongodb"), "{text}");
    assert!(text.contains("UnknownIssuer"), "{text}");
}

#[tokio::test]
async fn an_expired_certificate_or_one_for_another_host_is_refused() {
    test_support::init_tracing();
    let Some(url) = test_support::backend_url("APP_TEST_MONGO_URL") else { return };
    let ca = TestCa::new();
    for (cert, why) in [
        (ca.issue_expired(&["localhost", "127.0.0.1"]), "certificate expired"),
        (ca.issue_for_another_host(), "not valid for name"),
    ] {
        let proxy = TlsProxy::start(&cert, &address(&url));
        let mut config = config(&proxy, ca.ca_file());
        config.server_selection_timeout = Duration::from_millis(500);
        let err = MongoRuntimeDataStore::connect(&config).await.expect_err(why);
        let text = test_support::error_chain(&err);
        assert!(text.contains("mongodb"), "{text}");
        assert!(text.contains(why), "{why}: {text}");
    }
}
