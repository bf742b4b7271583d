//! One row of the trace: a scheduler event on one CPU (see SCHEMA.md).
//!
//! `Event` is `Copy` and allocation-free (comm/state live inline in [`ShortStr`]) so a
//! tracer can build and hand over millions of them per second.

use std::fmt;
use std::str::FromStr;

/// Scheduler event type (`event` column).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Context switch on `cpu`: `prev_*` leaves, `next_*` runs.
    Switch,
    /// A task (`next_*`) was woken; `target_cpu` is where it will run.
    Wakeup,
    /// A newly forked task (`next_*`) was woken for the first time.
    WakeupNew,
    /// A task (`next_*`) moved from `cpu` to `target_cpu`.
    Migrate,
    /// A task (`prev_*`) exited.
    Exit,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        Self::Switch,
        Self::Wakeup,
        Self::WakeupNew,
        Self::Migrate,
        Self::Exit,
    ];

    /// The string stored in the `event` column.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Switch => "switch",
            Self::Wakeup => "wakeup",
            Self::WakeupNew => "wakeup_new",
            Self::Migrate => "migrate",
            Self::Exit => "exit",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown event type {s:?} (expected switch|wakeup|wakeup_new|migrate|exit)")
            })
    }
}

/// Inline byte string of at most [`ShortStr::CAP`] bytes: a task comm or state.
///
/// Holds raw bytes (not necessarily UTF-8); `Display` and the file formats use the lossless
/// escaped form of [`crate::text`]. Longer inputs are truncated to `CAP` bytes — the kernel
/// comm is at most 15 bytes, the extra room is for text tools that print decorated names
/// such as `kworker/u8:2-events_unbound`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShortStr {
    len: u8,
    buf: [u8; ShortStr::CAP],
}

impl ShortStr {
    pub const CAP: usize = 31;
    pub const EMPTY: ShortStr = ShortStr {
        len: 0,
        buf: [0; Self::CAP],
    };

    /// Copies `b`, truncating to `CAP` bytes.
    #[inline]
    pub fn from_bytes(b: &[u8]) -> Self {
        let n = b.len().min(Self::CAP);
        let mut buf = [0u8; Self::CAP];
        buf[..n].copy_from_slice(&b[..n]);
        ShortStr { len: n as u8, buf }
    }

    /// Copies a NUL-terminated kernel buffer (e.g. BPF `char comm[16]`), stopping at the first NUL.
    #[inline]
    pub fn from_c_bytes(b: &[u8]) -> Self {
        let n = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        Self::from_bytes(&b[..n])
    }

    /// Parses the escaped text form (as stored in Parquet/CSV).
    pub fn from_escaped(s: &str) -> Result<Self, String> {
        let b = crate::text::unescape(s)?;
        if b.len() > Self::CAP {
            return Err(format!("{s:?} is longer than {} bytes", Self::CAP));
        }
        Ok(Self::from_bytes(&b))
    }

    /// True if `b` would be truncated by [`ShortStr::from_bytes`].
    pub fn would_truncate(b: &[u8]) -> bool {
        b.len() > Self::CAP
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Escaped text form (see [`crate::text`]).
    pub fn escaped(&self) -> String {
        crate::text::escape(self.as_bytes())
    }
}

impl fmt::Display for ShortStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.escaped())
    }
}

impl fmt::Debug for ShortStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.escaped())
    }
}

impl From<&str> for ShortStr {
    fn from(s: &str) -> Self {
        Self::from_bytes(s.as_bytes())
    }
}

impl PartialEq<&str> for ShortStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

/// Formats the `prev_state` of a `sched_switch` tracepoint the way the kernel's
/// TP_printk does (`R`, `S`, `D`, `R+`, `D|K`…) from its report bits: 0x01 S, 0x02 D,
/// 0x04 T, 0x08 t, 0x10 X, 0x20 Z, 0x40 P, 0x80 I, and 0x100 (TASK_REPORT_MAX) = preempted `+`.
pub fn state_from_report_bits(bits: u32) -> ShortStr {
    const NAMES: [(u32, u8); 8] = [
        (0x01, b'S'),
        (0x02, b'D'),
        (0x04, b'T'),
        (0x08, b't'),
        (0x10, b'X'),
        (0x20, b'Z'),
        (0x40, b'P'),
        (0x80, b'I'),
    ];
    let mut buf = [0u8; 20];
    let mut n = 0;
    for (bit, c) in NAMES {
        if bits & bit != 0 {
            if n > 0 {
                buf[n] = b'|';
                n += 1;
            }
            buf[n] = c;
            n += 1;
        }
    }
    if n == 0 {
        buf[0] = b'R';
        n = 1;
    }
    if bits & 0x100 != 0 {
        buf[n] = b'+';
        n += 1;
    }
    ShortStr::from_bytes(&buf[..n])
}

/// A task as seen in one event; every field may be unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Task {
    /// Kernel pid (thread id).
    pub pid: Option<i32>,
    /// Thread-group id (userspace "pid").
    pub tgid: Option<i32>,
    pub comm: Option<ShortStr>,
    /// Kernel prio (0..139; 120 = nice 0; can be -1 for deadline tasks).
    pub prio: Option<i32>,
}

impl Task {
    /// Fully known task, e.g. from BPF: `comm` is a NUL-terminated kernel buffer.
    #[inline]
    pub fn new(pid: i32, tgid: i32, comm: &[u8], prio: i32) -> Self {
        Task {
            pid: Some(pid),
            tgid: Some(tgid),
            comm: Some(ShortStr::from_c_bytes(comm)),
            prio: Some(prio),
        }
    }
}

