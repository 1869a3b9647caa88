//! A process the bench starts (`rtm`, Unleash Edge): a clean environment, its output in a
//! log file, its pid in a pid file while it runs (so that `cargo xtask bench` can stop it
//! should the bench die), waited for until a URL answers 200, and always stopped: by
//! [`Spawned::stop`], or on drop when the run fails or is interrupted.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// A running child of the bench.
#[derive(Debug)]
pub(crate) struct Spawned {
    name: &'static str,
    child: Child,
    log: PathBuf,
    pid_file: PathBuf,
}

impl Spawned {
    /// Starts `command` with only `PATH` and `HOME` of the bench's environment (plus what the
    /// caller set on it), stdin closed and its output in `log`; writes its pid to `pid_file`.
    pub(crate) fn start(
        name: &'static str,
        mut command: Command,
        log: &Path,
        pid_file: &Path,
    ) -> anyhow::Result<Self> {
        let output = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        for variable in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(variable) {
                command.env(variable, value);
            }
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(output.try_clone()?))
            .stderr(Stdio::from(output));
        let child = command.spawn().with_context(|| format!("cannot start {name}"))?;
        std::fs::write(pid_file, format!("{}\n", child.id()))
            .with_context(|| format!("cannot write {}", pid_file.display()))?;
        Ok(Self { name, child, log: log.to_owned(), pid_file: pid_file.to_owned() })
    }

    /// Polls `url` every `poll` until it answers 200; fails with the log's tail when the
    /// process exits first or `within` has passed since `since`.
    pub(crate) async fn wait_for(
        &mut self,
        url: &str,
        since: Instant,
        within: Duration,
        poll: Duration,
    ) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(500))
            .build()
            .context("cannot build an HTTP client")?;
        loop {
            if let Ok(response) = client.get(url).send().await
                && response.status() == reqwest::StatusCode::OK
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited with {status} before {url} answered:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            if since.elapsed() > within {
                bail!(
                    "{url} did not answer 200 within {} s:\n{}",
                    within.as_secs(),
                    self.log_tail()
                );
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// The process id, for `/proc/<pid>/…`.
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
            self.child.kill().with_context(|| format!("cannot stop {}", self.name))?;
        }
        self.child.wait().with_context(|| format!("cannot wait for {}", self.name))?;
        // Gone: the pid file must not name a pid the system may give to another process.
        let _ = std::fs::remove_file(&self.pid_file);
        Ok(())
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.kill();
    }
}
