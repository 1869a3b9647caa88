//! `cargo xtask services up|down|status|env|token`: rtm's local stack of real backing
//! services, and the one table of their addresses and credentials.
//!
//! [`Service`] and the constants below are that table: `up` starts the services on these
//! ports, [`app_env`] points rtm at them with the original platform's variable names,
//! [`test_env`] points the contract tests at them, and `cargo xtask ci` exports the latter
//! to the tests. docs/TESTING.md describes the stack for people.
//!
//! `up` starts only what is not already answering on its port, waits until each service
//! answers its own protocol, and records what it started in pid files; `down` stops only
//! those. Installs are cached outside the repository (`$XDG_CACHE_HOME/rtm-services`, else
//! `~/.cache/rtm-services`), runtime state (pid files, logs, data) is in its `run/` folder.

mod install;
mod pidfile;
mod postgres;
mod probe;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

use self::install::Installer;
use self::pidfile::{PidFile, Recorded};
use self::probe::{Check, Probe, Request};

/// Every service listens on the loopback interface only.
pub(crate) const HOST: &str = "127.0.0.1";
/// PostgreSQL: trust auth, so the password is never checked.
pub(crate) const POSTGRES_USER: &str = "root";
const POSTGRES_PASSWORD: &str = "rtm";
const POSTGRES_TEST_DATABASE: &str = "test";
/// The original platform's database name (`app_manager`, as in its Helm values).
const POSTGRES_APP_DATABASE: &str = "app_manager";
pub(crate) const POSTGRES_DATABASES: [&str; 2] = [POSTGRES_TEST_DATABASE, POSTGRES_APP_DATABASE];
const MONGO_APP_DATABASE: &str = "app-runtime";
const KAFKA_TOPIC_ENVIRONMENT: &str = "dev.";
const S3_ACCESS_KEY: &str = "rtm";
const S3_SECRET_KEY: &str = "rtm-secret-key";
const OIDC_REALM: &str = "flowx";
/// The original's client of the runtime manager; the mock accepts any secret.
const OIDC_CLIENT_ID: &str = "flowx-platform-authorize";
const OIDC_CLIENT_SECRET: &str = "rtm-client-secret";

const SECANTUS: (&str, &str) = ("SecantusDB", "0.7.0b3");
const TANSU: (&str, &str) = ("tansu", "0.6.0");
const S3S_FS: (&str, &str) = ("s3s-fs", "0.14.1");
const OAUTH2_MOCK_SERVER: (&str, &str) = ("oauth2-mock-server", "9.3.0");
/// The workspace crate (and binary) of the stand-in process engine.
const ENGINE_STAND_IN: &str = "engine-stand-in";
/// The Node script that serves oauth2-mock-server under Keycloak's paths.
const OIDC_SCRIPT: &str = "xtask/services/oidc-server.mjs";

const POLL: Duration = Duration::from_millis(200);
const STOP_WITHIN: Duration = Duration::from_secs(20);

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Installs (cached) and starts every service that is not already answering, and waits
    /// until each one answers.
    Up {
        /// Only these services (by the names `status` prints); all of them when none is given.
        #[arg(value_parser = Service::named)]
        services: Vec<Service>,
    },
    /// Stops the services `up` started; leaves the others alone.
    Down,
    /// One line per service: up or down, its address, and whether `up` started it.
    Status,
    /// Prints `export` lines that point rtm (the original platform's variables) and the
    /// contract tests (APP_TEST_*) at the stack: `eval "$(cargo xtask services env)"`.
    Env,
    /// Prints a bearer token of the stack's OIDC realm with the given claims.
    Token(TokenArgs),
}

#[derive(Debug, Args, PartialEq, Eq)]
pub(crate) struct TokenArgs {
    /// The subject: the token's `sub` and `preferred_username`.
    #[arg(long)]
    sub: String,
    /// Comma-separated groups (the `groups` claim).
    #[arg(long, value_delimiter = ',')]
    groups: Vec<String>,
    /// Comma-separated realm roles (`realm_access.roles`).
    #[arg(long, value_delimiter = ',')]
    roles: Vec<String>,
}

pub(crate) fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Up { services } if services.is_empty() => up(),
        Command::Up { services } => up_only(&services),
        Command::Down => down(),
        Command::Status => status(),
        Command::Env => {
            print!("{}", export_lines());
            Ok(())
        }
        Command::Token(args) => {
            println!("{}", token(&args)?);
            Ok(())
        }
    }
}

