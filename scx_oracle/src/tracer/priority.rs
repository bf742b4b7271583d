//! Scheduling class and weight of the tracer's own threads (`--priority`).
//!
//! Under a switch storm on a busy host, a nice-0 writer gets a 1/N share of
//! the CPUs, falls behind, and its queue overflows into drops. The tracer
//! only ever has the work the traced events bring, so running it ahead of
//! other tasks costs the workload no more CPU than the tracing itself. How
//! it is put ahead matters: a large CFS weight (nice -20) makes its CPU look
//! ~88x loaded to the load balancer, which then crowds the workload onto
//! the other CPUs; SCHED_FIFO is not part of CFS load at all.
use std::fmt;
use std::str::FromStr;

// nix wraps neither setpriority(2) nor sched_setscheduler(2): its libc re-export.
use nix::libc;

/// How the drain and writer threads are scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// Inherited: whatever the process runs as.
    Normal,
    /// CFS with this nice value (-20..=19).
    Nice(i32),
    /// SCHED_FIFO at this priority (1..=99).
    Fifo(i32),
}

/// `--priority` default.
pub const DEFAULT_PRIORITY: Priority = Priority::Fifo(1);

impl FromStr for Priority {
    type Err = String;

    /// `normal`, `nice:N` (-20..=19), `fifo` (= fifo:1) or `fifo:N` (1..=99).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not normal, nice:N (-20..=19), fifo or fifo:N (1..=99)");
        let num = |v: &str, lo, hi| v.parse::<i32>().ok().filter(|n| (lo..=hi).contains(n)).ok_or_else(bad);
        match s.split_once(':') {
            None if s == "normal" => Ok(Priority::Normal),
            None if s == "fifo" => Ok(Priority::Fifo(1)),
            Some(("nice", v)) => Ok(Priority::Nice(num(v, -20, 19)?)),
            Some(("fifo", v)) => Ok(Priority::Fifo(num(v, 1, 99)?)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Priority::Normal => f.write_str("normal"),
            Priority::Nice(n) => write!(f, "nice:{n}"),
            Priority::Fifo(p) => write!(f, "fifo:{p}"),
        }
    }
}

impl Priority {
    /// Applies to the calling thread only (Linux: pid/who 0 is the calling
    /// thread). Failure (no CAP_SYS_NICE) is logged, not fatal.
    pub fn apply_to_this_thread(self) {
        // SAFETY: plain syscalls with scalar arguments or an initialised struct.
        let r = unsafe {
            match self {
                Priority::Normal => return,
                Priority::Nice(n) => libc::setpriority(libc::PRIO_PROCESS, 0, n),
                Priority::Fifo(p) => {
                    let param = libc::sched_param { sched_priority: p };
                    libc::sched_setscheduler(0, libc::SCHED_FIFO, &param)
                }
            }
        };
        if r != 0 {
            log::warn!("trace: cannot run at priority {self}: {}", std::io::Error::last_os_error());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for (s, p) in [("normal", Priority::Normal), ("nice:-5", Priority::Nice(-5)), ("fifo", Priority::Fifo(1)), ("fifo:10", Priority::Fifo(10))] {
            assert_eq!(s.parse::<Priority>().unwrap(), p);
        }
        assert_eq!(Priority::Nice(-5).to_string(), "nice:-5");
        for bad in ["", "nice", "nice:-21", "nice:20", "fifo:0", "fifo:100", "rr:1", "fifo:x"] {
            assert!(bad.parse::<Priority>().is_err(), "{bad}");
        }
    }
}
