//! What `/proc` tells about a process and the machine: the memory of a process from
//! `/proc/<pid>/status` (`VmRSS`, resident now, and `VmHWM`, the most it has been resident
//! since it started), the CPU time of a process from `/proc/<pid>/stat`, and how busy the
//! whole machine was from `/proc/stat`. CPU times are in clock ticks (`getconf CLK_TCK`).

use anyhow::Context as _;

/// Resident memory of a process, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Memory {
    /// `VmRSS`: resident now.
    pub(crate) rss_bytes: u64,
    /// `VmHWM`: the peak resident size since the process started.
    pub(crate) peak_bytes: u64,
}

/// Reads the memory of process `pid`.
pub(crate) fn memory(pid: u32) -> anyhow::Result<Memory> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_status(&status).with_context(|| format!("{path} has no VmRSS or VmHWM line"))
}

/// `VmRSS` and `VmHWM` of a `/proc/<pid>/status` text. The kernel writes them in kB, which
/// are KiB.
pub(crate) fn parse_status(status: &str) -> Option<Memory> {
    Some(Memory {
        rss_bytes: field_bytes(status, "VmRSS")?,
        peak_bytes: field_bytes(status, "VmHWM")?,
    })
}

fn field_bytes(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))?;
    let mut words = line.split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => value.checked_mul(1024),
        _ => None,
    }
}

/// CPU ticks a process has used (user + system), from `/proc/<pid>/stat`.
pub(crate) fn process_ticks(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_process_ticks(&stat).with_context(|| format!("{path} has no utime and stime"))
}

/// `utime + stime` of a `/proc/<pid>/stat` line: fields 14 and 15, counted after the command
/// name, which is in parentheses and may itself hold spaces and parentheses.
pub(crate) fn parse_process_ticks(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name, field 3 (state) comes first: utime (14) is at 11, stime (15) at 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// The machine's CPU ticks so far, all CPUs together: (busy, total).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MachineTicks {
    pub(crate) busy: u64,
    pub(crate) total: u64,
}

impl MachineTicks {
    /// The share of the CPU time between `self` and a `later` reading that was busy.
    pub(crate) fn busy_share_until(self, later: Self) -> f64 {
        let total = later.total.saturating_sub(self.total);
        if total == 0 { 0.0 } else { later.busy.saturating_sub(self.busy) as f64 / total as f64 }
    }
}

/// Reads `/proc/stat`.
pub(crate) fn machine_ticks() -> anyhow::Result<MachineTicks> {
    let stat = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
    parse_machine_ticks(&stat).context("/proc/stat has no cpu line")
}

/// The `cpu` line of `/proc/stat`: everything but `idle` and `iowait` is busy.
pub(crate) fn parse_machine_ticks(stat: &str) -> Option<MachineTicks> {
    let line = stat.lines().find_map(|line| line.strip_prefix("cpu "))?;
    let ticks: Vec<u64> = line.split_whitespace().map(str::parse).collect::<Result<_, _>>().ok()?;
    // user nice system idle iowait irq softirq steal (guest time is inside user already).
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some(MachineTicks { busy: total - idle, total })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\trtm\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t  412345 kB\n\
        VmSize:\t  400000 kB\nVmHWM:\t   21504 kB\nVmRSS:\t   18432 kB\nRssAnon:\t    9000 kB\n";

    #[test]
    fn rss_and_peak_are_read_in_bytes() {
        assert_eq!(
            parse_status(STATUS),
            Some(Memory { rss_bytes: 18_432 * 1024, peak_bytes: 21_504 * 1024 })
        );
    }

    #[test]
    fn a_field_name_that_only_starts_like_another_is_not_taken_for_it() {
        let status = "VmRSSX:\t1 kB\nVmHWM:\t2 kB\nVmRSS:\t3 kB\n";
        assert_eq!(
            parse_status(status),
            Some(Memory { rss_bytes: 3 * 1024, peak_bytes: 2 * 1024 })
        );
    }

    #[test]
    fn a_status_without_the_lines_or_with_another_unit_is_refused() {
        assert_eq!(parse_status("Name:\trtm\n"), None);
        assert_eq!(parse_status("VmHWM:\t2 MB\nVmRSS:\t3 kB\n"), None);
        assert_eq!(parse_status("VmHWM:\tlots kB\nVmRSS:\t3 kB\n"), None);
    }

    #[test]
    fn process_ticks_are_user_plus_system_time_even_with_a_strange_command_name() {
        let stat = "4242 (rt m) x) S 1 4242 4242 0 -1 4194560 500 0 0 0 731 269 0 0 20 0 9 0 100 \
            1000000 5000 18446744073709551615 1 1 0 0 0 0 0 4096 17663 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(parse_process_ticks(stat), Some(1_000));
        assert_eq!(parse_process_ticks("4242 (rtm) S 1 2"), None);
    }

    #[test]
    fn the_machine_is_busy_for_everything_but_idle_and_iowait() {
        let before = parse_machine_ticks("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n");
        let after = parse_machine_ticks("cpu  250 0 100 850 50 0 0 0 0 0\n");
        let (before, after) = (before.expect("a cpu line"), after.expect("a cpu line"));
        assert_eq!(before, MachineTicks { busy: 150, total: 1_000 });
        assert!((before.busy_share_until(after) - 0.8).abs() < 1e-9);
        assert_eq!(parse_machine_ticks("cpu0 1 2 3\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_size() {
        let own = memory(std::process::id()).expect("the test's own /proc status");
        assert!(own.rss_bytes > 0 && own.peak_bytes >= own.rss_bytes, "{own:?}");
    }
}