/// One trace row. Field meaning per event type is in SCHEMA.md; `None` = unknown (null).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub ts_ns: u64,
    pub cpu: u32,
    pub kind: EventKind,
    pub prev_pid: Option<i32>,
    pub prev_tgid: Option<i32>,
    pub prev_comm: Option<ShortStr>,
    pub prev_prio: Option<i32>,
    pub prev_state: Option<ShortStr>,
    pub next_pid: Option<i32>,
    pub next_tgid: Option<i32>,
    pub next_comm: Option<ShortStr>,
    pub next_prio: Option<i32>,
    pub nr_running: Option<u32>,
    pub target_cpu: Option<u32>,
    /// `switch`: the outgoing task's total CPU time as the kernel charged it (its
    /// `se.sum_exec_runtime`) when it was switched out. `wakeup`/`wakeup_new` (with
    /// `prev_pid` set): the same for the task running on the target CPU at the enqueue.
    pub prev_runtime_ns: Option<u64>,
}

impl Event {
    /// An event with every optional field unknown.
    #[inline]
    pub const fn new(ts_ns: u64, cpu: u32, kind: EventKind) -> Self {
        Event {
            ts_ns,
            cpu,
            kind,
            prev_pid: None,
            prev_tgid: None,
            prev_comm: None,
            prev_prio: None,
            prev_state: None,
            next_pid: None,
            next_tgid: None,
            next_comm: None,
            next_prio: None,
            nr_running: None,
            target_cpu: None,
            prev_runtime_ns: None,
        }
    }

    #[inline]
    pub fn set_prev(&mut self, t: Task) {
        self.prev_pid = t.pid;
        self.prev_tgid = t.tgid;
        self.prev_comm = t.comm;
        self.prev_prio = t.prio;
    }

    #[inline]
    pub fn set_next(&mut self, t: Task) {
        self.next_pid = t.pid;
        self.next_tgid = t.tgid;
        self.next_comm = t.comm;
        self.next_prio = t.prio;
    }

    pub fn prev(&self) -> Task {
        Task {
            pid: self.prev_pid,
            tgid: self.prev_tgid,
            comm: self.prev_comm,
            prio: self.prev_prio,
        }
    }

    pub fn next(&self) -> Task {
        Task {
            pid: self.next_pid,
            tgid: self.next_tgid,
            comm: self.next_comm,
            prio: self.next_prio,
        }
    }

    /// `prev` leaves `cpu` in state `prev_state`, `next` starts running.
    #[inline]
    pub fn switch(
        ts_ns: u64,
        cpu: u32,
        prev: Task,
        prev_state: Option<ShortStr>,
        next: Task,
    ) -> Self {
        let mut e = Self::new(ts_ns, cpu, EventKind::Switch);
        e.set_prev(prev);
        e.prev_state = prev_state;
        e.set_next(next);
        e
    }

    /// `task` woken (on `cpu`, the waker's CPU) to run on `target_cpu`.
    #[inline]
    pub fn wakeup(ts_ns: u64, cpu: u32, task: Task, target_cpu: Option<u32>) -> Self {
        let mut e = Self::new(ts_ns, cpu, EventKind::Wakeup);
        e.set_next(task);
        e.target_cpu = target_cpu;
        e
    }

    /// First wakeup of a freshly forked `task`.
    #[inline]
    pub fn wakeup_new(ts_ns: u64, cpu: u32, task: Task, target_cpu: Option<u32>) -> Self {
        let mut e = Self::wakeup(ts_ns, cpu, task, target_cpu);
        e.kind = EventKind::WakeupNew;
        e
    }

    /// `task` moves from `orig_cpu` (stored in `cpu`) to `dest_cpu` (stored in `target_cpu`).
    #[inline]
    pub fn migrate(ts_ns: u64, orig_cpu: u32, task: Task, dest_cpu: u32) -> Self {
        let mut e = Self::new(ts_ns, orig_cpu, EventKind::Migrate);
        e.set_next(task);
        e.target_cpu = Some(dest_cpu);
        e
    }

    /// `task` exits (stored in `prev_*`).
    #[inline]
    pub fn exit(ts_ns: u64, cpu: u32, task: Task) -> Self {
        let mut e = Self::new(ts_ns, cpu, EventKind::Exit);
        e.set_prev(task);
        e
    }

    /// Builder-style setter for `nr_running`.
    #[inline]
    pub fn with_nr_running(mut self, n: u32) -> Self {
        self.nr_running = Some(n);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>().unwrap(), k);
        }
        assert!("sleep".parse::<EventKind>().is_err());
    }

    #[test]
    fn short_str_truncates_and_stops_at_nul() {
        assert_eq!(ShortStr::from_c_bytes(b"bash\0\0garbage"), "bash");
        let long = [b'a'; 40];
        assert_eq!(ShortStr::from_bytes(&long).as_bytes().len(), ShortStr::CAP);
    }

    #[test]
    fn states_like_the_kernel() {
        assert_eq!(state_from_report_bits(0), "R");
        assert_eq!(state_from_report_bits(0x100), "R+");
        assert_eq!(state_from_report_bits(0x01), "S");
        assert_eq!(state_from_report_bits(0x02 | 0x80), "D|I");
    }

    #[test]
    fn event_is_small_and_copy() {
        // Guard against accidental heap fields: the tracer relies on Event being Copy.
        fn is_copy<T: Copy>() {}
        is_copy::<Event>();
        assert!(std::mem::size_of::<Event>() <= 192);
    }
}
