//! The `rtm` process under measurement: started on free loopback ports with a clean
//! environment, timed from spawn to its first readiness 200, and always stopped: by
//! [`Rtm::stop`], or on drop when the run fails or is interrupted. Its pid is written to a
//! pid file while it runs, so that `cargo xtask bench` can stop it should this process die.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How long a start may take before the run gives up.
const READY_WITHIN: Duration = Duration::from_secs(90);
/// Readiness is polled this often: the resolution of the start-to-ready time.
const POLL: Duration = Duration::from_millis(5);

/// A running `rtm`.
#[derive(Debug)]
pub(crate) struct Rtm {
    child: Child,
    /// The API's base URL.
    pub(crate) base: String,
    /// The management server's base URL.
    pub(crate) management: String,
    /// Spawn to the first readiness 200.
    pub(crate) ready_after: Duration,
    log: PathBuf,
    pid_file: PathBuf,
}

impl Rtm {
    /// Starts `binary` with `env` only (plus `PATH` and `HOME`), on free ports of 127.0.0.1,
    /// its output in `log`, and waits until it is ready.
    pub(crate) async fn start(
        binary: &Path,
        env: &[(String, String)],
        log: &Path,
        pid_file: &Path,
    ) -> anyhow::Result<Self> {
        let (api, management) = (free_port()?, free_port()?);
        let output = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = Command::new(binary);
        command.env_clear();
        for name in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command
            .envs(env.iter().map(|(name, value)| (name, value)))
            .env("SERVER_ADDRESS", "127.0.0.1")
            .env("SERVER_PORT", api.to_string())
            .env("MANAGEMENT_SERVER_PORT", management.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(output.try_clone()?))
            .stderr(Stdio::from(output));
        let spawned = Instant::now();
        let child =
            command.spawn().with_context(|| format!("cannot start {}", binary.display()))?;
        std::fs::write(pid_file, format!("{}\n", child.id()))
            .with_context(|| format!("cannot write {}", pid_file.display()))?;
        let mut rtm = Self {
            child,
            base: format!("http://127.0.0.1:{api}"),
            management: format!("http://127.0.0.1:{management}"),
            ready_after: Duration::ZERO,
            log: log.to_owned(),
            pid_file: pid_file.to_owned(),
        };
        rtm.ready_after = rtm.wait_until_ready(spawned).await?;
        Ok(rtm)
    }

    async fn wait_until_ready(&mut self, spawned: Instant) -> anyhow::Result<Duration> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(500))
            .build()
            .context("cannot build an HTTP client")?;
        let url = format!("{}/actuator/health/readiness", self.management);
        loop {
            if let Ok(response) = client.get(&url).send().await
                && response.status() == reqwest::StatusCode::OK
            {
                return Ok(spawned.elapsed());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("rtm exited with {status} before it was ready:\n{}", self.log_tail());
            }
            if spawned.elapsed() > READY_WITHIN {
                bail!(
                    "rtm was not ready within {} s:\n{}",
                    READY_WITHIN.as_secs(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The process id, for `/proc/<pid>/status`.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines of its log, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Stops the process and waits for it.
    pub(crate) fn stop(mut self) -> anyhow::Result<()> {
        self.kill()
    }

    fn kill(&mut self) -> anyhow::Result<()> {
        if self.child.try_wait()?.is_none() {
            self.child.kill().context("cannot stop rtm")?;
        }
        self.child.wait().context("cannot wait for rtm")?;
        // Gone: the pid file must not name a pid the system may give to another process.
        let _ = std::fs::remove_file(&self.pid_file);
        Ok(())
    }
}

impl Drop for Rtm {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}
