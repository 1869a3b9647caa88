//! PostgreSQL: Debian's cluster, started with `pg_ctlcluster` when it is down, and the role
//! and databases the stack promises (user `root` with trust auth over TCP; `test` for the
//! tests, `app_manager` for `cargo run -p server`).
//!
//! On the project's machines the cluster already runs and all of that is in place. On a
//! fresh one, `services up` installs `postgresql`, and then sets it up: the `root` role
//! (through the `postgres` superuser on the Unix socket) and, only in a cluster it set up
//! itself or on a CI machine (`CI=true`), trust lines in `pg_hba.conf` for 127.0.0.1 and ::1.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use super::install::{Installer, which};
use super::pidfile::Recorded;
use super::{Dirs, HOST, POSTGRES_DATABASES, POSTGRES_USER, Service, log_tail};

/// Marks a cluster `services up` created on a fresh machine: only that cluster's
/// `pg_hba.conf` is ever edited.
const SET_UP_BY_US: &str = "postgres-set-up-by-xtask";
const TRUST_LINES: &str = "# Added by `cargo xtask services up`: rtm's local stack logs in without a password.\n\
                           host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n";

/// A line of `pg_lsclusters --no-header`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Cluster {
    version: String,
    name: String,
    port: u16,
    data_directory: PathBuf,
    log_file: Option<PathBuf>,
}

/// Starts the cluster that listens on the stack's port, and returns its postmaster.
pub(crate) fn start(installer: &mut Installer, dirs: &Dirs) -> anyhow::Result<Option<Recorded>> {
    if which("pg_ctlcluster").is_none() {
        installer.apt(&["postgresql"])?;
        mark_set_up_by_us(dirs)?;
    }
    let mut clusters = clusters()?;
    if clusters.is_empty() {
        // Debian's package creates `main` unless told not to; make it if it is missing.
        let version = newest_installed_version()?;
        println!("  postgres: creating cluster {version}/main");
        let create = installer.privileged("pg_createcluster", &[&version, "main"]);
        run(create, "pg_createcluster")?;
        mark_set_up_by_us(dirs)?;
        clusters = self::clusters()?;
    }
    let port = Service::Postgres.port();
    let Some(cluster) = clusters.into_iter().find(|cluster| cluster.port == port) else {
        bail!("postgres: no PostgreSQL cluster is configured for port {port} (see pg_lsclusters)");
    };
    if may_edit_hba(dirs) {
        let hba = Path::new("/etc/postgresql").join(&cluster.version).join(&cluster.name);
        trust_local_tcp(installer, &hba.join("pg_hba.conf"))?;
    }
    let log_path = dirs.run.join("postgres.log");
    let log =
        File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
    let mut start = installer.privileged(
        "pg_ctlcluster",
        &["--skip-systemctl-redirect", &cluster.version, &cluster.name, "start"],
    );
    let status = start
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .status()
        .context("cannot run pg_ctlcluster")?;
    if !status.success() {
        bail!(
            "postgres: pg_ctlcluster {} {} start failed ({status}); see {} and {}:\n{}",
            cluster.version,
            cluster.name,
            log_path.display(),
            cluster
                .log_file
                .as_ref()
                .map_or_else(|| "the cluster's log".to_owned(), |f| f.display().to_string()),
            log_tail(&log_path, 10)
        );
    }
    Ok(postmaster(installer, &cluster))
}

/// The running postmaster, from the first line of `postmaster.pid` in the data directory.
fn postmaster(installer: &Installer, cluster: &Cluster) -> Option<Recorded> {
    let file = cluster.data_directory.join("postmaster.pid");
    let text = fs::read_to_string(&file).ok().or_else(|| {
        let file = file.to_str()?;
        let output = installer.privileged("head", &["-n", "1", file]).output().ok()?;
        output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
    })?;
    Recorded::of(text.lines().next()?.trim().parse().ok()?)
}

/// Makes sure the `root` role and the stack's databases exist.
pub(crate) fn provision(installer: &mut Installer, dirs: &Dirs) -> anyhow::Result<()> {
    let psql = installer.command("psql", &["postgresql-client"])?;
    let databases = match databases(&psql) {
        Ok(databases) => databases,
        Err(first) => {
            create_root_role(installer, &psql).with_context(|| {
                format!("postgres: `{POSTGRES_USER}` cannot log in ({first:#})")
            })?;
            if databases(&psql).is_err() && may_edit_hba(dirs) {
                let hba = postgres_psql(installer, &psql, "SHOW hba_file")?;
                trust_local_tcp(installer, Path::new(hba.trim()))?;
                reload(installer, &psql)?;
            }
            databases(&psql).with_context(|| {
                format!(
                    "postgres: `{POSTGRES_USER}` cannot log in over TCP without a password; add \
                     `host all all 127.0.0.1/32 trust` to pg_hba.conf, or run the stack's \
                     PostgreSQL yourself"
                )
            })?
        }
    };
    for database in POSTGRES_DATABASES {
        if !databases.iter().any(|existing| existing == database) {
            println!("  postgres: creating database {database}");
            let mut create = root_psql(&psql);
            create.arg("-c").arg(format!("CREATE DATABASE \"{database}\""));
            run(create, "psql")?;
        }
    }
    Ok(())
}

fn root_psql(psql: &Path) -> Command {
    let mut command = Command::new(psql);
    command
        .args([
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            HOST,
            "-U",
            POSTGRES_USER,
            "-d",
            "postgres",
        ])
        .arg("-p")
        .arg(Service::Postgres.port().to_string())
        .env("PGCONNECT_TIMEOUT", "5");
    command
}

