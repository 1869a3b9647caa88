//! `rtm config check`, `rtm --version` and the one-start report of every invalid variable,
//! as an operator runs them.

use std::process::Output;

use crate::{free_port, rtm};

fn config_check(vars: &[(&str, &str)]) -> Output {
    rtm().envs(vars.iter().copied()).args(["config", "check"]).output().unwrap()
}

const SECRETS: [&str; 4] = ["pg-pa55word", "mongo-pa55word", "s3-s3cret-key", "redis-pa55word"];

fn real_backends() -> Vec<(&'static str, &'static str)> {
    vec![
        ("SPRING_DATASOURCE_URL", "jdbc:postgresql://127.0.0.1:1/app_manager"),
        ("SPRING_DATASOURCE_USERNAME", "flowx"),
        ("SPRING_DATASOURCE_PASSWORD", SECRETS[0]),
        ("SPRING_DATA_MONGODB_URI", "mongodb://runtime:mongo-pa55word@127.0.0.1:1/app-runtime"),
        ("SPRING_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1"),
        ("APPLICATION_FILE_STORAGE_S3_SERVER_URL", "http://127.0.0.1:1"),
        ("APPLICATION_FILE_STORAGE_S3_ACCESS_KEY", "s3-access"),
        ("APPLICATION_FILE_STORAGE_S3_SECRET_KEY", SECRETS[2]),
        ("SECURITY_OAUTH2_BASE_SERVER_URL", "http://127.0.0.1:1/auth"),
        ("SECURITY_OAUTH2_REALM", "flowx"),
        ("SPRING_REDIS_HOST", "127.0.0.1"),
        ("SPRING_REDIS_PASSWORD", SECRETS[3]),
    ]
}

#[test]
fn config_check_prints_the_effective_configuration_without_a_secret_and_connects_to_nothing() {
    // Every backend points at port 1, where nothing listens: the check must not care.
    let mut vars = real_backends();
    vars.push(("SPRING_APPLICATION_NAME", "runtime-manager"));
    vars.push(("RTM_CORS_ALOWED_ORIGINS", "https://designer.example.com"));
    let output = config_check(&vars);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit 0 when valid: {stdout}\n{stderr}");
    assert!(stdout.contains("The configuration is valid."), "{stdout}");
    assert!(stdout.contains("role runtime-manager"), "{stdout}");
    assert!(stdout.contains("postgres://flowx:****@127.0.0.1:1/app_manager"), "{stdout}");
    for secret in SECRETS {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} printed:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("warning: RTM_CORS_ALOWED_ORIGINS is set but rtm does not read it"),
        "a misspelt RTM_ variable is warned about: {stdout}"
    );
}

#[test]
fn config_check_lists_every_problem_and_exits_non_zero() {
    let mut vars = real_backends();
    vars.retain(|(name, _)| *name != "SPRING_DATASOURCE_URL");
    vars.push(("SPRING_DATASOURCE_URL", "jdbc:mysql://db/x"));
    vars.extend([
        ("SERVER_PORT", "eighty"),
        ("RTM_CORS_ALLOWED_ORIGINS", "*"),
        ("SPRING_KAFKA_BOOTSTRAP_SERVERS", "kafka"),
    ]);
    let output = config_check(&vars);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("4 problems"), "{stderr}");
    for name in [
        "SERVER_PORT",
        "RTM_CORS_ALLOWED_ORIGINS",
        "SPRING_DATASOURCE_URL",
        "SPRING_KAFKA_BOOTSTRAP_SERVERS",
    ] {
        assert!(
            stderr.lines().any(|line| line.trim_start().starts_with(&format!("{name}: "))),
            "{name} on a line of its own:\n{stderr}"
        );
    }
    for secret in SECRETS {
        assert!(!stderr.contains(secret), "{secret} printed:\n{stderr}");
    }
}

#[test]
fn serve_reports_every_invalid_variable_in_one_start() {
    let output = rtm()
        .env("SERVER_PORT", free_port().to_string())
        .env("MANAGEMENT_SERVER_PORT", "none")
        .env("RTM_IMPORT_LEASE_SECONDS", "0")
        .env("SPRING_APPLICATION_NAME", "scheduler")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for name in ["MANAGEMENT_SERVER_PORT", "RTM_IMPORT_LEASE_SECONDS", "SPRING_APPLICATION_NAME"] {
        assert!(stderr.contains(&format!("\n  {name}: ")), "{name}:\n{stderr}");
    }
}

#[test]
fn version_names_the_commit() {
    let output = rtm().arg("--version").output().unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let commit = env!("RTM_GIT_COMMIT");
    assert_eq!(
        stdout.trim(),
        format!("rtm {} (commit {commit})", env!("CARGO_PKG_VERSION")),
        "{stdout}"
    );
    // Built from a git checkout, the commit is HEAD's (a build without .git says `unknown`
    // unless RTM_GIT_COMMIT was given to the build).
    if let Ok(head) = std::process::Command::new("git").args(["rev-parse", "HEAD"]).output()
        && head.status.success()
        && std::env::var_os("RTM_GIT_COMMIT").is_none()
    {
        let head = String::from_utf8_lossy(&head.stdout);
        assert!(head.trim().starts_with(commit), "{commit} is not HEAD {head}");
    }
}
