//! Cached installs of the stack's programs: each is skipped when already present.
//!
//! * Debian packages with `apt-get install -y` (after one `apt-get update`), only when the
//!   command they bring is missing; through `sudo -n` when not root.
//! * Rust binaries with `cargo install --locked`, found first on `PATH`, then in
//!   `$CARGO_HOME/bin`. A build already under way (another `services up`, or anyone's
//!   `cargo install` of the same crate) is waited for, not doubled.
//! * A Python venv and an npm package in versioned folders of the cache directory, outside
//!   the repository.
//! * Binaries of this workspace (the engine stand-in) with `cargo build`, into the
//!   workspace's own target directory: a no-op when nothing changed.
//!
//! Long installs print a progress line every 30 s, so that a CI log shows what is happening.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use super::{elapsed, log_tail, pause};

const HEARTBEAT: Duration = Duration::from_secs(30);
/// Even tansu (about 12 minutes on 2 cores) or unleash-edge builds well within this.
const LONGEST_INSTALL: Duration = Duration::from_secs(50 * 60);

/// Installs programs, remembering what it already did in this run.
#[derive(Debug)]
pub(crate) struct Installer {
    cache: PathBuf,
    logs: PathBuf,
    root: bool,
    apt_updated: bool,
}

impl Installer {
    pub(crate) fn new(cache: &Path, logs: &Path) -> Self {
        Self {
            cache: cache.to_path_buf(),
            logs: logs.to_path_buf(),
            root: is_root(),
            apt_updated: false,
        }
    }

    pub(crate) fn is_root(&self) -> bool {
        self.root
    }

    /// `program` with `args`, through `sudo -n` unless we are root.
    pub(crate) fn privileged(&self, program: &str, args: &[&str]) -> Command {
        if self.root {
            let mut command = Command::new(program);
            command.args(args);
            command
        } else {
            let mut command = Command::new("sudo");
            command.arg("-n").arg(program).args(args);
            command
        }
    }

    /// The path of `command`, installing the Debian `packages` that bring it when it is missing.
    pub(crate) fn command(&mut self, command: &str, packages: &[&str]) -> anyhow::Result<PathBuf> {
        if let Some(path) = which(command) {
            return Ok(path);
        }
        self.apt(packages)?;
        which(command).with_context(|| {
            format!("`{command}` is still missing after installing {}", packages.join(" "))
        })
    }

    /// Installs Debian packages with apt-get, updating the package lists once per run.
    pub(crate) fn apt(&mut self, packages: &[&str]) -> anyhow::Result<()> {
        if which("apt-get").is_none() {
            bail!(
                "{} must be installed, and there is no apt-get here: install it with this \
                 system's package manager",
                packages.join(" ")
            );
        }
        if !self.apt_updated {
            let update = self.privileged("apt-get", &["update", "-q"]);
            self.run_logged("apt-get update", "apt", update)?;
            self.apt_updated = true;
        }
        // Through `env`, which sudo keeps: sudo drops the caller's environment.
        let mut args = vec!["DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q"];
        args.push("--no-install-recommends");
        args.extend_from_slice(packages);
        let install = self.privileged("env", &args);
        self.run_logged(&format!("apt-get install {}", packages.join(" ")), "apt", install)
    }

    /// The path of crate `name`'s binary of the same name, `cargo install`ed when absent.
    pub(crate) fn cargo_binary(
        &mut self,
        name: &str,
        version: &str,
        features: &[&str],
    ) -> anyhow::Result<PathBuf> {
        self.cargo_install(name, version, features, true)
    }

    /// [`Self::cargo_binary`] with `--no-default-features`: for a crate whose default
    /// features bring what the stack never uses (and minutes of build).
    pub(crate) fn cargo_binary_without_default_features(
        &mut self,
        name: &str,
        version: &str,
    ) -> anyhow::Result<PathBuf> {
        self.cargo_install(name, version, &[], false)
    }