/// The databases, as `root` over TCP.
fn databases(psql: &Path) -> anyhow::Result<Vec<String>> {
    let mut query = root_psql(psql);
    query.args(["-c", "SELECT datname FROM pg_database"]);
    Ok(run(query, "psql")?.lines().map(str::to_owned).collect())
}

/// `psql` as the `postgres` superuser over the Unix socket (peer auth on Debian).
fn postgres_psql(installer: &Installer, psql: &Path, sql: &str) -> anyhow::Result<String> {
    let psql = psql.to_str().context("psql's path is not UTF-8")?;
    let port = Service::Postgres.port().to_string();
    let args =
        ["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-p", &port, "-d", "postgres", "-c", sql];
    let mut command = if installer.is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", psql]).args(args);
        command
    } else {
        let mut command = Command::new("sudo");
        command.args(["-n", "-u", "postgres", psql]).args(args);
        command
    };
    command.current_dir("/");
    run(command, "psql as postgres")
}

fn create_root_role(installer: &Installer, psql: &Path) -> anyhow::Result<()> {
    let exists = postgres_psql(
        installer,
        psql,
        &format!("SELECT 1 FROM pg_roles WHERE rolname = '{POSTGRES_USER}'"),
    )?;
    if exists.trim().is_empty() {
        println!("  postgres: creating role {POSTGRES_USER}");
        postgres_psql(
            installer,
            psql,
            &format!("CREATE ROLE \"{POSTGRES_USER}\" SUPERUSER LOGIN"),
        )?;
    }
    Ok(())
}

fn reload(installer: &Installer, psql: &Path) -> anyhow::Result<()> {
    postgres_psql(installer, psql, "SELECT pg_reload_conf()").map(drop)
}

/// Puts the trust lines at the top of a `pg_hba.conf` (the first matching line wins there).
fn trust_local_tcp(installer: &Installer, hba: &Path) -> anyhow::Result<()> {
    let path = hba.to_str().context("pg_hba.conf's path is not UTF-8")?;
    let current = match fs::read_to_string(hba) {
        Ok(text) => text,
        // Readable by its owner only, where we are not root.
        Err(_) => run(installer.privileged("cat", &[path]), "cat pg_hba.conf")?,
    };
    if current.contains(TRUST_LINES) {
        return Ok(());
    }
    println!("  postgres: trusting local TCP logins in {path}");
    let edited = format!("{TRUST_LINES}{current}");
    if fs::write(hba, &edited).is_ok() {
        return Ok(());
    }
    let mut tee = installer.privileged("tee", &[path]);
    let mut child = tee
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot write {path}"))?;
    child.stdin.take().context("tee's stdin")?.write_all(edited.as_bytes())?;
    let status = child.wait()?;
    if status.success() { Ok(()) } else { bail!("cannot write {path} ({status})") }
}

/// Only a cluster `up` set up itself, or one on a throwaway CI machine, gets trust lines.
fn may_edit_hba(dirs: &Dirs) -> bool {
    is_set_up_by_us(dirs) || std::env::var("CI").is_ok_and(|ci| ci == "true")
}

fn mark_set_up_by_us(dirs: &Dirs) -> anyhow::Result<()> {
    fs::create_dir_all(&dirs.cache)?;
    fs::write(dirs.cache.join(SET_UP_BY_US), "")
        .with_context(|| format!("cannot write {}", dirs.cache.join(SET_UP_BY_US).display()))
}

fn is_set_up_by_us(dirs: &Dirs) -> bool {
    dirs.cache.join(SET_UP_BY_US).is_file()
}

fn clusters() -> anyhow::Result<Vec<Cluster>> {
    let mut list = Command::new("pg_lsclusters");
    list.arg("--no-header");
    let output = run(list, "pg_lsclusters")?;
    Ok(output.lines().filter_map(parse_cluster).collect())
}

/// `15  main    5432 online root /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log`
fn parse_cluster(line: &str) -> Option<Cluster> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [version, name, port, _status, _owner, data_directory, rest @ ..] = fields.as_slice()
    else {
        return None;
    };
    Some(Cluster {
        version: (*version).to_owned(),
        name: (*name).to_owned(),
        port: port.parse().ok()?,
        data_directory: PathBuf::from(data_directory),
        log_file: rest.first().map(PathBuf::from),
    })
}

fn newest_installed_version() -> anyhow::Result<String> {
    let mut versions: Vec<u32> = fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is installed but /usr/lib/postgresql is unreadable")?
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    versions.last().map(u32::to_string).context("no PostgreSQL server in /usr/lib/postgresql")
}

/// Runs a short command and returns its standard output; its error output goes in the error.
fn run(mut command: Command, what: &str) -> anyhow::Result<String> {
    let output =
        command.stdin(Stdio::null()).output().with_context(|| format!("cannot run {what}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        bail!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_line_gives_its_version_port_and_directories() {
        let line = "15  main    5432 online root /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log";
        assert_eq!(
            parse_cluster(line),
            Some(Cluster {
                version: "15".to_owned(),
                name: "main".to_owned(),
                port: 5432,
                data_directory: PathBuf::from("/var/lib/postgresql/15/main"),
                log_file: Some(PathBuf::from("/var/log/postgresql/postgresql-15-main.log")),
            })
        );
    }

    #[test]
    fn a_cluster_logging_to_syslog_has_no_log_file_and_garbage_is_no_cluster() {
        let line = "16 main 5433 down postgres /var/lib/postgresql/16/main";
        assert_eq!(
            parse_cluster(line).map(|cluster| (cluster.port, cluster.log_file)),
            Some((5433, None))
        );
        assert_eq!(parse_cluster("16 main port down postgres /x"), None);
        assert_eq!(parse_cluster(""), None);
    }
}