/// The services of the stack, in the order `up` starts them: the ones that need no build
/// first, tansu (a 12-minute build on a fresh machine) last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Postgres,
    Redis,
    Mongo,
    Oidc,
    S3,
    /// Not the platform's process engine: a stand-in that records the starts rtm forwards.
    EngineStandIn,
    Kafka,
}

impl Service {
    pub(crate) const ALL: [Self; 7] = [
        Self::Postgres,
        Self::Redis,
        Self::Mongo,
        Self::Oidc,
        Self::S3,
        Self::EngineStandIn,
        Self::Kafka,
    ];

    /// The service called `name`, for the command line.
    fn named(name: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|service| service.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|service| service.name()).collect();
            format!("`{name}` is not a service of the stack ({})", names.join(", "))
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Redis => "redis",
            Self::Mongo => "mongodb",
            Self::Oidc => "oidc",
            Self::S3 => "s3",
            Self::EngineStandIn => ENGINE_STAND_IN,
            Self::Kafka => "kafka",
        }
    }

    /// What runs there, for people.
    fn product(self) -> &'static str {
        match self {
            Self::Postgres => "PostgreSQL (Debian)",
            Self::Redis => "Redis (Debian)",
            Self::Mongo => "SecantusDB 0.7.0b3, MongoDB wire protocol",
            Self::Oidc => "oauth2-mock-server 9.3.0 under Keycloak's paths",
            Self::S3 => "s3s-fs 0.14.1",
            Self::EngineStandIn => "rtm's stand-in process engine (crates/engine-stand-in)",
            Self::Kafka => "tansu 0.6.0, Kafka protocol",
        }
    }

    pub(crate) fn port(self) -> u16 {
        match self {
            Self::Postgres => 5432,
            Self::Redis => 6379,
            Self::Mongo => 27017,
            Self::Oidc => 8180,
            Self::S3 => 9000,
            Self::EngineStandIn => 8290,
            Self::Kafka => 9092,
        }
    }

    fn socket_address(self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port()))
    }

    fn address(self) -> String {
        format!("{HOST}:{}", self.port())
    }

    fn check(self) -> Check<'static> {
        match self {
            Self::Postgres => Check::Postgres,
            Self::Redis => Check::Redis,
            Self::Mongo => Check::Mongo,
            Self::Oidc => Check::HttpBody { path: OIDC_DISCOVERY, needle: "\"issuer\"" },
            Self::S3 => Check::S3,
            Self::EngineStandIn => Check::HttpBody { path: "/", needle: "\"engine-stand-in\"" },
            Self::Kafka => Check::Kafka,
        }
    }

    fn probe(self) -> Probe {
        probe::probe(self.socket_address(), self.check())
    }

    /// How long a start may take before `up` gives up on it.
    fn ready_within(self) -> Duration {
        Duration::from_secs(match self {
            Self::Redis | Self::Oidc | Self::S3 | Self::EngineStandIn => 30,
            Self::Postgres | Self::Mongo | Self::Kafka => 90,
        })
    }

    /// PostgreSQL's "fast shutdown" is SIGINT (its SIGTERM waits for every client to leave).
    fn stop_signal(self) -> &'static str {
        if self == Self::Postgres { "INT" } else { "TERM" }
    }
}

const OIDC_DISCOVERY: &str = "/realms/flowx/.well-known/openid-configuration";
const OIDC_TOKEN_PATH: &str = "/realms/flowx/protocol/openid-connect/token";

fn url(scheme: &str, service: Service) -> String {
    format!("{scheme}://{}", service.address())
}

