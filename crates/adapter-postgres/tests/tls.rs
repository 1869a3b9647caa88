//! TLS towards PostgreSQL, against real servers: the shared one (`APP_TEST_POSTGRES_URL`,
//! Debian's cluster runs with `ssl=on` and its snakeoil certificate) for `require`, and a
//! throwaway server started here (initdb from Debian's `postgresql` package, a certificate
//! of test-support's throwaway CA) for `verify-ca` and `verify-full`.
//!
//! Every connection under test is opened by [`migrate`], which goes through the same
//! connector as the repository's pool.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers of a test binary; a failed unwrap is a failed test"
)]

use std::fs;
use std::os::unix::fs::{PermissionsExt as _, chown};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use adapter_postgres::{PgAppDataRepository, PgConfig, PgSslMode, PgTls, migrate};
use domain::ports::BuildCatalog as _;
use secrecy::SecretString;
use tempfile::TempDir;
use test_support::tls::{ServerCert, TestCa, free_port};

fn config(url: &str, mode: PgSslMode, root_certs: Option<&Path>) -> PgConfig {
    let mut config = PgConfig::new(SecretString::from(url.to_owned())).with_schema("rtm_tls");
    config.connect_timeout = Duration::from_secs(10);
    config.tls = PgTls { mode, root_certs_pem: root_certs.map(|path| fs::read(path).unwrap()) };
    config
}

async fn refused(config: &PgConfig, expected: &str) {
    let err = migrate(config).await.expect_err("the connection must be refused");
    let text = test_support::error_chain(&err);
    assert!(text.contains("PostgreSQL over TLS"), "{text}");
    assert!(text.contains(expected), "expected `{expected}` in: {text}");
}

/// `sslmode=require` against the shared cluster: the repository's pooled connections are
/// encrypted (PostgreSQL's own `pg_stat_ssl` says so), without a root certificate.
#[tokio::test]
async fn require_encrypts_every_connection_to_the_shared_postgres() {
    test_support::init_tracing();
    let Some(url) = test_support::backend_url("APP_TEST_POSTGRES_URL") else { return };
    let name = format!("rtm_tls_{}", uuid::Uuid::new_v4().simple());
    let separator = if url.contains('?') { '&' } else { '?' };
    let tagged = format!("{url}{separator}application_name={name}");
    let mut config = config(&tagged, PgSslMode::Require, None).with_schema(&name);
    config.max_pool_size = 2;
    migrate(&config).await.expect("migrations over TLS");
    let repository = PgAppDataRepository::connect(&config).await.expect("connect over TLS");
    let missing = domain::model::BuildId::random();
    repository.find_build_header(missing).await.expect("a query over TLS");

    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let rows = admin
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
            &[&name],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty(), "the repository holds a connection");
    assert!(rows.iter().all(|row| row.get::<_, bool>(0)), "every connection is encrypted");
    admin.batch_execute(&format!("DROP SCHEMA \"{name}\" CASCADE")).await.unwrap();
}

/// `verify-ca` and `verify-full` against a server whose certificate the test chooses: the
/// right CA connects, another CA, an expired certificate and (for `verify-full` only) a
/// certificate of another host are refused, each naming PostgreSQL and the reason.
#[tokio::test]
async fn verify_modes_check_the_chain_the_dates_and_the_host_name() {
    test_support::init_tracing();
    let ca = TestCa::new();
    let other_ca = TestCa::new();
    let mut server = ThrowawayPostgres::init();
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", server.port);

    server.start(&ca.issue(&["localhost", "127.0.0.1"]));
    migrate(&config(&url, PgSslMode::VerifyFull, Some(ca.ca_file())))
        .await
        .expect("verify-full with the right CA");
    migrate(&config(&url, PgSslMode::Require, Some(ca.ca_file())))
        .await
        .expect("require with the right CA");
    migrate(&config(&url, PgSslMode::Prefer, None)).await.expect("prefer");
    refused(&config(&url, PgSslMode::VerifyFull, Some(other_ca.ca_file())), "UnknownIssuer").await;
    refused(&config(&url, PgSslMode::VerifyCa, Some(other_ca.ca_file())), "UnknownIssuer").await;
    // libpq's rule: `require` with a root certificate checks the chain.
    refused(&config(&url, PgSslMode::Require, Some(other_ca.ca_file())), "UnknownIssuer").await;
    server.stop();

    server.start(&ca.issue_for_another_host());
    refused(&config(&url, PgSslMode::VerifyFull, Some(ca.ca_file())), "not valid for name").await;
    migrate(&config(&url, PgSslMode::VerifyCa, Some(ca.ca_file())))
        .await
        .expect("verify-ca does not check the host name");
    server.stop();

    server.start(&ca.issue_expired(&["localhost", "127.0.0.1"]));
    refused(&config(&url, PgSslMode::VerifyCa, Some(ca.ca_file())), "certificate expired").await;
    refused(&config(&url, PgSslMode::VerifyFull, Some(ca.ca_file())), "certificate expired").await;
    server.stop();
}

