//! The baselines of model/baselines.py, on the same encoded steps, with the same results
//! (model/tests/test_eval_agreement.py compares the two).
//!
//! - [`RecentWakeup`] is a hand rule on one encoded step (its candidate rows and step row,
//!   columns looked up by feature name in the encoder's [`Spec`]): it returns per-slot scores
//!   ranked like the model's, so the agent can run it in place of the LSTM on a live step.
//! - [`IdentityBaselines`] (last_task, most_frequent, markov_1/2, repeat_3/4) see only which
//!   task ran when on one CPU; keep one per CPU. Each guesses up to 3 pids (0 = idle), never
//!   the outgoing task.

use std::collections::HashMap;

use anyhow::{anyhow, Result};

use crate::spec::Spec;

/// Every baseline, in report order (Python's `BASELINES`).
pub const BASELINES: [&str; 7] = [
    "recent_wakeup",
    "last_task",
    "most_frequent",
    "markov_1",
    "markov_2",
    "repeat_3",
    "repeat_4",
];

/// How many guesses an identity baseline makes (top-3 accuracy).
pub const TOP: usize = 3;

// recent_wakeup's score tiers, higher first (the same constants in model/baselines.py).
const WOKEN: f32 = 3.0;
const RUNNABLE: f32 = 1.0;
const IDLE: f32 = 0.5;
const OTHER: f32 = 0.0;
const NEVER: f32 = -1.0;

/// Prefer a task woken onto this CPU and not preempted, most recently woken first; else the
/// runnable candidate most recently seen on this CPU; else idle. Empty slots and the outgoing task are never picked,
/// nor idle when idle is the outgoing task.
#[derive(Clone, Debug)]
pub struct RecentWakeup {
    width: usize,
    prev_idle: usize,
    present: usize,
    is_idle: usize,
    is_prev: usize,
    runnable: usize,
    woken_here: usize,
    preempted: usize,
    since_woken: usize,
    recency_rank: usize,
}

fn column(names: &[String], name: &str) -> Result<usize> {
    names
        .iter()
        .position(|n| n == name)
        .ok_or_else(|| anyhow!("recent_wakeup needs the encoding feature {name:?}"))
}

impl RecentWakeup {
    pub fn new(spec: &Spec) -> Result<RecentWakeup> {
        let c = |n| column(&spec.candidate_features, n);
        Ok(RecentWakeup {
            width: spec.candidate_width(),
            prev_idle: column(&spec.step_features, "prev_idle")?,
            present: c("present")?,
            is_idle: c("is_idle")?,
            is_prev: c("is_prev")?,
            runnable: c("runnable")?,
            woken_here: c("woken_here")?,
            preempted: c("preempted")?,
            since_woken: c("since_woken")?,
            recency_rank: c("recency_rank")?,
        })
    }

    /// Scores of every slot of one step: `step` is the step row, `cands` the candidate rows
    /// (row-major, `candidates * candidate_width`). `out` is resized to the slot count.
    pub fn scores(&self, step: &[f32], cands: &[f32], out: &mut Vec<f32>) {
        let prev_idle = step[self.prev_idle] > 0.0;
        out.clear();
        out.extend(cands.chunks_exact(self.width).map(|row| {
            let on = |i: usize| row[i] > 0.0;
            if !on(self.present) {
                return NEVER;
            }
            if on(self.is_idle) {
                return if prev_idle { NEVER } else { IDLE };
            }
            if on(self.is_prev) {
                return NEVER;
            }
            if !on(self.runnable) {
                return OTHER;
            }
            if on(self.woken_here) && !on(self.preempted) {
                WOKEN - row[self.since_woken]
            } else {
                // the most recently seen here first, whatever the slot order
                RUNNABLE - 0.5 * row[self.recency_rank]
            }
        }));
    }
}

/// Task counts that remember first-seen order, so ties rank like Python's
/// `Counter.most_common` (stable on insertion order).
#[derive(Clone, Debug, Default)]
struct Counts {
    order: Vec<i32>,
    count: HashMap<i32, u64>,
}