/// rtm's configuration for the stack, with the original platform's variable names
/// (docs/CONFIGURATION.md).
pub(crate) fn app_env() -> Vec<(&'static str, String)> {
    use Service::{EngineStandIn, Kafka, Mongo, Oidc, Postgres, Redis, S3};
    vec![
        ("SPRING_APPLICATION_NAME", "runtime-manager".to_owned()),
        (
            "SPRING_DATASOURCE_URL",
            format!("{}/{POSTGRES_APP_DATABASE}", url("jdbc:postgresql", Postgres)),
        ),
        ("SPRING_DATASOURCE_USERNAME", POSTGRES_USER.to_owned()),
        ("SPRING_DATASOURCE_PASSWORD", POSTGRES_PASSWORD.to_owned()),
        ("SPRING_DATA_MONGODB_URI", format!("{}/{MONGO_APP_DATABASE}", url("mongodb", Mongo))),
        ("SPRING_KAFKA_BOOTSTRAP_SERVERS", Kafka.address()),
        ("KAFKA_TOPIC_NAMING_ENVIRONMENT", KAFKA_TOPIC_ENVIRONMENT.to_owned()),
        ("SPRING_REDIS_HOST", HOST.to_owned()),
        ("SPRING_REDIS_PORT", Redis.port().to_string()),
        ("APPLICATION_FILE_STORAGE_S3_SERVER_URL", url("http", S3)),
        ("APPLICATION_FILE_STORAGE_S3_ACCESS_KEY", S3_ACCESS_KEY.to_owned()),
        ("APPLICATION_FILE_STORAGE_S3_SECRET_KEY", S3_SECRET_KEY.to_owned()),
        ("SECURITY_OAUTH2_BASE_SERVER_URL", url("http", Oidc)),
        ("SECURITY_OAUTH2_REALM", OIDC_REALM.to_owned()),
        ("SECURITY_OAUTH2_CLIENT_CLIENT_ID", OIDC_CLIENT_ID.to_owned()),
        ("SECURITY_OAUTH2_CLIENT_CLIENT_SECRET", OIDC_CLIENT_SECRET.to_owned()),
        ("RTM_PROCESS_ENGINE_URL", url("http", EngineStandIn)),
    ]
}

/// Where the contract tests find the stack (read with `test_support::backend_url`).
pub(crate) fn test_env() -> Vec<(&'static str, String)> {
    use Service::{Kafka, Mongo, Oidc, Postgres, Redis, S3};
    vec![
        (
            "APP_TEST_POSTGRES_URL",
            format!("postgres://{POSTGRES_USER}@{}/{POSTGRES_TEST_DATABASE}", Postgres.address()),
        ),
        ("APP_TEST_MONGO_URL", url("mongodb", Mongo)),
        ("APP_TEST_KAFKA_BROKERS", Kafka.address()),
        ("APP_TEST_REDIS_URL", url("redis", Redis)),
        ("APP_TEST_S3_URL", url("http", S3)),
        ("APP_TEST_S3_ACCESS_KEY", S3_ACCESS_KEY.to_owned()),
        ("APP_TEST_S3_SECRET_KEY", S3_SECRET_KEY.to_owned()),
        ("APP_TEST_OIDC_URL", url("http", Oidc)),
        ("APP_TEST_OIDC_REALM", OIDC_REALM.to_owned()),
    ]
}

/// What `services env` prints: shell `export` lines, single-quoted.
fn export_lines() -> String {
    let mut out = String::from(
        "# rtm's local stack (cargo xtask services up); use: eval \"$(cargo xtask services env)\"\n\
         # rtm, with the original platform's variables. PostgreSQL trusts local logins: the\n\
         # password is not checked. Kafka is PLAINTEXT: tansu does not validate OAUTHBEARER.\n",
    );
    for (name, value) in app_env() {
        writeln!(out, "export {name}={}", shell_quote(&value)).expect("writing to a String");
    }
    out.push_str("# The contract tests (cargo xtask ci sets these itself).\n");
    for (name, value) in test_env() {
        writeln!(out, "export {name}={}", shell_quote(&value)).expect("writing to a String");
    }
    out
}

fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// Where installs are cached and where the running stack keeps its state.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Dirs {
    /// Installs: the venv, the npm package, install logs.
    pub(crate) cache: PathBuf,
    /// Pid files, logs and data directories of the running services.
    pub(crate) run: PathBuf,
}

impl Dirs {
    fn from_env() -> anyhow::Result<Self> {
        Self::resolve(std::env::var_os("XDG_CACHE_HOME"), std::env::var_os("HOME"))
            .context("neither XDG_CACHE_HOME nor HOME is set: no place for the services' state")
    }

