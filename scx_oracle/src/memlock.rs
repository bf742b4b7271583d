//! The agent schedules every task, including the ones that would service
//! its own page faults; a fault in the agent can therefore deadlock the
//! machine until the watchdog ejects us. Lock all memory, now and future.
use nix::sys::mman::{mlockall, MlockAllFlags};

pub fn lock_all_memory() -> nix::Result<()> {
    mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE)
}
