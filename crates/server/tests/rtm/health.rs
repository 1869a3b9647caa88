//! Probes during the start: the management server answers liveness before the backends are
//! connected, readiness stays DOWN meanwhile, and a backend that never answers still stops
//! the start with a message naming it.

use std::io::Read as _;
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::embedded::http_get;
use crate::{free_port, rtm, wait_for_exit};

#[test]
fn liveness_answers_while_the_backends_connect_and_readiness_waits() {
    // A "PostgreSQL" that accepts connections and never says a word: the start hangs on it
    // until the adapter's bounded connect timeout.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let url = format!("jdbc:postgresql://127.0.0.1:{silent_port}/app_manager");
    let management = free_port();
    let mut child = rtm()
        .env("SERVER_PORT", free_port().to_string())
        .env("MANAGEMENT_SERVER_PORT", management.to_string())
        .env("SERVER_ADDRESS", "127.0.0.1")
        .env("SPRING_DATASOURCE_URL", &url)
        .env("SPRING_DATASOURCE_USERNAME", "rtm")
        .env("SPRING_DATASOURCE_PASSWORD", "pg-s3cret")
        .env("SPRING_DATA_MONGODB_URI", "mongodb://127.0.0.1:1/app-runtime")
        .env("SPRING_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
        .env("APPLICATION_FILE_STORAGE_S3_SERVER_URL", "http://127.0.0.1:1")
        .env("APPLICATION_FILE_STORAGE_S3_ACCESS_KEY", "a")
        .env("APPLICATION_FILE_STORAGE_S3_SECRET_KEY", "b")
        .env("SECURITY_OAUTH2_BASE_SERVER_URL", "http://127.0.0.1:1/auth")
        .env("SECURITY_OAUTH2_REALM", "flowx")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let deadline = Instant::now() + Duration::from_secs(20);
    let liveness = loop {
        if let Ok(answer) = http_get(management, "/actuator/health/liveness", None) {
            break answer;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "rtm exited before its management server answered liveness"
        );
        assert!(Instant::now() < deadline, "liveness did not answer within 20 s");
        std::thread::yield_now();
    };
    assert_eq!(liveness.0, 200, "{}", liveness.1);
    assert!(liveness.1.contains("\"UP\""), "{}", liveness.1);
    let (status, body) = http_get(management, "/actuator/health/readiness", None).unwrap();
    assert_eq!(status, 503, "not ready while PostgreSQL does not answer: {body}");
    assert!(body.contains("\"DOWN\""), "{body}");
    let (status, body) = http_get(management, "/actuator/health", None).unwrap();
    assert_eq!(status, 503, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["components"]["db"]["status"], "UNKNOWN", "{body}");
    assert_eq!(health["components"]["livenessState"]["status"], "UP", "{body}");
    assert!(
        child.try_wait().unwrap().is_none(),
        "the probes were answered during the start, not after it"
    );

    // The bounded timeouts still end the start, naming the backend.
    let status = wait_for_exit(&mut child, Duration::from_secs(60));
    assert!(!status.success());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(stderr.contains("PostgreSQL (SPRING_DATASOURCE_URL)"), "{stderr}");
    assert!(!stderr.contains("pg-s3cret"), "{stderr}");
    drop(silent);
}