    fn resolve(xdg_cache_home: Option<OsString>, home: Option<OsString>) -> Option<Self> {
        // The XDG spec ignores a relative XDG_CACHE_HOME.
        let cache_home =
            xdg_cache_home.map(PathBuf::from).filter(|path| path.is_absolute()).or_else(|| {
                home.filter(|home| !home.is_empty()).map(|home| PathBuf::from(home).join(".cache"))
            })?;
        let cache = cache_home.join("rtm-services");
        let run = cache.join("run");
        Some(Self { cache, run })
    }

    fn create(&self) -> anyhow::Result<()> {
        fs::create_dir_all(&self.run)
            .with_context(|| format!("cannot create {}", self.run.display()))
    }

    fn log(&self, service: Service) -> PathBuf {
        self.run.join(format!("{}.log", service.name()))
    }

    fn pid_file(&self, service: Service) -> PidFile {
        PidFile::new(&self.run, service.name())
    }
}

/// A service being started, until it answers.
#[derive(Debug)]
struct Starting {
    service: Service,
    since: Instant,
    /// Kept to notice an early exit; `None` for a process another command launched.
    child: Option<Child>,
}

pub(crate) fn up() -> anyhow::Result<()> {
    up_only(&Service::ALL)
}

/// `up` for `services` only (in the stack's order), leaving the others as they are.
fn up_only(services: &[Service]) -> anyhow::Result<()> {
    let dirs = Dirs::from_env()?;
    dirs.create()?;
    let mut installer = Installer::new(&dirs.cache, &dirs.run);
    let started = Instant::now();
    let mut starting = Vec::new();
    for service in Service::ALL.into_iter().filter(|service| services.contains(service)) {
        let pid_file = dirs.pid_file(service);
        let ours = pid_file.live()?;
        match (service.probe(), ours) {
            (Probe::Answering, _) => {
                println!(
                    "{:<16}already up on {} ({})",
                    service.name(),
                    service.address(),
                    owner(ours)
                );
            }
            (_, Some(process)) => {
                println!(
                    "{:<16}pid {} (ours) is not answering yet; waiting",
                    service.name(),
                    process.pid
                );
                starting.push(Starting { service, since: Instant::now(), child: None });
            }
            (Probe::Foreign(why), None) => bail!(
                "{}: {} is taken by something that is not {} ({why}); free the port or stop it",
                service.name(),
                service.address(),
                service.product()
            ),
            (Probe::Closed, None) => {
                let child = start(service, &mut installer, &dirs)?;
                // The deadline counts from the start, not from the install before it.
                starting.push(Starting { service, since: Instant::now(), child });
            }
        }
    }
    wait_until_answering(&dirs, starting)?;
    if services.contains(&Service::Postgres) {
        postgres::provision(&mut installer, &dirs)?;
    }
    // Not a service: the TLS tests run it themselves in front of a plaintext one
    // (test-support's `tls::TlsProxy`).
    installer.command("stunnel4", &["stunnel4"])?;
    println!(
        "services up in {}; `cargo xtask services env` prints their variables",
        elapsed(started)
    );
    Ok(())
}

fn owner(ours: Option<Recorded>) -> String {
    ours.map_or_else(
        || "not started by us".to_owned(),
        |process| format!("started by us, pid {}", process.pid),
    )
}

/// Installs `service` if needed and starts it, recording its pid.
fn start(
    service: Service,
    installer: &mut Installer,
    dirs: &Dirs,
) -> anyhow::Result<Option<Child>> {
    println!("{:<16}starting {} on {}", service.name(), service.product(), service.address());
    if service == Service::Postgres {
        // pg_ctlcluster waits until the cluster accepts connections, and the postmaster is
        // not our child.
        if let Some(postmaster) = postgres::start(installer, dirs)? {
            dirs.pid_file(service).write(postmaster)?;
        }
        return Ok(None);
    }
    let (program, args, cwd) = launch(service, installer, dirs)?;
    if service.probe() == Probe::Answering {
        // Installing a Debian package may start its service.
        println!("{:<16}the install started it; not ours", service.name());
        return Ok(None);
    }
    let log_path = dirs.log(service);
    let log =
        File::create(&log_path).with_context(|| format!("cannot create {}", log_path.display()))?;
    let child = Process::new(&program)
        .args(&args)
        .current_dir(&cwd)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: a Ctrl-C meant for `cargo xtask` does not reach it.
        .process_group(0)
        .spawn()
        .with_context(|| format!("{}: cannot start {}", service.name(), program.display()))?;
    let process = Recorded::of(child.id()).with_context(|| {
        format!("{}: exited at once; see {}", service.name(), log_path.display())
    })?;
    dirs.pid_file(service).write(process)?;
    Ok(Some(child))
}

