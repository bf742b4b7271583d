//! Is time moving forward on each CPU? A CPU's switches are recorded in the order they happen
//! (tracefs keeps a ring per CPU; perf sorts its events by time), so on any one CPU a switch
//! earlier than the one before it means the timestamps are not absolute times: `perf script
//! --deltatime` prints the time since the previous event, and then about half of all switches
//! go back. Such a file imported as it is would be a trace in scrambled order that every eval
//! scores without complaint. A few steps back (recordings joined end to end, one per CPU at
//! the seam) are kept and reported: the evals order events by time.

use std::collections::HashMap;

use crate::event::{Event, EventKind};

/// Warning key: switches stamped earlier than the one before them on their CPU.
pub const SWITCH_TIME_BACKWARD: &str = "switch_time_went_backward";
/// Past this share of switches going back, the import is refused (one in 20: deltas go back
/// about every other switch; joined recordings once per CPU).
const REFUSE_SHARE_DEN: u64 = 20;

#[derive(Default)]
pub(crate) struct ClockCheck {
    last: HashMap<u32, u64>,
    switches: u64,
    /// Switches earlier than the previous switch on their CPU.
    pub backward: u64,
    /// The input line of the first of them.
    pub first_line: Option<u64>,
}

impl ClockCheck {
    pub fn see(&mut self, e: &Event, line: u64) {
        if e.kind != EventKind::Switch {
            return; // other events carry a CPU other than the one that recorded them
        }
        self.switches += 1;
        let last = self.last.entry(e.cpu).or_insert(e.ts_ns);
        if e.ts_ns < *last {
            self.backward += 1;
            self.first_line.get_or_insert(line);
        }
        *last = e.ts_ns;
    }

    /// Why the import must be refused, if it must.
    pub fn refusal(&self) -> Option<String> {
        if self.backward == 0 || self.backward * REFUSE_SHARE_DEN <= self.switches {
            return None;
        }
        Some(format!(
            "timestamps are not absolute: {} of {} switches are earlier than the switch before \
             them on the same CPU (first at line {}), as printed by `perf script --deltatime`; \
             print absolute times (drop --deltatime; --reltime is fine)",
            self.backward,
            self.switches,
            self.first_line.unwrap_or(0)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sw(ts: u64, cpu: u32) -> Event {
        Event::new(ts, cpu, EventKind::Switch)
    }

    #[test]
    fn forward_time_and_other_cpus_pass() {
        let mut c = ClockCheck::default();
        for (i, (ts, cpu)) in [(10, 0), (5, 1), (10, 0), (11, 0), (6, 1)]
            .iter()
            .enumerate()
        {
            c.see(&sw(*ts, *cpu), i as u64 + 1);
        }
        assert_eq!(c.backward, 0);
        assert!(c.refusal().is_none());
    }

    #[test]
    fn one_seam_is_kept_many_steps_back_are_refused() {
        let mut c = ClockCheck::default();
        for i in 0..40 {
            c.see(&sw(1000 + i, 0), i + 1);
        }
        c.see(&sw(3, 0), 41);
        assert_eq!((c.backward, c.first_line), (1, Some(41)));
        assert!(c.refusal().is_none());
        for i in 0..40 {
            c.see(&sw(if i % 2 == 0 { 2 } else { 7 }, 0), 42 + i);
        }
        let why = c.refusal().expect("deltas are refused");
        assert!(
            why.contains("--deltatime") && why.contains("line 41"),
            "{why}"
        );
    }

    #[test]
    fn only_switches_count() {
        let mut c = ClockCheck::default();
        c.see(&sw(100, 0), 1);
        c.see(&Event::new(1, 0, EventKind::Migrate), 2);
        assert_eq!(c.backward, 0);
    }
}
