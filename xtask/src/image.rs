//! `cargo xtask image`: builds rtm's container image here and proves that it runs.
//!
//! The project's machines have no Docker engine and cannot pull images (`../shared` notes,
//! docs/OPERATIONS.md "Image"), so this builds the runtime stage of `docker/Dockerfile` with
//! podman, on a Debian base made with `debootstrap --variant=minbase` (cached), with the
//! `rtm` binary built on the host (`--build-arg BINARY_STAGE=host-binary`). The builder stage
//! (on the Rust image) runs in the GitHub workflow instead.
//!
//! It then starts the image with runc on the host network against the local stack
//! (`cargo xtask services up`), with a read-only root filesystem as the Helm chart runs it,
//! waits for readiness, checks `/actuator/info`, an unauthenticated and an authenticated API
//! call, stops the container with SIGTERM and expects a clean exit. It removes only the
//! container it started. podman, runc and debootstrap are installed with apt when missing.

use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use xshell::{Shell, cmd};

use crate::bench;
use crate::services::install::Installer;
use crate::services::probe::{self, Request};
use crate::services::{self, Dirs, TokenArgs, elapsed, pause};

/// The base `debootstrap` makes, as podman knows it.
const BASE_IMAGE: &str = "localhost/rtm-base:bookworm-minbase";
const DEBIAN_SUITE: &str = "bookworm";
/// What `cargo xtask image` tags; a release build is tagged `:release`.
const IMAGE_NAME: &str = "localhost/rtm";
const DOCKERFILE: &str = "docker/Dockerfile";
/// podman's settings for these machines: crun and systemd cgroups do not work on their
/// hybrid cgroup setup, and the default ulimits and pids limit cannot be applied.
const CONTAINERS_CONF: &str = "[containers]\n\
default_ulimits = []\n\
pids_limit = 0\n\
\n\
[engine]\n\
cgroup_manager = \"cgroupfs\"\n\
runtime = \"runc\"\n";
const READY_WITHIN: Duration = Duration::from_secs(90);
const STOP_WITHIN_SECONDS: &str = "30";
/// The isolation of the check on the shared stack, as the bench isolates its runs.
const ISOLATION: &str = "rtm_image_check";

#[derive(Debug, Args)]
pub(crate) struct ImageArgs {
    /// Builds and packs `target/release/rtm` instead of the debug binary (a release build
    /// takes many minutes on a small machine).
    #[arg(long)]
    release: bool,
    /// Builds the image only; does not start it against the local stack.
    #[arg(long)]
    no_run: bool,
}

pub(crate) fn run(sh: &Shell, args: &ImageArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let dirs = Dirs::from_env()?;
    let work = dirs.cache.join("image");
    fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    // Install logs (apt) go beside the image's cached files.
    let mut installer = Installer::new(&dirs.cache, &work);
    let podman = installer.command("podman", &["podman"])?;
    installer.command("runc", &["runc"])?;
    let conf = work.join("containers.conf");
    fs::write(&conf, CONTAINERS_CONF)
        .with_context(|| format!("cannot write {}", conf.display()))?;
    let podman = Podman { program: podman, conf };

    println!("==> base image {BASE_IMAGE}");
    ensure_base(&podman, &mut installer, &work)?;

    let profile = if args.release { "release" } else { "debug" };
    println!("==> {profile} build of rtm on the host");
    let binary = build_binary(sh, args.release)?;
    let tag = format!("{IMAGE_NAME}:{}", if args.release { "release" } else { "dev" });
    println!("==> podman build of the runtime stage ({tag}) with {}", binary.display());
    let previous = podman.read(&["image", "inspect", "--format", "{{.Id}}", &tag]).ok();
    build_image(&podman, &work, &binary, &tag)?;
    // The image this tag named before, with its intermediate layers, unless still the same
    // (an unchanged binary) or in use: each debug binary is over 100 MB.
    let current = podman.read(&["image", "inspect", "--format", "{{.Id}}", &tag])?;
    if let Some(previous) = previous.filter(|previous| *previous != current) {
        let _ = podman.read(&["rmi", &previous]);
    }
    let user = podman.read(&["image", "inspect", "--format", "{{.Config.User}}", &tag])?;
    let size = podman.read(&["image", "inspect", "--format", "{{.Size}}", &tag])?;
    println!("    user {user}, size {} MB", size.parse::<u64>().unwrap_or(0) / 1_000_000);
    // Numeric, as Kubernetes' runAsNonRoot needs to check it without the image's passwd.
    let uid = user.split(':').next().and_then(|uid| uid.parse::<u32>().ok());
    if uid.is_none_or(|uid| uid == 0) {
        bail!("the image runs as `{user}`, not as a numeric non-root user");
    }

    if !args.no_run {
        check_against_stack(&podman, &tag)?;
    }
    println!(
        "==> image {tag} built{} in {}",
        if args.no_run { "" } else { " and checked" },
        elapsed(started)
    );
    Ok(())
}