/// The program, arguments and working directory of a service, installed first when missing.
fn launch(
    service: Service,
    installer: &mut Installer,
    dirs: &Dirs,
) -> anyhow::Result<(PathBuf, Vec<OsString>, PathBuf)> {
    let port = service.port().to_string();
    let data = |name: &str| -> anyhow::Result<PathBuf> {
        let dir = dirs.run.join(name);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(dir)
    };
    let args = |args: &[&str]| args.iter().map(OsString::from).collect::<Vec<_>>();
    Ok(match service {
        Service::Postgres => unreachable!("pg_ctlcluster starts PostgreSQL"),
        Service::Redis => {
            let program = installer.command("redis-server", &["redis-server"])?;
            // In the foreground, so that the pid is the server's own.
            let args = args(&[
                "--bind",
                HOST,
                "--port",
                &port,
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ]);
            (program, args, data("redis-data")?)
        }
        Service::Mongo => {
            let (package, version) = SECANTUS;
            let program = installer.python_package(package, version, "secantusd-py")?;
            let mut args = args(&["--host", HOST, "--port", &port, "--storage-path"]);
            args.push(data("mongodb-data")?.into_os_string());
            (program, args, dirs.run.clone())
        }
        Service::Oidc => {
            let (package, version) = OAUTH2_MOCK_SERVER;
            let modules = installer.npm_package(package, version)?;
            let node = installer.command("node", &["nodejs"])?;
            let script = crate::project_root().join(OIDC_SCRIPT);
            let mut all = vec![
                script.into_os_string(),
                OsString::from("--modules"),
                modules.into_os_string(),
            ];
            all.extend(args(&["--host", HOST, "--port", &port, "--realm", OIDC_REALM]));
            (node, all, dirs.run.clone())
        }
        Service::S3 => {
            let (name, version) = S3S_FS;
            let program = installer.cargo_binary(name, version, &["binary"])?;
            let mut args = args(&[
                "--host",
                HOST,
                "--port",
                &port,
                "--access-key",
                S3_ACCESS_KEY,
                "--secret-key",
                S3_SECRET_KEY,
            ]);
            args.push(data("s3-data")?.into_os_string());
            (program, args, dirs.run.clone())
        }
        Service::EngineStandIn => {
            let program = installer.workspace_binary(ENGINE_STAND_IN)?;
            (program, args(&["--host", HOST, "--port", &port]), dirs.run.clone())
        }
        Service::Kafka => {
            let (name, version) = TANSU;
            let program = installer.cargo_binary(name, version, &["dynostore", "postgres"])?;
            let listener = format!("tcp://{}", service.address());
            let args = args(&[
                "broker",
                "--listener-url",
                &listener,
                "--advertised-listener-url",
                &listener,
                "--storage-engine",
                "memory://tansu/",
            ]);
            (program, args, dirs.run.clone())
        }
    })
}

/// Polls every starting service until it answers; fails naming the service and its log
/// when one exits or misses its deadline.
fn wait_until_answering(dirs: &Dirs, mut starting: Vec<Starting>) -> anyhow::Result<()> {
    while !starting.is_empty() {
        let mut still = Vec::new();
        for mut start in starting {
            let service = start.service;
            let log = dirs.log(service);
            if service.probe() == Probe::Answering {
                println!(
                    "{:<16}up on {} after {}",
                    service.name(),
                    service.address(),
                    elapsed(start.since)
                );
                continue;
            }
            if let Some(status) = start.child.as_mut().map(Child::try_wait).transpose()?.flatten() {
                dirs.pid_file(service).remove()?;
                bail!(
                    "{} exited ({status}) before answering on {}; the end of {}:\n{}",
                    service.name(),
                    service.address(),
                    log.display(),
                    log_tail(&log, 20)
                );
            }
            if start.since.elapsed() > service.ready_within() {
                bail!(
                    "{} did not answer on {} within {}s; its log is {}:\n{}",
                    service.name(),
                    service.address(),
                    service.ready_within().as_secs(),
                    log.display(),
                    log_tail(&log, 20)
                );
            }
            still.push(start);
        }
        starting = still;
        if !starting.is_empty() {
            pause(POLL);
        }
    }
    Ok(())
}

