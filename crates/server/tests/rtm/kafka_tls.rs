//! Kafka over TLS as an operator configures it: `SPRING_KAFKA_SECURITY_PROTOCOL=SSL` with
//! `SPRING_KAFKA_SSL_TRUST_STORE_LOCATION`, against a broker whose certificate that CA did
//! not sign, stops the start at once with a message naming Kafka (the adapter's own tests
//! cover the working path and the other refusals on the wire).

use std::time::{Duration, Instant};

use test_support::tls::{TestCa, TlsProxy, free_port};

use crate::real_backends::{Isolated, Stack, rtm_env};
use crate::{rtm, wait_for_exit};

#[tokio::test]
async fn a_kafka_broker_certificate_of_another_ca_stops_the_start_naming_kafka() {
    test_support::init_tracing();
    let Some(stack) = Stack::from_env() else { return };
    let trusted = TestCa::new();
    let other = TestCa::new();
    // The handshake fails before anything would be forwarded.
    let proxy = TlsProxy::start(
        &other.issue(&["localhost", "127.0.0.1"]),
        &format!("127.0.0.1:{}", free_port()),
    );
    let mut env = rtm_env(&stack, &Isolated::new(), None);
    env.insert("SPRING_KAFKA_BOOTSTRAPSERVERS".into(), format!("localhost:{}", proxy.port()));
    env.insert("SPRING_KAFKA_SECURITY_PROTOCOL".into(), "SSL".into());
    env.insert(
        "SPRING_KAFKA_SSL_TRUST_STORE_LOCATION".into(),
        trusted.ca_file().to_string_lossy().into_owned(),
    );
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("rtm.log");
    let started = Instant::now();
    let mut child = rtm()
        .envs(&env)
        .env("SERVER_PORT", free_port().to_string())
        .env("MANAGEMENT_SERVER_PORT", free_port().to_string())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::options().append(true).open(&log).unwrap())
        .spawn()
        .unwrap();
    // Migrations and the other backends come first; Kafka's refusal is immediate.
    let status = wait_for_exit(&mut child, Duration::from_secs(60));
    let output = std::fs::read_to_string(&log).unwrap();
    assert!(!status.success(), "rtm started against an untrusted broker:\n{output}");
    assert!(output.contains("Kafka"), "{output}");
    assert!(output.contains("certificate verify failed"), "{output}");
    assert!(started.elapsed() < Duration::from_secs(45), "took {:?}", started.elapsed());
    drop(proxy);
}
