//! The S3 blob store passes the blobs contract against a real S3 service, refuses wrong
//! keys with a message that says so, and gives up on an unreachable service in time.
//!
//! The contract tests read `APP_TEST_S3_URL` (`http://127.0.0.1:9000`) and the keys from
//! `APP_TEST_S3_ACCESS_KEY` and `APP_TEST_S3_SECRET_KEY`. Every test works under its own
//! random key prefix of one shared bucket.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::net::TcpListener;
use std::time::{Duration, Instant};

use adapter_s3::{S3BlobStore, S3Config};
use bytes::Bytes;
use domain::ports::{BlobKey, BlobStore, PortError};
use secrecy::SecretString;
use uuid::Uuid;

/// The bucket every test shares; each works under its own key prefix.
const BUCKET: &str = "rtm-adapter-tests";

fn env_key(var: &str) -> SecretString {
    match std::env::var(var) {
        Ok(value) if !value.is_empty() => SecretString::from(value),
        _ => panic!("APP_TEST_S3_URL is set but {var} is not: set both S3 keys of that service"),
    }
}

/// The configuration of the service under test, with a fresh key prefix; `None` to skip.
fn config() -> Option<S3Config> {
    let url = test_support::backend_url("APP_TEST_S3_URL")?;
    let mut config =
        S3Config::new(url, env_key("APP_TEST_S3_ACCESS_KEY"), env_key("APP_TEST_S3_SECRET_KEY"));
    config.bucket = BUCKET.to_owned();
    config.key_prefix = Some(format!("tests/{}", Uuid::new_v4()));
    config.request_timeout = Duration::from_secs(30);
    Some(config)
}

#[tokio::test]
async fn the_s3_blob_store_honours_the_blobs_contract() {
    test_support::init_tracing();
    let Some(config) = config() else { return };
    let store = S3BlobStore::connect(&config).await.unwrap();

    port_contracts::blobs::run_all(&store).await;
}

#[tokio::test]
async fn a_missing_bucket_is_created_at_connect_and_connecting_again_is_fine() {
    test_support::init_tracing();
    let Some(mut config) = config() else { return };
    config.bucket = format!("rtm-test-{}", Uuid::new_v4().simple());

    let (first, second) =
        tokio::join!(S3BlobStore::connect(&config), S3BlobStore::connect(&config));
    let (first, second) = (first.unwrap(), second.unwrap());
    let again = S3BlobStore::connect(&config).await.unwrap();

    let key = BlobKey::parse("builds/x/build.zip").unwrap();
    first.put(&key, Bytes::from_static(b"zip")).await.unwrap();
    assert_eq!(second.get(&key).await.unwrap(), Some(Bytes::from_static(b"zip")));
    again.delete(&key).await.unwrap();
    delete_bucket(&config).await;
}

/// Removes the (empty) bucket of `config` with the driver, so test runs leave no buckets.
async fn delete_bucket(config: &S3Config) {
    use secrecy::ExposeSecret as _;
    let region =
        s3::Region::Custom { region: config.region.clone(), endpoint: config.server_url.clone() };
    let credentials = s3::creds::Credentials::new(
        Some(config.access_key.expose_secret()),
        Some(config.secret_key.expose_secret()),
        None,
        None,
        None,
    )
    .unwrap();
    let bucket = s3::Bucket::new(&config.bucket, region, credentials).unwrap().with_path_style();
    let status = bucket.delete().await.unwrap();
    assert!((200..300).contains(&status), "deleting the test bucket answered {status}");
}

#[tokio::test]
async fn the_key_prefix_keeps_two_stores_of_one_bucket_apart() {
    test_support::init_tracing();
    let (Some(mine), Some(theirs)) = (config(), config()) else { return };
    let (mine, theirs) =
        (S3BlobStore::connect(&mine).await.unwrap(), S3BlobStore::connect(&theirs).await.unwrap());
    let key = BlobKey::parse("binaries/shared-name").unwrap();

    mine.put(&key, Bytes::from_static(b"mine")).await.unwrap();

    assert_eq!(theirs.get(&key).await.unwrap(), None);
    theirs.delete(&key).await.unwrap();
    assert_eq!(mine.get(&key).await.unwrap(), Some(Bytes::from_static(b"mine")));
}

#[tokio::test]
async fn a_twenty_megabyte_object_reads_back_byte_for_byte() {
    test_support::init_tracing();
    let Some(config) = config() else { return };
    let store = S3BlobStore::connect(&config).await.unwrap();
    let key = BlobKey::parse("builds/big/build.zip").unwrap();
    let bytes: Bytes = (0..20 * 1024 * 1024 + 3).map(|i: u32| (i % 251) as u8).collect();

    store.put(&key, bytes.clone()).await.unwrap();
    let found = store.get(&key).await.unwrap().unwrap();

    assert_eq!(found.len(), bytes.len());
    assert!(found == bytes, "the 20 MB object reads back unchanged");
    store.delete(&key).await.unwrap();
}

#[tokio::test]
async fn a_wrong_secret_is_refused_at_connect_with_a_message_that_says_so() {
    test_support::init_tracing();
    let Some(mut config) = config() else { return };
    config.secret_key = SecretString::from("not-the-secret");

    let err = S3BlobStore::connect(&config).await.unwrap_err();

    let text = test_support::error_chain(&err);
    assert!(matches!(err, PortError::Backend(_)), "{text}");
    assert!(text.contains("SignatureDoesNotMatch"), "{text}");
    assert!(text.contains("check the s3 access key, secret key"), "{text}");
    assert!(!text.contains("not-the-secret"), "{text}");
}

#[tokio::test]
async fn a_closed_port_is_unavailable_at_connect_within_the_timeout() {
    test_support::init_tracing();
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut config = S3Config::new(
        format!("http://{closed}"),
        SecretString::from("key"),
        SecretString::from("secret"),
    );
    config.request_timeout = Duration::from_secs(2);

    let started = Instant::now();
    let err = S3BlobStore::connect(&config).await.unwrap_err();
    let took = started.elapsed();

    assert!(matches!(err, PortError::Unavailable(_)), "{}", test_support::error_chain(&err));
    assert!(
        test_support::error_chain(&err).contains(&closed.to_string()),
        "{}",
        test_support::error_chain(&err)
    );
    assert!(took < Duration::from_secs(4), "connect took {took:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable_after_the_timeout() {
    test_support::init_tracing();
    // The kernel accepts the connection for the backlog; nobody ever answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut config = S3Config::new(
        format!("http://{}", silent.local_addr().unwrap()),
        SecretString::from("key"),
        SecretString::from("secret"),
    );
    config.request_timeout = Duration::from_millis(500);

    let started = Instant::now();
    let err = S3BlobStore::connect(&config).await.unwrap_err();
    let took = started.elapsed();

    assert!(matches!(err, PortError::Unavailable(_)), "{}", test_support::error_chain(&err));
    assert!(took >= Duration::from_millis(500), "gave up before the timeout: {took:?}");
    assert!(took < Duration::from_secs(3), "connect took {took:?}");
    drop(silent);
}