    fn cargo_install(
        &mut self,
        name: &str,
        version: &str,
        features: &[&str],
        default_features: bool,
    ) -> anyhow::Result<PathBuf> {
        if let Some(path) = cargo_bin(name) {
            return Ok(path);
        }
        if let Some(pid) = running_cargo_install(name) {
            wait_for_other_install(name, pid)?;
            if let Some(path) = cargo_bin(name) {
                return Ok(path);
            }
            println!("  {name}: the other install ended without {name}; installing it here");
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut command = Command::new(cargo);
        command.args(["install", name, "--version", version, "--locked"]);
        if !features.is_empty() {
            command.arg("--features").arg(features.join(","));
        }
        if !default_features {
            command.arg("--no-default-features");
        }
        // Away from the workspace: its config is not the installed crate's business.
        command.current_dir(&self.cache);
        self.run_logged(
            &format!("cargo install {name} {version}"),
            &format!("cargo-{name}"),
            command,
        )?;
        cargo_bin(name)
            .with_context(|| format!("`cargo install {name}` did not leave a `{name}` binary"))
    }

    /// The `bin` script of a venv holding `package==version` from PyPI, created when absent.
    pub(crate) fn python_package(
        &mut self,
        package: &str,
        version: &str,
        bin: &str,
    ) -> anyhow::Result<PathBuf> {
        let venv = self.cache.join(format!("{}-{version}", package.to_lowercase()));
        let script = venv.join("bin").join(bin);
        if is_executable(&script) {
            return Ok(script);
        }
        let python = self.command("python3", &["python3", "python3-venv"])?;
        let create = || {
            let mut command = Command::new(&python);
            command.arg("-m").arg("venv").arg(&venv);
            command
        };
        if self.run_logged("python3 -m venv", "venv", create()).is_err() {
            // Debian's python3 keeps venv (ensurepip) in a package of its own.
            self.apt(&["python3-venv"])?;
            self.run_logged("python3 -m venv", "venv", create())?;
        }
        let mut pip = Command::new(venv.join("bin").join("pip"));
        pip.args(["install", "--disable-pip-version-check", "--no-input", "-q"])
            .arg(format!("{package}=={version}"));
        self.run_logged(&format!("pip install {package}=={version}"), "venv", pip)?;
        if is_executable(&script) {
            Ok(script)
        } else {
            bail!("{package} {version} installed no `{bin}` in {}", venv.display())
        }
    }

    /// A folder whose `node_modules` holds `package@version` from npm, installed when absent.
    pub(crate) fn npm_package(&mut self, package: &str, version: &str) -> anyhow::Result<PathBuf> {
        let prefix = self.cache.join(format!("{package}-{version}"));
        let manifest = prefix.join("node_modules").join(package).join("package.json");
        if manifest.is_file() {
            return Ok(prefix);
        }
        self.command("node", &["nodejs", "npm"])?;
        let npm = self.command("npm", &["npm"])?;
        fs::create_dir_all(&prefix)
            .with_context(|| format!("cannot create {}", prefix.display()))?;
        let mut command = Command::new(npm);
        command
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
            .arg(&prefix)
            .arg(format!("{package}@{version}"));
        self.run_logged(&format!("npm install {package}@{version}"), "npm", command)?;
        if manifest.is_file() {
            Ok(prefix)
        } else {
            bail!("npm install {package}@{version} left no {}", manifest.display())
        }
    }

    /// Builds the binary `package` of this workspace (debug profile, the one the tests build,
    /// so its dependencies are mostly compiled already) and returns its path.
    pub(crate) fn workspace_binary(&mut self, package: &str) -> anyhow::Result<PathBuf> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let root = crate::project_root();
        let mut command = Command::new(&cargo);
        command.args(["build", "--package", package, "--bin", package]).current_dir(&root);
        self.run_logged(&format!("cargo build -p {package}"), package, command)?;
        let metadata = Command::new(&cargo)
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(&root)
            .stderr(Stdio::inherit())
            .output()
            .context("cannot run cargo metadata")?;
        let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout)
            .context("cargo metadata printed something that is not JSON")?;
        let target = metadata["target_directory"]
            .as_str()
            .context("cargo metadata names no target directory")?;
        let binary = Path::new(target).join("debug").join(package);
        if is_executable(&binary) {
            Ok(binary)
        } else {
            bail!("`cargo build -p {package}` left no {}", binary.display())
        }
    }

    /// Runs an install step with its output in a log file, a progress line every 30 s, and
    /// the end of the log in the error when it fails.
    fn run_logged(&self, what: &str, log_name: &str, mut command: Command) -> anyhow::Result<()> {
        fs::create_dir_all(&self.logs)
            .with_context(|| format!("cannot create {}", self.logs.display()))?;
        let log_path = self.logs.join(format!("install-{log_name}.log"));
        // Appended: several steps (venv, then pip) share a log.
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        writeln!(log, "==> {what}")?;
        println!("  {what} (log: {})", log_path.display());
        let started = Instant::now();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {what}"))?;
        let mut next_heartbeat = started + HEARTBEAT;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if Instant::now() >= next_heartbeat {
                println!(
                    "  {what}: still running after {}{}",
                    elapsed(started),
                    progress(&log_path)
                );
                next_heartbeat += HEARTBEAT;
            }
            pause(Duration::from_millis(250));
        };
        if status.success() {
            println!("  {what}: done in {}", elapsed(started));
            Ok(())
        } else {
            bail!(
                "{what} failed ({status}) after {}; the end of {}:\n{}",
                elapsed(started),
                log_path.display(),
                log_tail(&log_path, 20)
            )
        }
    }
}

