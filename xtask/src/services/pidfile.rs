//! Pid files: how `services down` knows which processes `services up` started.
//!
//! A pid file holds the pid and the process's start time (field 22 of `/proc/<pid>/stat`,
//! in clock ticks since boot), so that a pid reused by another process after a reboot or a
//! crash is never taken for ours: only a live process with the same start time is.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// A process `services up` started, as recorded in its pid file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub(crate) pid: u32,
    pub(crate) start_time: u64,
}

impl Recorded {
    /// The record of the live process `pid`, or `None` when there is no such process.
    pub(crate) fn of(pid: u32) -> Option<Self> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let process = parse_stat(&stat)?;
        process.is_running().then_some(Self { pid, start_time: process.start_time })
    }

    /// Whether the recorded process still runs (and is the same process, not a reused pid).
    pub(crate) fn is_alive(self) -> bool {
        Self::of(self.pid) == Some(self)
    }
}

/// The pid file of one service in the run directory.
#[derive(Clone, Debug)]
pub(crate) struct PidFile {
    path: PathBuf,
}

impl PidFile {
    pub(crate) fn new(run_dir: &Path, service: &str) -> Self {
        Self { path: run_dir.join(format!("{service}.pid")) }
    }

    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Records `process` as started by us.
    pub(crate) fn write(&self, process: Recorded) -> anyhow::Result<()> {
        if let Some(parent) = self.path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&self.path, format(process))
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    /// The process this file records, when the file exists and is well-formed.
    pub(crate) fn read(&self) -> anyhow::Result<Option<Recorded>> {
        match fs::read_to_string(&self.path) {
            Ok(text) => Ok(parse(&text)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => {
                Err(error).with_context(|| format!("cannot read {}", self.path.display()))
            }
        }
    }

    /// The recorded process if it still runs; a file naming a dead or reused pid is stale
    /// and removed.
    pub(crate) fn live(&self) -> anyhow::Result<Option<Recorded>> {
        match self.read()? {
            Some(process) if process.is_alive() => Ok(Some(process)),
            Some(_) => {
                self.remove()?;
                Ok(None)
            }
            None => {
                // An unreadable leftover (say, a half-written file) says nothing either.
                if self.path.exists() {
                    self.remove()?;
                }
                Ok(None)
            }
        }
    }

    pub(crate) fn remove(&self) -> anyhow::Result<()> {
        match fs::remove_file(&self.path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => {
                Err(error).with_context(|| format!("cannot remove {}", self.path.display()))
            }
            _ => Ok(()),
        }
    }
}

fn format(process: Recorded) -> String {
    format!("{} {}\n", process.pid, process.start_time)
}

fn parse(text: &str) -> Option<Recorded> {
    let mut fields = text.split_whitespace();
    let pid = fields.next()?.parse().ok()?;
    let start_time = fields.next()?.parse().ok()?;
    fields.next().is_none().then_some(Recorded { pid, start_time })
}

/// What `/proc/<pid>/stat` says about a process.
#[derive(Debug, PartialEq, Eq)]
struct Stat {
    state: char,
    start_time: u64,
}

impl Stat {
    /// A zombie (`Z`) or dead (`X`) process has exited; only its parent has not looked yet.
    fn is_running(&self) -> bool {
        !matches!(self.state, 'Z' | 'X')
    }
}

/// Parses `/proc/<pid>/stat`: `pid (comm) state ppid ...`, where `comm` may hold spaces and
/// parentheses, so the fields are counted from the last `)`. The state is field 3 and the
/// start time field 22.
fn parse_stat(stat: &str) -> Option<Stat> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_comm.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let start_time = fields.get(22 - 3)?.parse().ok()?;
    Some(Stat { state, start_time })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (tansu (broker) x) S 1 4242 4242 0 -1 4194560 3370 0 0 0 12 5 0 0 20 0 \
                        9 0 987654 1167360000 5000 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 \
                        17 1 0 0 0 0 0";

    #[test]
    fn the_state_and_start_time_are_read_after_a_command_name_with_spaces_and_parentheses() {
        assert_eq!(parse_stat(STAT), Some(Stat { state: 'S', start_time: 987_654 }));
    }

    #[test]
    fn a_zombie_is_not_running() {
        let zombie = STAT.replacen(" S ", " Z ", 1);
        assert!(!parse_stat(&zombie).expect("a well-formed stat").is_running());
        assert!(parse_stat(STAT).expect("a well-formed stat").is_running());
    }

    #[test]
    fn a_truncated_stat_is_not_a_process() {
        assert_eq!(parse_stat("4242 (tansu) S 1 4242"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn a_record_round_trips_through_its_file_format() {
        let process = Recorded { pid: 4242, start_time: 987_654 };
        assert_eq!(parse(&format(process)), Some(process));
    }

    #[test]
    fn a_malformed_pid_file_records_nothing() {
        for text in ["", "4242", "4242 x", "-1 5", "4242 5 6", "pid start"] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn this_process_is_alive_and_a_reused_pid_is_not() {
        let me = Recorded::of(std::process::id()).expect("this process runs");
        assert!(me.is_alive());
        let reused = Recorded { start_time: me.start_time + 1, ..me };
        assert!(!reused.is_alive());
    }

    #[test]
    fn a_stale_pid_file_is_removed_and_a_live_one_kept() {
        let dir = scratch_dir("pidfile");
        let file = PidFile::new(&dir, "kafka");
        assert_eq!(file.live().expect("no file is fine"), None);

        let me = Recorded::of(std::process::id()).expect("this process runs");
        file.write(me).expect("writable");
        assert_eq!(file.live().expect("readable"), Some(me));

        file.write(Recorded { start_time: me.start_time + 1, ..me }).expect("writable");
        assert_eq!(file.live().expect("readable"), None);
        assert!(!file.path().exists(), "the stale file is removed");

        fs::write(file.path(), "half-writ").expect("writable");
        assert_eq!(file.live().expect("readable"), None);
        assert!(!file.path().exists(), "the malformed file is removed");
        fs::remove_dir_all(&dir).expect("removable");
    }

    /// A fresh directory of this test's own under the system's temporary directory.
    fn scratch_dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "rtm-xtask-{test}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        drop(fs::remove_dir_all(&dir));
        fs::create_dir_all(&dir).expect("a writable temporary directory");
        dir
    }
}
