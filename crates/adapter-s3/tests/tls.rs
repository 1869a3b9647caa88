//! S3 over `https://` with root certificates of the operator's choosing (which rust-s3
//! cannot take: the adapter then presigns every request and sends it with its own client),
//! through test-support's TLS proxy (`stunnel4`) in front of the service at
//! `APP_TEST_S3_URL`, with a certificate of the throwaway CA.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail loudly")]

use std::time::Duration;

use adapter_s3::{S3BlobStore, S3Config};
use bytes::Bytes;
use domain::ports::{BlobKey, BlobStore as _};
use secrecy::SecretString;
use test_support::tls::{TestCa, TlsProxy};
use uuid::Uuid;

fn env_key(var: &str) -> SecretString {
    SecretString::from(std::env::var(var).unwrap_or_else(|_| {
        panic!("APP_TEST_S3_URL is set but {var} is not (cargo xtask services up)")
    }))
}

fn config(proxy: &TlsProxy, ca: &TestCa, bucket: &str) -> S3Config {
    let mut config = S3Config::new(
        format!("https://localhost:{}", proxy.port()),
        env_key("APP_TEST_S3_ACCESS_KEY"),
        env_key("APP_TEST_S3_SECRET_KEY"),
    );
    config.bucket = bucket.to_owned();
    config.request_timeout = Duration::from_secs(10);
    config.tls_root_certs_pem = Some(ca.ca_pem().as_bytes().to_vec());
    config
}

#[tokio::test]
async fn objects_go_through_https_with_the_right_ca_and_another_ca_is_refused() {
    test_support::init_tracing();
    let Some(url) = test_support::backend_url("APP_TEST_S3_URL") else { return };
    let target = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let ca = TestCa::new();
    let proxy = TlsProxy::start(&ca.issue(&["localhost", "127.0.0.1"]), &target);

    // A fresh bucket: its creation goes over TLS too.
    let bucket = format!("rtm-tls-{}", Uuid::new_v4().simple());
    let store =
        S3BlobStore::connect(&config(&proxy, &ca, &bucket)).await.expect("connect over https");
    let key = BlobKey::parse(&format!("builds/{}/build.zip", Uuid::new_v4())).unwrap();
    let bytes = Bytes::from_static(b"zip bytes over tls");
    store.put(&key, bytes.clone()).await.expect("a put over https");
    assert_eq!(store.get(&key).await.expect("a get over https"), Some(bytes));
    assert!(store.exists(&key).await.expect("exists over https"));
    store.delete(&key).await.expect("a delete over https");
    assert!(!store.exists(&key).await.unwrap());
    assert_eq!(store.get(&key).await.unwrap(), None);
    // Streamed puts (sent whole in this mode: presigned requests cannot do multipart).
    port_contracts::blobs::a_streamed_put_reads_back_byte_for_byte(&store).await;
    port_contracts::blobs::a_failed_stream_leaves_no_object(&store).await;

    let other_ca = TestCa::new();
    let err =
        S3BlobStore::connect(&config(&proxy, &other_ca, &bucket)).await.expect_err("another CA");
    let text = test_support::error_chain(&err);
    assert!(text.contains("s3"), "{text}");
    assert!(text.contains("UnknownIssuer"), "{text}");
}

#[tokio::test]
async fn an_expired_certificate_or_one_for_another_host_is_refused() {
    test_support::init_tracing();
    let Some(url) = test_support::backend_url("APP_TEST_S3_URL") else { return };
    let target = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let ca = TestCa::new();
    let bucket = format!("rtm-tls-{}", Uuid::new_v4().simple());
    for (cert, why) in [
        (ca.issue_expired(&["localhost", "127.0.0.1"]), "certificate expired"),
        (ca.issue_for_another_host(), "not valid for name"),
    ] {
        let proxy = TlsProxy::start(&cert, &target);
        let err = S3BlobStore::connect(&config(&proxy, &ca, &bucket)).await.expect_err(why);
        let text = test_support::error_chain(&err);
        assert!(text.contains("s3"), "{text}");
        assert!(text.contains(why), "{why}: {text}");
    }
}