impl Counts {
    fn add(&mut self, pid: i32) {
        let n = self.count.entry(pid).or_insert(0);
        if *n == 0 {
            self.order.push(pid);
        }
        *n += 1;
    }

    /// The `n` most counted, ties to the first seen.
    fn most_common(&self, n: usize, out: &mut Vec<i32>) {
        let mut v: Vec<(u64, i32)> = self.order.iter().map(|p| (self.count[p], *p)).collect();
        v.sort_by(|a, b| b.0.cmp(&a.0)); // stable
        out.extend(v.into_iter().take(n).map(|(_, p)| p));
    }
}

/// Up to [`TOP`] distinct pids of `ranked`, skipping the outgoing task.
fn top(ranked: &[i32], prev: i32) -> Vec<i32> {
    let mut out = Vec::with_capacity(TOP);
    for &p in ranked {
        if p != prev && !out.contains(&p) {
            out.push(p);
            if out.len() == TOP {
                break;
            }
        }
    }
    out
}

/// Order-k Markov chain on the last k picks, backing off to shorter contexts, then to counts.
#[derive(Clone, Debug)]
struct Markov {
    k: usize,
    /// `tables[j]`: context of the last j picks (most recent first) -> counts of the next pick.
    tables: Vec<HashMap<Vec<i32>, Counts>>,
}

impl Markov {
    fn new(k: usize) -> Markov {
        Markov {
            k,
            tables: vec![HashMap::new(); k + 1],
        }
    }

    fn guess(&self, hist: &[i32], prev: i32) -> Vec<i32> {
        let mut ranked = Vec::new();
        for j in (0..=self.k.min(hist.len())).rev() {
            if let Some(c) = self.tables[j].get(&hist[..j]) {
                c.most_common(TOP + 1, &mut ranked);
            }
        }
        top(&ranked, prev)
    }

    fn learn(&mut self, hist: &[i32], next: i32) {
        for j in 0..=self.k.min(hist.len()) {
            self.tables[j]
                .entry(hist[..j].to_vec())
                .or_default()
                .add(next);
        }
    }
}

/// The identity baselines of one CPU, fed its switches in time order.
#[derive(Clone, Debug)]
pub struct IdentityBaselines {
    /// Picks, most recent first (last 16, as last_task keeps).
    recent: Vec<i32>,
    /// Every pick in order (repeat_k looks k, 2k, 3k, 4k back).
    picks: Vec<i32>,
    counts: Counts,
    markov: [Markov; 2],
}

impl Default for IdentityBaselines {
    fn default() -> Self {
        IdentityBaselines {
            recent: Vec::new(),
            picks: Vec::new(),
            counts: Counts::default(),
            markov: [Markov::new(1), Markov::new(2)],
        }
    }
}

