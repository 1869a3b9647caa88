//! Embedded mode as an operator runs it: a real request over a socket, graceful stop on
//! SIGTERM, refusals to start on bad configuration, and `rtm build pack`.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::{free_port, rtm, wait_for_exit};

/// A plain HTTP/1.1 GET; returns the status and the body.
pub(crate) fn http_get(
    port: u16,
    path: &str,
    token: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let auth = token.map(|token| format!("Authorization: Bearer {token}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    Ok((status, body))
}

pub(crate) struct Running {
    pub(crate) child: Child,
    pub(crate) api: u16,
    pub(crate) management: u16,
    pub(crate) data_dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start() -> Running {
    start_with(&[])
}

/// Embedded rtm with `vars` set besides the ports and the data directory.
pub(crate) fn start_with(vars: &[(&str, &str)]) -> Running {
    let data_dir = tempfile::tempdir().unwrap();
    let (api, management) = (free_port(), free_port());
    let child = rtm()
        .envs(vars.iter().copied())
        .env("SERVER_PORT", api.to_string())
        .env("MANAGEMENT_SERVER_PORT", management.to_string())
        .env("SERVER_ADDRESS", "127.0.0.1")
        .env("RTM_DATA_DIR", data_dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let running = Running { child, api, management, data_dir };
    // Polls readiness; the bound is generous for a loaded 2-core machine, and a start
    // that takes longer is a failure worth seeing.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((200, body)) = http_get(management, "/actuator/health/readiness", None) {
            assert!(body.contains("\"UP\""), "{body}");
            return running;
        }
        assert!(Instant::now() < deadline, "rtm did not become ready within 30 s");
        std::thread::yield_now();
    }
}

pub(crate) fn dev_token(data_dir: &std::path::Path, subject: &str) -> String {
    signed_token(data_dir, &["--sub", subject])
}

/// A token of the embedded key for `operator` with every admin role.
pub(crate) fn admin_token(data_dir: &std::path::Path) -> String {
    signed_token(data_dir, &["--sub", "operator", "--admin"])
}

fn signed_token(data_dir: &std::path::Path, args: &[&str]) -> String {
    let output = rtm().env("RTM_DATA_DIR", data_dir).arg("dev-token").args(args).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_embedded_server_serves_tokens_it_signed_and_stops_cleanly_on_sigterm() {
    let mut running = start();
    let token = dev_token(running.data_dir.path(), "alice");
    let path = "/api/runtime/app/7a3e5c1d-2b4f-4e8a-9c6d-1f2e3a4b5c6d/build/info";
    let (status, body) = http_get(running.api, path, Some(&token)).unwrap();
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"code\":\"no_active_policy\""), "{body}");
    let (status, _) = http_get(running.api, path, None).unwrap();
    assert_eq!(status, 401);
    let (status, body) = http_get(running.management, "/actuator/info", None).unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("embedded"), "{body}");
    assert!(body.contains("application-manager+runtime-manager"), "both roles: {body}");
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["git"]["commit"]["id"], env!("RTM_GIT_COMMIT"), "{body}");
    assert_eq!(info["build"]["version"], env!("CARGO_PKG_VERSION"), "{body}");
    let (status, body) = http_get(running.management, "/actuator/health", None).unwrap();
    assert_eq!(status, 200, "{body}");
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    for component in ["db", "mongo", "kafka", "redis", "s3"] {
        assert_eq!(health["components"][component]["status"], "UP", "{component}: {body}");
        assert_eq!(
            health["components"][component]["details"]["backend"]
                .as_str()
                .or(health["components"][component]["details"]["database"].as_str()),
            Some("in-memory (embedded mode)"),
            "{body}"
        );
    }
    let (status, body) = http_get(running.api, "/api/applications", Some(&token)).unwrap();
    assert_eq!(status, 403, "the Application Manager's API is served too: {body}");

    let term =
        Command::new("kill").args(["-TERM", &running.child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let status = wait_for_exit(&mut running.child, Duration::from_secs(20));
    assert!(status.success(), "rtm exits 0 after SIGTERM, got {status}");
    let mut log = String::new();
    running.child.stdout.take().unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains("EMBEDDED MODE"), "embedded mode is announced loudly");
    assert!(log.contains("stopped"), "{log}");
    assert!(!log.contains(&token), "a token never appears in the log");
}

fn refused(vars: &[(&str, &str)]) -> Output {
    let data_dir = tempfile::tempdir().unwrap();
    let mut command = rtm();
    command.env("RTM_DATA_DIR", data_dir.path()).env("SERVER_PORT", free_port().to_string());
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    assert!(!output.status.success(), "rtm must refuse to start with {vars:?}");
    output
}

#[test]
fn a_set_but_invalid_variable_stops_the_start_naming_it() {
    let output = refused(&[("MANAGEMENT_SERVER_PORT", "eighty-one")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("MANAGEMENT_SERVER_PORT") && stderr.contains("eighty-one"), "{stderr}");
}

#[test]
fn a_configured_backend_is_never_replaced_silently_by_embedded_mode() {
    let output = refused(&[("SPRING_DATA_MONGODB_URI", "mongodb://db:27017/app-runtime")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SPRING_DATA_MONGODB_URI"), "{stderr}");
}

#[test]
fn build_pack_writes_an_archive_and_says_what_it_packed() {
    let out = tempfile::tempdir().unwrap();
    let archive = out.path().join("library.zip");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/builds/shared-library-1");
    let output = rtm().args(["build", "pack"]).arg(&dir).arg("-o").arg(&archive).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("11b0a001-0000-4000-8000-000000000001"), "{stdout}");
    let bytes = std::fs::read(&archive).unwrap();
    assert!(bytes.starts_with(b"PK"), "a zip archive");

    let missing =
        rtm().args(["build", "pack", "/nonexistent/build", "-o"]).arg(&archive).output().unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/build"));
}