/// podman with this command's containers.conf.
struct Podman {
    program: PathBuf,
    conf: PathBuf,
}

impl Podman {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.program);
        command.env("CONTAINERS_CONF", &self.conf).arg("--runtime").arg("runc").args(args);
        command
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<()> {
        let status = self
            .command(args)
            .status()
            .with_context(|| format!("cannot run podman {}", args.join(" ")))?;
        if !status.success() {
            bail!("`podman {}` failed ({status})", args.join(" "));
        }
        Ok(())
    }

    fn read(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self
            .command(args)
            .output()
            .with_context(|| format!("cannot run podman {}", args.join(" ")))?;
        if !output.status.success() {
            bail!(
                "`podman {}` failed ({}): {}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// The container's last log lines, stdout and stderr (rtm logs to both).
    fn logs(&self, name: &str) -> String {
        self.command(&["logs", "--tail", "30", name]).output().map_or_else(
            |error| format!("(podman logs failed: {error})"),
            |output| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                )
            },
        )
    }

    fn succeeds(&self, args: &[&str]) -> bool {
        self.command(args).output().is_ok_and(|output| output.status.success())
    }
}

/// The Debian base, imported once into podman's store; the root filesystem debootstrap
/// made is kept in the cache so that a reset store does not need another download.
fn ensure_base(podman: &Podman, installer: &mut Installer, work: &Path) -> anyhow::Result<()> {
    if podman.succeeds(&["image", "exists", BASE_IMAGE]) {
        println!("    already in podman's store");
        return Ok(());
    }
    let rootfs = work.join(format!("rootfs-{DEBIAN_SUITE}-minbase"));
    // Written last: a debootstrap that was interrupted leaves no marker and is redone.
    let complete = work.join(format!("rootfs-{DEBIAN_SUITE}-minbase.complete"));
    if !complete.is_file() {
        let debootstrap = installer.command("debootstrap", &["debootstrap"])?;
        if rootfs.exists() {
            fs::remove_dir_all(&rootfs)
                .with_context(|| format!("cannot remove the partial {}", rootfs.display()))?;
        }
        println!("    debootstrap --variant=minbase {DEBIAN_SUITE} (about 20 s)");
        let rootfs_arg = rootfs.to_string_lossy().into_owned();
        let debootstrap_arg = debootstrap.to_string_lossy().into_owned();
        let status = installer
            .privileged(&debootstrap_arg, &["--variant=minbase", DEBIAN_SUITE, &rootfs_arg])
            .stdout(std::process::Stdio::null())
            .status()
            .context("cannot run debootstrap")?;
        if !status.success() {
            bail!("debootstrap --variant=minbase {DEBIAN_SUITE} failed ({status})");
        }
        fs::write(&complete, b"")
            .with_context(|| format!("cannot write {}", complete.display()))?;
    }
    println!("    podman import of {}", rootfs.display());
    let tarball = work.join(format!("rootfs-{DEBIAN_SUITE}-minbase.tar"));
    let status = Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&tarball)
        .arg(".")
        .status()
        .context("cannot run tar")?;
    if !status.success() {
        bail!("tar of {} failed ({status})", rootfs.display());
    }
    let imported = podman.run(&["import", &tarball.to_string_lossy(), BASE_IMAGE]);
    let _ = fs::remove_file(&tarball);
    imported
}

