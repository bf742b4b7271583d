//! One wakeup per wakeup when a trace has both `sched_waking` and `sched_wakeup`.
//!
//! The kernel fires `sched_waking` in `try_to_wake_up()` on the waker's CPU as soon as it
//! decides to wake the task, and `sched_wakeup` when the task is put on its runqueue (possibly
//! on the target CPU, after an IPI). Current `perf sched record` records only `sched_waking`;
//! other tracers record `sched_wakeup`, or both. Both map to the schema's `wakeup` event.
//!
//! When both are present, **`sched_waking` wins**: the importer streams rows in input order
//! and cannot take back a row already written, and the waking comes first. The `sched_wakeup`
//! for a task with a waking still pending is dropped (counted as
//! `ignored.sched_wakeup_after_sched_waking`). So a trace with both imports the same wakeups
//! as a trace with waking only; its wakeup timestamps are the waking's (earlier by the
//! enqueue latency, usually a few µs). `sched_wakeup_new` has no waking and is always kept.

use std::collections::HashSet;

#[derive(Default)]
pub struct Wakings {
    /// Tasks with a `sched_waking` written and their `sched_wakeup` not seen yet.
    pending: HashSet<i32>,
}

impl Wakings {
    /// Whether the wakeup-type event `event` (`sched_waking`, `sched_wakeup`,
    /// `sched_wakeup_new`) for task `pid` is written.
    pub fn keep(&mut self, event: &[u8], pid: Option<i32>) -> bool {
        let Some(pid) = pid else { return true };
        match event {
            b"sched_waking" => {
                self.pending.insert(pid);
                true
            }
            b"sched_wakeup" => !self.pending.remove(&pid),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waking_wins_once_per_pair() {
        let mut w = Wakings::default();
        assert!(w.keep(b"sched_waking", Some(5)));
        assert!(w.keep(b"sched_waking", Some(6)));
        assert!(!w.keep(b"sched_wakeup", Some(5)));
        // A second wakeup with no waking before it (the waking fell before the trace) stays.
        assert!(w.keep(b"sched_wakeup", Some(5)));
        assert!(!w.keep(b"sched_wakeup", Some(6)));
        assert!(w.keep(b"sched_wakeup_new", Some(7)));
        assert!(w.keep(b"sched_wakeup", Some(8)));
    }
}
