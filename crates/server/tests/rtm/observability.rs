//! Metrics and logs of an authenticated run: `/actuator/prometheus` answers the names the
//! Spring dashboards use, every request has its log line, and neither ever shows a token,
//! a password or a secret parameter value.

use std::io::Read as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::embedded::{self, admin_token, dev_token, http_get};
use crate::{free_port, rtm, wait_for_exit};

const LOAN_APP: &str = "7a3e5c1d-2b4f-4e8a-9c6d-1f2e3a4b5c6d";
const LOAN_BUILD: &str = "b1a1e001-0000-4000-8000-000000000001";
/// The value of the variable an `ENV_SECRET` parameter names: rtm must never read it.
const BUREAU_KEY: &str = "bureau-key-5f0c9e2a7b41d8";
/// A secret-looking config override value, stored and served by rtm.
const OVERRIDE_SECRET: &str = "override-password-8c2d71e4a9";

fn example(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/builds").join(name);
    build_archive::pack_directory(&dir).unwrap().bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_and_logs_of_an_authenticated_run_never_show_a_token_or_a_secret() {
    // An engine that is not there: the start is refused, with the caller's token in hand.
    let engine_url = format!("http://127.0.0.1:{}", free_port());
    let mut running = embedded::start_with(&[
        ("RTM_PROCESS_ENGINE_URL", engine_url.as_str()),
        ("CREDIT_BUREAU_API_KEY", BUREAU_KEY),
        // Everything rtm and its libraries say, as an operator chasing a problem would ask.
        ("LOGGING_LEVEL_ROOT", "DEBUG"),
    ]);
    // Drained while rtm runs: at DEBUG a full pipe would block its writes.
    let mut stdout = running.child.stdout.take().unwrap();
    let mut stderr = running.child.stderr.take().unwrap();
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).unwrap();
        text
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).unwrap();
        text
    });
    let base = format!("http://127.0.0.1:{}", running.api);
    let admin = admin_token(running.data_dir.path());
    let alice = dev_token(running.data_dir.path(), "alice");
    let client = reqwest::Client::new();
    for name in ["shared-library-1", "loan-origination-1"] {
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(example(name)).file_name("build.zip"));
        let response = client
            .post(format!("{base}/api/build-mgmt/builds/import"))
            .bearer_auth(&admin)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "import {name}: {}", response.text().await.unwrap());
    }
    let response = client
        .put(format!("{base}/api/build-mgmt/app/{LOAN_APP}/active-policy"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"type": "BUILD", "buildId": LOAN_BUILD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = client
        .put(format!("{base}/api/build-mgmt/app/{LOAN_APP}/config-params/overrides/bureauPassword"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"type": "VALUE", "value": OVERRIDE_SECRET}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    let params = client
        .get(format!("{base}/api/runtime/app/{LOAN_APP}/build/{LOAN_BUILD}/config-params"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(params.status(), 200);
    assert!(params.text().await.unwrap().contains(OVERRIDE_SECRET), "the override is served");
    let info = client
        .get(format!("{base}/api/runtime/app/{LOAN_APP}/build/info"))
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), 200);
    let start = client
        .post(format!("{base}/api/runtime/app/{LOAN_APP}/process-name/loan_application/start"))
        .bearer_auth(&alice)
        .header("Content-Type", "application/json")
        .body(r#"{"loanAmount": 12000}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 503, "no engine listens there");
    let bad_token = format!("{alice}x");
    let refused = client
        .get(format!("{base}/api/runtime/app/{LOAN_APP}/build/info"))
        .bearer_auth(&bad_token)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let (status, scrape) = http_get(running.management, "/actuator/prometheus", None).unwrap();
    assert_eq!(status, 200, "{scrape}");
    for expected in [
        r#"uri="/api/runtime/app/{appId}/build/{buildId}/config-params",status="200",outcome="SUCCESS",exception="None"}"#,
        r#"uri="/api/runtime/app/{appId}/process-name/{name}/start",status="503",outcome="SERVER_ERROR",exception="process_engine_unavailable"}"#,
        r#"uri="/api/runtime/app/{appId}/build/info",status="401",outcome="CLIENT_ERROR",exception="invalid_token"}"#,
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_start_time_seconds ",
        r#"rtm_resolution_seconds_count{result="resolved"}"#,
        r#"rtm_cache_gets_total{cache="policy_snapshot",result="miss"}"#,
        r#"rtm_build_import_seconds_count{outcome="created"}"#,
        "rtm_outbox_pending_events ",
    ] {
        assert!(scrape.contains(expected), "{expected} missing from the scrape:\n{scrape}");
    }
    assert!(
        scrape.lines().any(|line| line.starts_with("http_server_requests_seconds_count{")
            && line.contains(r#"uri="/api/runtime/app/{appId}/build/info""#)),
        "{scrape}"
    );

    let term =
        Command::new("kill").args(["-TERM", &running.child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let status = wait_for_exit(&mut running.child, Duration::from_secs(20));
    assert!(status.success(), "rtm exits 0 after SIGTERM, got {status}");
    let log = stdout.join().unwrap() + &stderr.join().unwrap();

    // Stdout is no terminal here: JSON lines, one per request.
    let requests: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["target"] == "http_api::request")
        .collect();
    let config_params = requests
        .iter()
        .find(|line| line["route"] == "/api/runtime/app/{appId}/build/{buildId}/config-params")
        .unwrap_or_else(|| panic!("no request line for the config params in:\n{log}"));
    assert_eq!(config_params["method"], "GET");
    assert_eq!(config_params["status"], 200);
    assert_eq!(config_params["user"], "alice");
    assert!(config_params["trace_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(config_params["duration_ms"].is_number());
    assert!(
        requests.iter().any(|line| line["route"] == "/api/build-mgmt/builds/import"
            && line["status"] == 201
            && line["user"] == "operator"),
        "{log}"
    );

    for (what, secret) in [
        ("the admin's token", admin.as_str()),
        ("alice's token", alice.as_str()),
        ("a refused token", bad_token.as_str()),
        ("the ENV_SECRET variable's value", BUREAU_KEY),
        ("a secret override value", OVERRIDE_SECRET),
    ] {
        assert!(!scrape.contains(secret), "{what} is in the metrics");
        assert!(!log.contains(secret), "{what} is in the log");
    }
    // No token fragment either: a JWT's signature part alone would be enough to worry.
    let signature = alice.rsplit('.').next().unwrap();
    assert!(!log.contains(signature) && !scrape.contains(signature), "a token signature leaked");
    assert!(!log.to_ascii_lowercase().contains("bearer "), "an Authorization value in the log");
}

#[test]
fn a_missing_logging_config_file_stops_the_start_naming_it() {
    let data_dir = tempfile::tempdir().unwrap();
    let output = rtm()
        .env("RTM_DATA_DIR", data_dir.path())
        .env("SERVER_PORT", free_port().to_string())
        .env("LOGGING_CONFIG_FILE", "/nonexistent/logback-spring.xml")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("LOGGING_CONFIG_FILE")
            && stderr.contains("/nonexistent/logback-spring.xml"),
        "{stderr}"
    );
}

#[test]
fn an_invalid_rust_log_stops_the_start_naming_it() {
    let data_dir = tempfile::tempdir().unwrap();
    let output = rtm()
        .env("RTM_DATA_DIR", data_dir.path())
        .env("SERVER_PORT", free_port().to_string())
        .env("RUST_LOG", "http_api=loudest")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("RUST_LOG") && stderr.contains("loudest"), "{stderr}");
}
