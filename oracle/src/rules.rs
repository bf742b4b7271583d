//! `recent_wakeup`: the hand rule that reads the model's own candidate features, the control
//! that shows what the LSTM adds. Prefer a task woken onto this CPU and not preempted, most
//! recently woken first; else the first runnable candidate; else idle. Offline it comes within
//! ~2 points of the bundled model's top-1, so it is the baseline the model must beat in the
//! loop too (same pipeline, same candidates, no network).

use anyhow::{anyhow, Result};

use crate::encoding::Step;
use crate::spec::Spec;

pub struct RecentWakeup {
    width: usize,
    present: usize,
    is_idle: usize,
    runnable: usize,
    woken_here: usize,
    preempted: usize,
    wake_order: usize,
}

impl RecentWakeup {
    pub fn new(spec: &Spec) -> Result<RecentWakeup> {
        let col = |name: &str| {
            spec.candidate_features
                .iter()
                .position(|f| f == name)
                .ok_or_else(|| anyhow!("recent_wakeup needs candidate feature {name:?}"))
        };
        Ok(RecentWakeup {
            width: spec.candidate_width(),
            present: col("present")?,
            is_idle: col("is_idle")?,
            runnable: col("runnable")?,
            woken_here: col("woken_here")?,
            preempted: col("preempted")?,
            wake_order: col("wake_order")?,
        })
    }

    /// Per-slot scores (higher first; ties go to the lower slot like every scorer):
    /// woken here and not preempted 3 - wake_order; other runnable 1; idle 0; the rest -1;
    /// absent -1e9.
    pub fn scores(&self, step: &Step, out: &mut [f32]) {
        for (slot, row) in step.cands.chunks_exact(self.width).enumerate().take(out.len()) {
            out[slot] = if row[self.present] <= 0.0 {
                -1e9
            } else if row[self.is_idle] > 0.0 {
                0.0
            } else if row[self.woken_here] > 0.0 && row[self.preempted] <= 0.0 {
                3.0 - row[self.wake_order]
            } else if row[self.runnable] > 0.0 {
                1.0
            } else {
                -1.0
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rank::best;

    #[test]
    fn most_recent_wakeup_then_first_runnable_then_idle() {
        let spec = Spec::compiled();
        let rule = RecentWakeup::new(&spec).unwrap();
        let w = spec.candidate_width();
        let col = |n: &str| spec.candidate_features.iter().position(|f| f == n).unwrap();
        let mut step = Step::zeroed(&spec);
        let mut set = |slot: usize, name: &str, v: f32| step.cands[slot * w + col(name)] = v;
        set(0, "present", 1.0);
        set(0, "is_idle", 1.0);
        for slot in 1..=4 {
            set(slot, "present", 1.0);
        }
        set(2, "runnable", 1.0); // runnable, not woken here
        set(3, "runnable", 1.0);
        set(3, "woken_here", 1.0);
        set(3, "wake_order", 0.5); // woken earlier than slot 4
        set(4, "runnable", 1.0);
        set(4, "woken_here", 1.0);
        let mut scores = vec![0.0; spec.candidates];
        rule.scores(&step, &mut scores);
        assert_eq!(best(&scores), 4, "{scores:?}");
        scores[4] = -1e9;
        assert_eq!(best(&scores), 3);
        scores[3] = -1e9;
        assert_eq!(best(&scores), 2, "first runnable");
        scores[2] = -1e9;
        assert_eq!(best(&scores), 0, "then idle, before a sleeping task");
    }
}