/// `cargo build -p server --bin rtm` (a no-op when nothing changed) and the binary's path.
fn build_binary(sh: &Shell, release: bool) -> anyhow::Result<PathBuf> {
    let release_flag = release.then_some("--release");
    cmd!(sh, "cargo build -p server --bin rtm {release_flag...}")
        .run()
        .context("the build of rtm failed")?;
    let target = bench::target_dir(sh)?;
    let binary = target.join(if release { "release" } else { "debug" }).join("rtm");
    if !binary.is_file() {
        bail!("cargo build left no {}", binary.display());
    }
    Ok(binary)
}

/// Builds the runtime stage from a context holding the binary only: the target directory
/// is outside the repository's context (and .dockerignore leaves `target/` out anyway).
fn build_image(podman: &Podman, work: &Path, binary: &Path, tag: &str) -> anyhow::Result<()> {
    let context = work.join("context");
    if context.exists() {
        fs::remove_dir_all(&context)
            .with_context(|| format!("cannot clear {}", context.display()))?;
    }
    fs::create_dir_all(&context).with_context(|| format!("cannot create {}", context.display()))?;
    fs::copy(binary, context.join("rtm"))
        .with_context(|| format!("cannot copy {} into the build context", binary.display()))?;
    let dockerfile = crate::project_root().join(DOCKERFILE);
    podman.run(&[
        "build",
        "--file",
        &dockerfile.to_string_lossy(),
        "--target",
        "runtime",
        "--build-arg",
        &format!("BASE={BASE_IMAGE}"),
        "--build-arg",
        "BINARY_STAGE=host-binary",
        "--build-arg",
        "BINARY=rtm",
        "--tag",
        tag,
        &context.to_string_lossy(),
    ])
}

/// Starts the image against the local stack and checks that it serves.
fn check_against_stack(podman: &Podman, image: &str) -> anyhow::Result<()> {
    println!("==> services");
    services::up().context("the services did not start")?;
    let (api_port, management_port) = free_ports()?;
    let name = format!("rtm-image-check-{}", std::process::id());
    let mut env = services::app_env();
    for (variable, value) in isolation_env() {
        env.retain(|(name, _)| *name != variable);
        env.push((variable, value));
    }
    env.push(("SERVER_PORT", api_port.to_string()));
    env.push(("MANAGEMENT_SERVER_PORT", management_port.to_string()));
    let mut args: Vec<String> =
        ["run", "--detach", "--name", &name, "--network", "host", "--read-only"]
            .iter()
            .map(|arg| (*arg).to_owned())
            .collect();
    for (variable, value) in &env {
        args.push("--env".to_owned());
        args.push(format!("{variable}={value}"));
    }
    args.push(image.to_owned());
    println!(
        "==> podman --runtime runc run --network host --read-only {image} (API port {api_port}, management port {management_port})"
    );
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    podman.read(&arg_refs)?;
    let outcome = exercise(podman, &name, api_port, management_port);
    let stopped = stop(podman, &name);
    match (outcome, stopped) {
        (Ok(()), Ok(())) => {
            podman.read(&["rm", &name])?;
            Ok(())
        }
        (Err(error), _) | (Ok(()), Err(error)) => {
            let logs = podman.logs(&name);
            let _ = podman.read(&["rm", "--force", &name]);
            Err(error.context(format!("the container's last log lines:\n{logs}")))
        }
    }
}

/// The check's own PostgreSQL schema, MongoDB database, topics, bucket and Redis prefix.
fn isolation_env() -> Vec<(&'static str, String)> {
    let app = services::app_env();
    let lookup = |name: &str| {
        app.iter().find(|(variable, _)| *variable == name).map(|(_, value)| value.clone())
    };
    let datasource = lookup("SPRING_DATASOURCE_URL").unwrap_or_default();
    let mongo = lookup("SPRING_DATA_MONGODB_URI").unwrap_or_default();
    let mongo_base = mongo.rsplit_once('/').map_or(mongo.as_str(), |(base, _)| base);
    vec![
        ("SPRING_DATASOURCE_URL", format!("{datasource}?currentSchema={ISOLATION}")),
        ("SPRING_DATA_MONGODB_URI", format!("{mongo_base}/{ISOLATION}")),
        ("KAFKA_TOPIC_NAMING_ENVIRONMENT", "imagecheck.".to_owned()),
        ("APPLICATION_FILE_STORAGE_S3_BUCKET_PREFIX", ISOLATION.replace('_', "-")),
        ("RTM_REDIS_KEY_PREFIX", format!("{ISOLATION}:")),
    ]
}

