//! The `rtm` binary as an operator runs it: embedded mode over sockets, and (with the local
//! service stack of `cargo xtask services up`) the real backends end to end.
#![allow(
    clippy::unwrap_used,
    reason = "helpers of a test binary; a failed unwrap is a failed test"
)]

mod bounded_import;
mod config;
mod embedded;
mod health;
mod kafka_tls;
mod observability;
mod policy_flips;
mod process_start;
mod real_backends;
mod start_by_name;
mod tls;
mod two_roles;

use std::net::TcpListener;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The binary under test, with an empty environment but `PATH`.
pub(crate) fn rtm() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rtm"));
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

pub(crate) fn wait_for_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "rtm did not stop within {within:?}");
        std::thread::yield_now();
    }
}