/// A PostgreSQL cluster in a temporary directory, on a free port, trusting local logins,
/// with `ssl=on` and the certificate of each [`ThrowawayPostgres::start`]. PostgreSQL
/// refuses to run as root, so as root its commands run as the `postgres` user.
struct ThrowawayPostgres {
    dir: TempDir,
    bin: PathBuf,
    /// The uid and gid the server runs as, when the tests run as root.
    run_as: Option<(u32, u32)>,
    port: u16,
    running: bool,
}

const INSTALL: &str =
    "install PostgreSQL's server with `cargo xtask services up` (Debian package postgresql)";

impl ThrowawayPostgres {
    fn init() -> Self {
        let bin = newest_server_bin()
            .unwrap_or_else(|| panic!("no /usr/lib/postgresql/*/bin/initdb: {INSTALL}"));
        let dir = tempfile::Builder::new().prefix("rtm-pg-tls").tempdir().unwrap();
        let run_as = is_root()
            .then(|| postgres_user().expect("the postgres user (Debian's postgresql package)"));
        let server = Self { dir, bin, run_as, port: free_port(), running: false };
        server.own(server.dir.path());
        server.run(
            "initdb",
            &[
                "-D",
                server.data().to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn own(&self, path: &Path) {
        if let Some((uid, gid)) = self.run_as {
            chown(path, Some(uid), Some(gid)).unwrap();
        }
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match self.run_as {
            Some(_) => {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(&program);
                command
            }
            None => Command::new(&program),
        }
    }

    fn run(&self, name: &str, args: &[&str]) {
        let program = self.bin.join(name);
        let output = self
            .command(name)
            .args(args)
            .output()
            .unwrap_or_else(|err| panic!("{} cannot run: {err}", program.display()));
        assert!(
            output.status.success(),
            "{} {args:?} failed: {}{}\n{}",
            program.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }

    /// Starts the server with `cert`; returns once it accepts connections (`pg_ctl -w`
    /// polls for that).
    fn start(&mut self, cert: &ServerCert) {
        for (source, name) in [(&cert.cert_file, "server.crt"), (&cert.key_file, "server.key")] {
            let target = self.data().join(name);
            fs::copy(source, &target).unwrap();
            fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
            self.own(&target);
        }
        let options = format!(
            "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c ssl=on -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "30",
                "-o",
                &options,
                "start",
            ],
        );
        self.running = true;
    }

    fn stop(&mut self) {
        if self.running {
            self.running = false;
            self.run(
                "pg_ctl",
                &["-D", self.data().to_str().unwrap(), "-m", "immediate", "-w", "stop"],
            );
        }
    }
}

impl Drop for ThrowawayPostgres {
    fn drop(&mut self) {
        if self.running {
            // Not `stop`: a panic while a test already fails would hide its message.
            let data = self.data();
            let stopped = self
                .command("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-m", "immediate", "-w", "stop"])
                .status();
            drop(stopped);
        }
    }
}

/// The `bin` directory of the newest PostgreSQL server installed the Debian way.
fn newest_server_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(2) == Some("0"))
    })
}

/// The uid and gid of `postgres` from `/etc/passwd`.
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    let line = passwd.lines().find(|line| line.starts_with("postgres:"))?;
    let mut fields = line.split(':').skip(2);
    Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
}