/// ", 120 crates compiled" for a cargo build's log (its last step); nothing for other logs.
fn progress(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let last_step = text.rfind("==> ").map_or(text.as_str(), |step| &text[step..]);
    let compiled =
        last_step.lines().filter(|line| line.trim_start().starts_with("Compiling ")).count();
    if compiled == 0 { String::new() } else { format!(", {compiled} crates compiled") }
}

/// Waits for someone else's `cargo install` of `name` to end.
fn wait_for_other_install(name: &str, pid: u32) -> anyhow::Result<()> {
    let started = Instant::now();
    println!("  {name}: another `cargo install {name}` is running (pid {pid}); waiting for it");
    let mut next_heartbeat = started + HEARTBEAT;
    while Path::new(&format!("/proc/{pid}")).exists() {
        if started.elapsed() > LONGEST_INSTALL {
            bail!("the other `cargo install {name}` (pid {pid}) has run for {}", elapsed(started));
        }
        if Instant::now() >= next_heartbeat {
            println!("  {name}: still waiting for pid {pid} after {}", elapsed(started));
            next_heartbeat += HEARTBEAT;
        }
        pause(Duration::from_secs(1));
    }
    println!("  {name}: the other install ended after {} more", elapsed(started));
    Ok(())
}

/// The pid of a running `cargo install ... <name> ...`, if any.
fn running_cargo_install(name: &str) -> Option<u32> {
    let entries = fs::read_dir("/proc").ok()?;
    entries.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let cmdline = fs::read(entry.path().join("cmdline")).ok()?;
        is_cargo_install_of(&cmdline, name).then_some(pid)
    })
}

/// Whether a NUL-separated command line is `cargo install` of crate `name`.
fn is_cargo_install_of(cmdline: &[u8], name: &str) -> bool {
    let args: Vec<&[u8]> = cmdline.split(|&byte| byte == 0).filter(|arg| !arg.is_empty()).collect();
    let is_cargo = args.first().is_some_and(|program| program.ends_with(b"cargo"));
    let position = |wanted: &[u8]| args.iter().position(|arg| *arg == wanted);
    match (position(b"install"), position(name.as_bytes())) {
        (Some(install), Some(crate_name)) => is_cargo && install < crate_name,
        _ => false,
    }
}

/// Where `cargo install` puts `name`: on `PATH`, or in `$CARGO_HOME/bin` (`~/.cargo/bin`).
fn cargo_bin(name: &str) -> Option<PathBuf> {
    which(name).or_else(|| {
        let cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))?;
        Some(cargo_home.join("bin").join(name)).filter(|path| is_executable(path))
    })
}

/// The first executable `name` on `PATH`.
pub(crate) fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status").is_ok_and(|status| effective_uid(&status) == Some(0))
}

/// The effective uid from `/proc/self/status` (`Uid:` real, effective, saved, filesystem).
fn effective_uid(status: &str) -> Option<u32> {
    let line = status.lines().find(|line| line.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_uid_is_the_second_number_of_the_uid_line() {
        let status = "Name:\txtask\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t0\t0\t0\t0\n";
        assert_eq!(effective_uid(status), Some(0));
        assert_eq!(effective_uid("Name:\txtask\n"), None);
    }

    #[test]
    fn a_cargo_install_of_the_crate_is_recognised_by_its_command_line() {
        let tansu =
            b"/root/.rustup/toolchains/1.95.0/bin/cargo\0install\0tansu\0--version\x000.6.0\0";
        assert!(is_cargo_install_of(tansu, "tansu"));
        assert!(!is_cargo_install_of(tansu, "s3s-fs"));
        assert!(!is_cargo_install_of(b"cargo\0build\0-p\0tansu\0", "tansu"));
        assert!(!is_cargo_install_of(b"vim\0install\0tansu\0", "tansu"));
        assert!(!is_cargo_install_of(b"", "tansu"));
    }

    #[test]
    fn a_cargo_build_log_reports_how_many_crates_are_compiled() {
        let dir = std::env::temp_dir().join(format!("rtm-xtask-progress-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("a writable temporary directory");
        let log = dir.join("install.log");
        let two_steps = "==> cargo install a\n   Compiling a v1\n==> cargo install b\n  Updating crates.io index\n   Compiling b v2\n   Compiling c v3\n";
        fs::write(&log, two_steps).expect("writable");
        assert_eq!(progress(&log), ", 2 crates compiled");
        fs::write(&log, "Collecting SecantusDB\n").expect("writable");
        assert_eq!(progress(&log), "");
        fs::remove_dir_all(&dir).expect("removable");
    }

    #[test]
    fn which_finds_a_command_every_machine_has_and_not_a_made_up_one() {
        assert!(which("sh").is_some());
        assert!(which("rtm-no-such-command").is_none());
    }
}
