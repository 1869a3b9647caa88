//! The `rtm` process under measurement: started on free loopback ports with a clean
//! environment, timed from spawn to its first readiness 200, and always stopped: by
//! [`Rtm::stop`], or on drop when the run fails or is interrupted. Its pid is written to a
//! pid file while it runs, so that `cargo xtask bench` can stop it should this process die.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::Spawned;

/// How long a start may take before the run gives up.
const READY_WITHIN: Duration = Duration::from_secs(90);
/// Readiness is polled this often: the resolution of the start-to-ready time.
const POLL: Duration = Duration::from_millis(5);

/// A running `rtm`.
#[derive(Debug)]
pub(crate) struct Rtm {
    process: Spawned,
    /// The API's base URL.
    pub(crate) base: String,
    /// The management server's base URL.
    pub(crate) management: String,
    /// Spawn to the first readiness 200.
    pub(crate) ready_after: Duration,
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
        let mut command = Command::new(binary);
        command
            .env_clear()
            .envs(env.iter().map(|(name, value)| (name, value)))
            .env("SERVER_ADDRESS", "127.0.0.1")
            .env("SERVER_PORT", api.to_string())
            .env("MANAGEMENT_SERVER_PORT", management.to_string());
        let spawned = Instant::now();
        let mut process = Spawned::start("rtm", command, log, pid_file)?;
        let management = format!("http://127.0.0.1:{management}");
        let readiness = format!("{management}/actuator/health/readiness");
        process.wait_for(&readiness, spawned, READY_WITHIN, POLL).await?;
        Ok(Self {
            process,
            base: format!("http://127.0.0.1:{api}"),
            management,
            ready_after: spawned.elapsed(),
        })
    }

    /// The process id, for `/proc/<pid>/status`.
    pub(crate) fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The last lines of its log, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        self.process.log_tail()
    }

    /// Stops the process and waits for it.
    pub(crate) fn stop(self) -> anyhow::Result<()> {
        self.process.stop()
    }
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}