fn exercise(
    podman: &Podman,
    name: &str,
    api_port: u16,
    management_port: u16,
) -> anyhow::Result<()> {
    let management = SocketAddr::from((Ipv4Addr::LOCALHOST, management_port));
    let api = SocketAddr::from((Ipv4Addr::LOCALHOST, api_port));
    let since = Instant::now();
    loop {
        if let Ok((200, body)) =
            probe::http(management, &Request::get("/actuator/health/readiness"))
        {
            println!("    ready after {}: {}", elapsed(since), body.trim());
            break;
        }
        let running = podman.read(&["inspect", "--format", "{{.State.Running}}", name])?;
        if running != "true" {
            bail!("the container stopped before it was ready");
        }
        if since.elapsed() > READY_WITHIN {
            bail!("not ready within {} s", READY_WITHIN.as_secs());
        }
        pause(Duration::from_millis(250));
    }
    let (status, info) = probe::http(management, &Request::get("/actuator/info"))
        .context("GET /actuator/info failed")?;
    println!("    GET /actuator/info -> {status} {}", info.trim());
    if status != 200 {
        bail!("/actuator/info answered {status}");
    }
    let path = "/api/build-mgmt/app/00000000-0000-4000-8000-000000000001/builds";
    let (status, body) =
        probe::http(api, &Request::get(path)).context("the unauthenticated call failed")?;
    println!("    GET {path} without a token -> {status}");
    if status != 401 {
        bail!("an unauthenticated call answered {status}, not 401: {body}");
    }
    let token = services::token(&TokenArgs {
        sub: "image-check".to_owned(),
        groups: Vec::new(),
        roles: vec!["ROLE_BUILDS_MANAGE_READ".to_owned()],
    })?;
    let (status, body) = probe::http(api, &Request::get(path).bearer(&token))
        .context("the authenticated call failed")?;
    println!("    GET {path} with a realm token -> {status} {}", body.trim());
    if status != 200 {
        bail!("the authenticated call answered {status}: {body}");
    }
    Ok(())
}

/// SIGTERM, then rtm's graceful shutdown; a non-zero exit is a failure.
fn stop(podman: &Podman, name: &str) -> anyhow::Result<()> {
    let since = Instant::now();
    podman.read(&["stop", "--time", STOP_WITHIN_SECONDS, name])?;
    let code = podman.read(&["inspect", "--format", "{{.State.ExitCode}}", name])?;
    println!("    stopped with SIGTERM in {}, exit code {code}", elapsed(since));
    if code != "0" {
        bail!("the container exited with {code} after SIGTERM");
    }
    Ok(())
}

/// Two distinct ports nothing listens on now (the kernel's picks, both held until both are
/// known), for the container on the host network.
fn free_ports() -> anyhow::Result<(u16, u16)> {
    let bind = || TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot find a free port");
    let (first, second) = (bind()?, bind()?);
    let port = |listener: &TcpListener| {
        listener.local_addr().map(|address| address.port()).context("cannot find a free port")
    };
    Ok((port(&first)?, port(&second)?))
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::{Cli, Command};

    #[test]
    fn the_image_command_builds_the_debug_binary_and_runs_it_unless_told_otherwise() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("cargo xtask").chain(args.iter().copied()))
                .map(|cli| cli.command)
        };
        let Ok(Command::Image(plain)) = parse(&["image"]) else { panic!("`image` parses") };
        assert!(!plain.release && !plain.no_run);
        let Ok(Command::Image(both)) = parse(&["image", "--release", "--no-run"]) else {
            panic!("`image --release --no-run` parses")
        };
        assert!(both.release && both.no_run);
    }
}