fn down() -> anyhow::Result<()> {
    let dirs = Dirs::from_env()?;
    for service in Service::ALL.into_iter().rev() {
        let pid_file = dirs.pid_file(service);
        match pid_file.live()? {
            Some(process) => {
                let since = Instant::now();
                stop(service, process)?;
                pid_file.remove()?;
                println!(
                    "{:<16}stopped (pid {}) in {}",
                    service.name(),
                    process.pid,
                    elapsed(since)
                );
            }
            None => {
                let state = if service.probe() == Probe::Closed { "down" } else { "running" };
                println!("{:<16}not started by us; left {state}", service.name());
            }
        }
    }
    Ok(())
}

/// Signals the process, and kills it if it has not exited within 20 s.
fn stop(service: Service, process: Recorded) -> anyhow::Result<()> {
    signal(service.stop_signal(), process.pid)?;
    let deadline = Instant::now() + STOP_WITHIN;
    while process.is_alive() {
        if Instant::now() > deadline {
            println!(
                "{:<16}still running {}s after SIG{}; killing it",
                service.name(),
                STOP_WITHIN.as_secs(),
                service.stop_signal()
            );
            signal("KILL", process.pid)?;
        }
        pause(POLL);
    }
    Ok(())
}

fn signal(signal: &str, pid: u32) -> anyhow::Result<()> {
    let pid = pid.to_string();
    let sent = |program: &str, args: &[&str]| {
        Process::new(program)
            .args(args)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    // A service started as another user (PostgreSQL's postmaster) may need sudo.
    if sent("kill", &["-s", signal, &pid]) || sent("sudo", &["-n", "kill", "-s", signal, &pid]) {
        Ok(())
    } else {
        bail!("cannot send SIG{signal} to pid {pid}")
    }
}

fn status() -> anyhow::Result<()> {
    let dirs = Dirs::from_env()?;
    for service in Service::ALL {
        let ours = dirs.pid_file(service).live()?;
        let (state, note) = match service.probe() {
            Probe::Answering => ("up", owner(ours)),
            Probe::Closed if ours.is_some() => {
                ("down", format!("{}, not answering yet", owner(ours)))
            }
            Probe::Closed => ("down", String::new()),
            Probe::Foreign(why) => ("other", format!("the port is taken by something else: {why}")),
        };
        let line = format!("{:<16}{state:<6}{:<17}{note}", service.name(), service.address());
        println!("{}", line.trim_end());
    }
    Ok(())
}

/// A client-credentials token of the stack's realm carrying the claims of `args`.
fn token(args: &TokenArgs) -> anyhow::Result<String> {
    let (groups, roles) = (args.groups.join(","), args.roles.join(","));
    let request = Request::post_form(
        OIDC_TOKEN_PATH,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", OIDC_CLIENT_ID),
            ("client_secret", OIDC_CLIENT_SECRET),
            ("sub", &args.sub),
            ("groups", &groups),
            ("roles", &roles),
        ],
    );
    let oidc = Service::Oidc;
    let (status, body) = probe::http(oidc.socket_address(), &request).with_context(|| {
        format!(
            "the OIDC server does not answer on {}: run `cargo xtask services up`",
            oidc.address()
        )
    })?;
    if status != 200 {
        bail!("the OIDC server answered {status} to the token request: {body}");
    }
    let answer: serde_json::Value =
        serde_json::from_str(&body).context("the token answer is not JSON")?;
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("the token answer has no access_token: {body}"))
}

/// Waits between two polls. xtask is synchronous: there is no async worker to block.
#[allow(clippy::disallowed_methods, reason = "xtask runs no async code")]
pub(crate) fn pause(duration: Duration) {
    std::thread::sleep(duration);
}

/// `1.3s` under a minute, `12m05s` above.
pub(crate) fn elapsed(since: Instant) -> String {
    format_duration(since.elapsed())
}

fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds < 60 {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        format!("{}m{:02}s", seconds / 60, seconds % 60)
    }
}

