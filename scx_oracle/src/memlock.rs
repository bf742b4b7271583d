//! The agent schedules every task, including the ones that would service
//! its own page faults; a fault in the agent can therefore deadlock the
//! machine until the watchdog ejects us. Lock all memory, now and future.
use nix::sys::mman::{mlockall, MlockAllFlags};

pub fn lock_all_memory() -> nix::Result<()> {
    mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE)
}

/// The agent's resident memory in KiB (VmRSS; 0 if unreadable): with everything locked, what
/// it costs the machine, model included.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmRSS:")).map(str::to_string))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
