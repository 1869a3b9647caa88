//! TLS towards Redis (`rediss://` and root certificates of the operator's choosing), against
//! Debian's `redis-server` started here with a TLS port and a certificate of test-support's
//! throwaway CA.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers of a test binary; a failed unwrap is a failed test"
)]

use std::net::{Ipv4Addr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use adapter_redis::{RedisCache, RedisConfig};
use domain::model::ApplicationId;
use domain::ports::Cache as _;
use secrecy::SecretString;
use test_support::BuildFixture;
use test_support::tls::{ServerCert, TestCa, free_port};

fn config(port: u16, ca: &TestCa) -> RedisConfig {
    let mut config = RedisConfig::new(SecretString::from(format!("rediss://localhost:{port}")));
    config.tls_root_certs_pem = Some(ca.ca_pem().as_bytes().to_vec());
    config.operation_timeout = Duration::from_secs(5);
    config
}

#[tokio::test]
async fn the_cache_works_over_tls_with_the_right_ca_and_refuses_another() {
    test_support::init_tracing();
    let ca = TestCa::new();
    let server = TlsRedis::start(&ca.issue(&["localhost", "127.0.0.1"]));

    let cache = RedisCache::connect(&config(server.port, &ca)).await.expect("connect over TLS");
    let build = std::sync::Arc::new(BuildFixture::new(ApplicationId::random()).build().summary());
    cache.put_build_summary(build.clone()).await.expect("a write over TLS");
    assert_eq!(
        cache.get_build_summary(build.id()).await.expect("a read over TLS"),
        Some(build.clone())
    );

    // Redis is optional: a certificate it cannot trust makes it unavailable, not the start
    // impossible; every operation then fails, saying why.
    let other_ca = TestCa::new();
    let untrusted =
        RedisCache::connect(&config(server.port, &other_ca)).await.expect("redis is optional");
    // An eviction is always attempted (reads and writes skip Redis for a while after the
    // connect's failed ping).
    let err = untrusted.evict_build(build.id()).await.expect_err("an untrusted certificate");
    let text = test_support::error_chain(&err);
    assert!(text.to_lowercase().contains("redis"), "{text}");
    assert!(text.contains("UnknownIssuer"), "{text}");
}

#[tokio::test]
async fn an_expired_certificate_or_one_for_another_host_is_refused() {
    test_support::init_tracing();
    let ca = TestCa::new();
    for (cert, why) in [
        (ca.issue_expired(&["localhost", "127.0.0.1"]), "certificate expired"),
        (ca.issue_for_another_host(), "not valid for name"),
    ] {
        let server = TlsRedis::start(&cert);
        let cache =
            RedisCache::connect(&config(server.port, &ca)).await.expect("redis is optional");
        let err = cache.evict_build(domain::model::BuildId::random()).await.expect_err(why);
        let text = test_support::error_chain(&err);
        assert!(text.to_lowercase().contains("redis"), "{text}");
        assert!(text.contains(why), "{why}: {text}");
    }
}

#[tokio::test]
async fn root_certificates_with_a_plaintext_url_or_not_in_pem_stop_the_connect() {
    let ca = TestCa::new();
    let mut plaintext = RedisConfig::new(SecretString::from("redis://127.0.0.1:6379"));
    plaintext.tls_root_certs_pem = Some(ca.ca_pem().as_bytes().to_vec());
    let err = RedisCache::connect(&plaintext).await.expect_err("a CA without TLS");
    assert!(
        test_support::error_chain(&err).contains("rediss://"),
        "{}",
        test_support::error_chain(&err)
    );

    let mut not_pem = RedisConfig::new(SecretString::from("rediss://127.0.0.1:6379"));
    not_pem.tls_root_certs_pem = Some(b"not a certificate".to_vec());
    let err = RedisCache::connect(&not_pem).await.expect_err("no certificate in the CA file");
    assert!(
        test_support::error_chain(&err).contains("redis TLS settings"),
        "{}",
        test_support::error_chain(&err)
    );
}

/// `redis-server` with only a TLS port, killed on drop.
struct TlsRedis {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TlsRedis {
    #[allow(
        clippy::disallowed_methods,
        reason = "a pause between readiness probes while a test sets up"
    )]
    fn start(cert: &ServerCert) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--tls-cert-file")
            .arg(&cert.cert_file)
            .arg("--tls-key-file")
            .arg(&cert.key_file)
            .args(["--tls-auth-clients", "no", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot run redis-server ({err}): install it with `cargo xtask services up`")
            });
        let mut server = Self { child, port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("redis-server exited ({status}); does this build support TLS (--tls-port)?");
            }
            assert!(Instant::now() < deadline, "redis-server did not listen on {port} within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        drop(self.child.kill());
        drop(self.child.wait());
    }
}