/// The last `lines` lines of a log, indented, for an error message.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let tail = &all[all.len().saturating_sub(lines)..];
    if tail.is_empty() {
        return "    (empty)".to_owned();
    }
    tail.iter().map(|line| format!("    {line}")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::{Cli, Command as XtaskCommand};

    fn parse(args: &[&str]) -> Result<XtaskCommand, clap::Error> {
        Cli::try_parse_from(std::iter::once("cargo xtask").chain(args.iter().copied()))
            .map(|cli| cli.command)
    }

    #[test]
    fn the_token_command_splits_groups_and_roles_on_commas() {
        let command = parse(&[
            "services",
            "token",
            "--sub",
            "alice",
            "--groups",
            "testers,ops",
            "--roles",
            "ROLE_A",
        ])
        .expect("valid arguments");
        let XtaskCommand::Services { command: Command::Token(args) } = command else {
            panic!("not the token command: {command:?}");
        };
        assert_eq!(
            args,
            TokenArgs {
                sub: "alice".to_owned(),
                groups: vec!["testers".to_owned(), "ops".to_owned()],
                roles: vec!["ROLE_A".to_owned()],
            }
        );
    }

    #[test]
    fn a_token_needs_a_subject_and_groups_and_roles_are_optional() {
        assert!(parse(&["services", "token"]).is_err());
        let command = parse(&["services", "token", "--sub", "bob"]).expect("valid arguments");
        assert!(matches!(
            command,
            XtaskCommand::Services { command: Command::Token(TokenArgs { groups, roles, .. }) }
                if groups.is_empty() && roles.is_empty()
        ));
    }

    #[test]
    fn every_services_subcommand_parses() {
        for (args, expected) in
            [("up", "Up"), ("down", "Down"), ("status", "Status"), ("env", "Env")]
        {
            let command = parse(&["services", args]).expect("valid arguments");
            assert!(format!("{command:?}").contains(expected), "{args}: {command:?}");
        }
        assert!(parse(&["services", "restart"]).is_err());
    }

    #[test]
    fn up_takes_the_services_to_start_by_their_names() {
        let command = parse(&["services", "up", "engine-stand-in", "redis"]).expect("valid");
        let XtaskCommand::Services { command: Command::Up { services } } = command else {
            panic!("not the up command: {command:?}");
        };
        assert_eq!(services, [Service::EngineStandIn, Service::Redis]);
        let err = parse(&["services", "up", "zookeeper"]).expect_err("no such service");
        assert!(err.to_string().contains("engine-stand-in"), "names the services: {err}");
    }

    #[test]
    fn the_test_variables_point_at_the_standard_addresses() {
        let expected = [
            ("APP_TEST_POSTGRES_URL", "postgres://root@127.0.0.1:5432/test"),
            ("APP_TEST_MONGO_URL", "mongodb://127.0.0.1:27017"),
            ("APP_TEST_KAFKA_BROKERS", "127.0.0.1:9092"),
            ("APP_TEST_REDIS_URL", "redis://127.0.0.1:6379"),
            ("APP_TEST_S3_URL", "http://127.0.0.1:9000"),
            ("APP_TEST_S3_ACCESS_KEY", "rtm"),
            ("APP_TEST_S3_SECRET_KEY", "rtm-secret-key"),
            ("APP_TEST_OIDC_URL", "http://127.0.0.1:8180"),
            ("APP_TEST_OIDC_REALM", "flowx"),
        ];
        let expected: Vec<(&str, String)> =
            expected.iter().map(|(name, value)| (*name, (*value).to_owned())).collect();
        assert_eq!(test_env(), expected);
    }

    #[test]
    fn rtm_is_pointed_at_the_stack_with_the_original_platforms_variables() {
        let env = app_env();
        let value = |name: &str| {
            env.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, value)| value.as_str())
                .unwrap_or_else(|| panic!("{name} is missing"))
        };
        assert_eq!(value("SPRING_APPLICATION_NAME"), "runtime-manager");
        assert_eq!(value("SPRING_DATASOURCE_URL"), "jdbc:postgresql://127.0.0.1:5432/app_manager");
        assert_eq!(value("SPRING_DATASOURCE_USERNAME"), "root");
        assert_eq!(value("SPRING_DATA_MONGODB_URI"), "mongodb://127.0.0.1:27017/app-runtime");
        assert_eq!(value("SPRING_KAFKA_BOOTSTRAP_SERVERS"), "127.0.0.1:9092");
        assert_eq!(value("KAFKA_TOPIC_NAMING_ENVIRONMENT"), "dev.");
        assert_eq!(value("SPRING_REDIS_HOST"), "127.0.0.1");
        assert_eq!(value("SPRING_REDIS_PORT"), "6379");
        assert_eq!(value("APPLICATION_FILE_STORAGE_S3_SERVER_URL"), "http://127.0.0.1:9000");
        assert_eq!(value("APPLICATION_FILE_STORAGE_S3_ACCESS_KEY"), "rtm");
        assert_eq!(value("APPLICATION_FILE_STORAGE_S3_SECRET_KEY"), "rtm-secret-key");
        assert_eq!(value("SECURITY_OAUTH2_BASE_SERVER_URL"), "http://127.0.0.1:8180");
        assert_eq!(value("SECURITY_OAUTH2_REALM"), "flowx");
        assert_eq!(value("SECURITY_OAUTH2_CLIENT_CLIENT_ID"), "flowx-platform-authorize");
        assert!(!value("SECURITY_OAUTH2_CLIENT_CLIENT_SECRET").is_empty());
        assert_eq!(value("RTM_PROCESS_ENGINE_URL"), "http://127.0.0.1:8290");
    }

    #[test]
    fn the_stand_in_engine_says_it_is_one_and_is_what_rtm_is_pointed_at() {
        let service = Service::EngineStandIn;
        assert!(service.name().contains("stand-in"));
        assert!(Service::ALL.contains(&service));
        let pointed = app_env()
            .into_iter()
            .find(|(name, _)| *name == "RTM_PROCESS_ENGINE_URL")
            .map(|(_, value)| value);
        assert_eq!(pointed, Some(format!("http://{}", service.address())));
    }

    #[test]
    fn every_variable_is_set_once() {
        let mut names: Vec<&str> =
            app_env().iter().chain(&test_env()).map(|(name, _)| *name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn the_oidc_paths_are_under_the_realm_of_the_table() {
        assert!(OIDC_DISCOVERY.starts_with(&format!("/realms/{OIDC_REALM}/")));
        assert!(OIDC_TOKEN_PATH.starts_with(&format!("/realms/{OIDC_REALM}/")));
    }

    #[test]
    fn env_prints_one_quoted_export_per_variable_and_comments() {
        let lines = export_lines();
        let exports: Vec<&str> = lines.lines().filter(|line| !line.starts_with('#')).collect();
        assert_eq!(exports.len(), app_env().len() + test_env().len());
        assert!(exports.iter().all(|line| line.starts_with("export ") && line.ends_with('\'')));
        assert!(exports.contains(&"export KAFKA_TOPIC_NAMING_ENVIRONMENT='dev.'"));
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn the_state_lives_in_the_xdg_cache_or_else_under_home() {
        let dirs = Dirs::resolve(Some("/xdg".into()), Some("/home/me".into())).expect("a place");
        assert_eq!(dirs.cache, PathBuf::from("/xdg/rtm-services"));
        assert_eq!(dirs.run, PathBuf::from("/xdg/rtm-services/run"));
        let dirs =
            Dirs::resolve(Some("relative".into()), Some("/home/me".into())).expect("a place");
        assert_eq!(dirs.cache, PathBuf::from("/home/me/.cache/rtm-services"));
        assert_eq!(
            Dirs::resolve(None, Some("/home/me".into())).map(|dirs| dirs.run),
            Some("/home/me/.cache/rtm-services/run".into())
        );
        assert_eq!(Dirs::resolve(None, None), None);
        assert_eq!(Dirs::resolve(None, Some("".into())), None);
    }

    #[test]
    fn durations_read_as_seconds_then_minutes() {
        assert_eq!(format_duration(Duration::from_millis(1_250)), "1.2s");
        assert_eq!(format_duration(Duration::from_secs(725)), "12m05s");
    }

    #[test]
    fn a_log_tail_is_the_last_lines_indented() {
        let dir = std::env::temp_dir().join(format!("rtm-xtask-log-tail-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("a writable temporary directory");
        let log = dir.join("kafka.log");
        fs::write(&log, "one\ntwo\nthree\n").expect("writable");
        assert_eq!(log_tail(&log, 2), "    two\n    three");
        assert_eq!(log_tail(&dir.join("missing.log"), 2), "    (empty)");
        fs::remove_dir_all(&dir).expect("removable");
    }
}
