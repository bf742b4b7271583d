//! Scheduling weight of the tracer's own threads.
//!
//! Under a switch storm on a busy host, a nice-0 writer gets a 1/N share of
//! the CPUs and falls behind, and its queue overflows into drops. The tracer
//! only ever has the work the traced events bring, so a high weight costs the
//! workload no more CPU than the tracing itself; it only stops that work
//! from waiting behind everything else.

/// Default nice of the drain and writer threads (`--nice`).
pub const TRACER_NICE: i32 = -20;

/// Sets the nice value of the calling thread only (on Linux, who = 0 with
/// PRIO_PROCESS is the calling thread). Failure (no CAP_SYS_NICE) is logged,
/// not fatal.
pub fn renice_this_thread(nice: i32) {
    // nix has no setpriority(2).
    // SAFETY: plain syscall with scalar arguments.
    let r = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
    if r != 0 {
        log::warn!("trace: cannot set nice {nice}: {}", std::io::Error::last_os_error());
    }
}