impl IdentityBaselines {
    /// Names of [`Self::guesses`]' entries, in order: every baseline but recent_wakeup.
    pub const NAMES: &'static [&'static str] = BASELINES.split_at(1).1;

    /// Each baseline's guesses for the switch away from `prev`, in [`Self::NAMES`] order.
    pub fn guesses(&self, prev: i32) -> [Vec<i32>; 6] {
        let mut frequent = Vec::new();
        self.counts.most_common(TOP + 1, &mut frequent);
        let repeat = |k: usize| {
            let n = self.picks.len();
            let back: Vec<i32> = (1..=TOP + 1)
                .filter(|j| j * k <= n)
                .map(|j| self.picks[n - j * k])
                .collect();
            top(&back, prev)
        };
        [
            top(&self.recent, prev),
            top(&frequent, prev),
            self.markov[0].guess(&self.recent, prev),
            self.markov[1].guess(&self.recent, prev),
            repeat(3),
            repeat(4),
        ]
    }

    /// Learn the pick that was made.
    pub fn observe(&mut self, next: i32) {
        for m in &mut self.markov {
            m.learn(&self.recent, next);
        }
        self.counts.add(next);
        self.recent.insert(0, next);
        self.recent.truncate(16);
        self.picks.push(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(b: &mut IdentityBaselines, seq: &[(i32, i32)]) -> Vec<[Vec<i32>; 6]> {
        seq.iter()
            .map(|&(prev, next)| {
                let g = b.guesses(prev);
                b.observe(next);
                g
            })
            .collect()
    }

    #[test]
    fn identity_baselines_on_a_period_3_schedule() {
        // A B C A B C ... on one CPU: each switch leaves the task picked before.
        let order = [1, 2, 3];
        let seq: Vec<(i32, i32)> = (0..12)
            .map(|i| (order[(i + 2) % 3], order[i % 3]))
            .collect();
        let g = feed(&mut IdentityBaselines::default(), &seq);
        let last = &g[11];
        let next = seq[11].1; // 3
        assert_eq!(seq[11], (2, 3));
        assert_eq!(last[0], vec![1, 3]); // last_task: picks before prev=2, most recent first
        assert_eq!(last[2][0], next); // markov_1 learned 2 -> 3
        assert_eq!(last[4][0], next); // repeat_3
        assert!(g[0].iter().all(Vec::is_empty));
        for guesses in &g {
            for gs in guesses {
                assert!(gs.len() <= TOP);
            }
        }
    }

    #[test]
    fn most_common_ties_go_to_the_first_seen() {
        let mut c = Counts::default();
        for p in [5, 7, 7, 5, 9] {
            c.add(p);
        }
        let mut out = Vec::new();
        c.most_common(3, &mut out);
        assert_eq!(out, vec![5, 7, 9]);
    }

    #[test]
    fn recent_wakeup_ranks_the_latest_wakeup_then_runnable_then_idle() {
        let spec = Spec::compiled();
        let rw = RecentWakeup::new(&spec).unwrap();
        let w = spec.candidate_width();
        let ci = |n: &str| spec.candidate_features.iter().position(|f| f == n).unwrap();
        let mut cands = vec![0.0f32; spec.candidates * w];
        let mut set = |slot: usize, feats: &[(&str, f32)]| {
            for &(n, v) in feats {
                cands[slot * w + ci(n)] = v;
            }
        };
        set(0, &[("present", 1.0), ("is_idle", 1.0)]);
        set(1, &[("present", 1.0), ("is_prev", 1.0)]);
        set(
            2,
            &[
                ("present", 1.0),
                ("runnable", 1.0),
                ("woken_here", 1.0),
                ("preempted", 1.0),
            ],
        );
        set(
            3,
            &[
                ("present", 1.0),
                ("runnable", 1.0),
                ("woken_here", 1.0),
                ("since_woken", 0.6),
            ],
        );
        set(
            4,
            &[
                ("present", 1.0),
                ("runnable", 1.0),
                ("woken_here", 1.0),
                ("since_woken", 0.2),
            ],
        );
        set(5, &[("present", 1.0)]);
        let step = vec![0.0f32; spec.step_width()];
        let mut s = Vec::new();
        rw.scores(&step, &cands, &mut s);
        assert_eq!(s.len(), spec.candidates);
        assert_eq!(crate::rank::best(&s), 4);
        assert_eq!(crate::rank::rank_of(&s, 3), Some(1));
        assert_eq!(crate::rank::rank_of(&s, 2), Some(2)); // preempted: only runnable
        assert_eq!(crate::rank::rank_of(&s, 0), Some(3)); // then idle
        assert_eq!(s[1], NEVER); // the outgoing task
        assert_eq!(s[6], NEVER); // empty slot
        let mut step = step;
        step[spec
            .step_features
            .iter()
            .position(|f| f == "prev_idle")
            .unwrap()] = 1.0;
        rw.scores(&step, &cands, &mut s);
        assert_eq!(s[0], NEVER);
    }
}
