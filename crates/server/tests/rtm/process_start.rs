//! Process start through the binary: embedded rtm with `RTM_PROCESS_ENGINE_URL` pointing at
//! an engine this test runs, and the start refused when the variable is invalid.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;

use crate::embedded::{self, admin_token, dev_token};
use crate::{free_port, rtm};

const LOAN_APP: &str = "7a3e5c1d-2b4f-4e8a-9c6d-1f2e3a4b5c6d";
const LOAN_BUILD: &str = "b1a1e001-0000-4000-8000-000000000001";
const ENGINE_ANSWER: &str =
    r#"{"uuid":"4d1e","state":"STARTED","processDefinitionName":"loan_application"}"#;

/// A request as an engine received it: the head's lines (names lower-cased) and the body.
struct Received {
    head: Vec<String>,
    body: String,
}

/// Accepts one connection on `listener`, reads one request and answers 200 with
/// [`ENGINE_ANSWER`].
fn engine_answering_once(listener: TcpListener) -> std::thread::JoinHandle<Received> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end().to_owned();
            if line.is_empty() {
                break;
            }
            head.push(line);
        }
        let length: usize = head
            .iter()
            .find_map(|line| {
                line.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|n| n.trim().parse().unwrap())
            })
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{ENGINE_ANSWER}",
            ENGINE_ANSWER.len()
        )
        .unwrap();
        Received { head, body: String::from_utf8(body).unwrap() }
    })
}

fn example(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/builds").join(name);
    build_archive::pack_directory(&dir).unwrap().bytes
}

#[tokio::test(flavor = "multi_thread")]
async fn a_start_reaches_the_engine_of_rtm_process_engine_url_and_its_answer_comes_back() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let engine_url = format!("http://{}", listener.local_addr().unwrap());
    let engine = engine_answering_once(listener);
    let running = embedded::start_with(&[("RTM_PROCESS_ENGINE_URL", &engine_url)]);
    let base = format!("http://127.0.0.1:{}", running.api);
    let admin = admin_token(running.data_dir.path());
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
    let alice = dev_token(running.data_dir.path(), "alice");

    let response = client
        .post(format!("{base}/api/runtime/app/{LOAN_APP}/process-name/loan_application/start"))
        .bearer_auth(&alice)
        .header("Content-Type", "application/json")
        .body(r#"{"loanAmount": 12000}"#)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), ENGINE_ANSWER, "the engine's answer, unchanged");
    let received = engine.join().unwrap();
    let head = received.head.join("\n").to_ascii_lowercase();
    assert!(head.starts_with("post /api/process/loan_application/start http/1.1"), "{head}");
    assert!(head.contains(&format!("fx-buildid: {LOAN_BUILD}")), "{head}");
    assert!(head.contains(&format!("fx-appid: {LOAN_APP}")), "{head}");
    assert!(head.contains("fx-processname: loan_application"), "{head}");
    assert!(
        received.head.iter().any(|line| *line == format!("authorization: Bearer {alice}")),
        "the caller's token, as it came: {head}"
    );
    assert_eq!(received.body, r#"{"loanAmount": 12000}"#);
}

#[test]
fn a_process_engine_url_that_is_not_http_stops_the_start_naming_it() {
    let data_dir = tempfile::tempdir().unwrap();
    let output = rtm()
        .env("RTM_DATA_DIR", data_dir.path())
        .env("SERVER_PORT", free_port().to_string())
        .env("RTM_PROCESS_ENGINE_URL", "process-engine:8080")
        .output()
        .unwrap();

    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("RTM_PROCESS_ENGINE_URL"), "{stderr}");
}
