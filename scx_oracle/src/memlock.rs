//! The agent schedules every task, including the ones that would service
//! its own page faults; a fault in the agent can therefore deadlock the
//! machine until the watchdog ejects us. Lock all memory, now and future.
pub fn lock_all_memory() -> std::io::Result<()> {
    // SAFETY: plain syscall without pointers.
    let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}
