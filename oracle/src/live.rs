//! The model fed live: scheduler events in, per-CPU LSTM state carried, rankings out. The same
//! object serves the `oracle` policy (which asks "what should CPU c run next?"), shadow mode
//! (which scores every switch the kernel made against the model's pick) and the replay
//! benchmark (a recorded trace driven through exactly this code).
//!
//! Events must arrive in non-decreasing time, as the offline encoder sorts them. A live stream
//! gathered from several CPUs can be a little out of order; [`LiveModel::observe`] stamps a
//! late event with the latest time seen (counted in `reordered`), and `--record` writes the
//! events as stamped, so a replay of the recording encodes exactly the steps the agent saw.

use anyhow::Result;
use trace::{Event, TraceMeta};

use crate::encoding::{Encoder, Step};
use crate::model::LstmState;
use crate::rank::rank_of;
use crate::baselines::RecentWakeup;
use crate::scorer::Scorer;

/// What a step the kernel took looked like to the model (shadow mode, replay).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observed {
    pub cpu: u32,
    /// Slot of the task that ran, -1 when it was not a candidate (a miss).
    pub target: i32,
    /// Rank the model gave it (0 = its top pick), None for a miss.
    pub rank: Option<usize>,
}

/// The model's answer for one CPU's next pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick {
    pub pid: i32,
    pub slot: usize,
}

/// Who ranks the candidates: the LSTM, or the `recent_wakeup` hand rule on the same encoded
/// candidates (the control: same pipeline, no network, no state).
pub enum Ranker {
    Model(Scorer),
    RecentWakeup(RecentWakeup),
}

pub struct LiveModel {
    enc: Encoder,
    /// The kernel being watched, as a trace's metadata describes it (its base slice): the
    /// encoder's spec is the model's `for_trace` this, as offline encoding of a recording is.
    host: TraceMeta,
    ranker: Ranker,
    rule_scores: Vec<f32>,
    states: Vec<Option<LstmState>>,
    step: Step,
    decision: Step,
    order: Vec<usize>,
    wanted: Vec<bool>,
    last_ts: u64,
    reordered: u64,
}

impl LiveModel {
    pub fn new(scorer: Scorer) -> Result<LiveModel> {
        let spec = scorer.spec().clone();
        LiveModel::with_ranker(spec, Ranker::Model(scorer))
    }

    /// The `recent_wakeup` rule over the encoding this binary was built with.
    pub fn recent_wakeup() -> Result<LiveModel> {
        let spec = crate::spec::Spec::compiled();
        let rule = RecentWakeup::new(&spec)?;
        LiveModel::with_ranker(spec, Ranker::RecentWakeup(rule))
    }

    fn with_ranker(spec: crate::spec::Spec, ranker: Ranker) -> Result<LiveModel> {
        Ok(LiveModel {
            enc: Encoder::new(spec.clone())?,
            host: TraceMeta::new("live"),
            step: Step::zeroed(&spec),
            decision: Step::zeroed(&spec),
            rule_scores: vec![0.0; spec.candidates],
            ranker,
            states: Vec::new(),
            order: Vec::new(),
            wanted: Vec::new(),
            last_ts: 0,
            reordered: 0,
        })
    }

    /// Encodes as this kernel's fair class is set up: `host` is the metadata the live tracer
    /// writes (`LiveEvents::meta`), whose base slice sets the EEVDF estimate's, exactly as
    /// `encode`/`eval` read a recording of the same run. Call before the first event.
    pub fn on_host(mut self, host: &TraceMeta) -> Result<LiveModel> {
        let spec = self.enc.spec().for_trace(host);
        self.enc = Encoder::new(spec)?;
        self.host = host.clone();
        Ok(self)
    }

    /// The encoding in use: the model's, with the host's base slice.
    pub fn spec(&self) -> &crate::spec::Spec {
        self.enc.spec()
    }

    /// The model, None for the hand rule.
    pub fn scorer(&self) -> Option<&Scorer> {
        match &self.ranker {
            Ranker::Model(s) => Some(s),
            Ranker::RecentWakeup(_) => None,
        }
    }

    pub fn scorer_mut(&mut self) -> Option<&mut Scorer> {
        match &mut self.ranker {
            Ranker::Model(s) => Some(s),
            Ranker::RecentWakeup(_) => None,
        }
    }

    /// Swaps in another model (SIGHUP reload). The LSTM states restart from zero, since the
    /// new network reads them differently; the encoder's view of the tasks is kept when the new
    /// model encodes the same way, else it starts afresh (it refills within a few switches).
    pub fn replace_scorer(&mut self, scorer: Scorer) -> Result<()> {
        let spec = scorer.spec().for_trace(&self.host);
        if spec != *self.enc.spec() {
            self.step = Step::zeroed(&spec);
            self.decision = Step::zeroed(&spec);
            self.rule_scores = vec![0.0; spec.candidates];
            self.enc = Encoder::new(spec)?;
        }
        self.ranker = Ranker::Model(scorer);
        self.states.clear();
        Ok(())
    }

    /// The latest event time seen: "now" on the events' clock.
    pub fn now(&self) -> u64 {
        self.last_ts
    }

    /// Events stamped with an earlier time than one already seen.
    pub fn reordered(&self) -> u64 {
        self.reordered
    }

    /// The time this event is encoded at (see the module doc); records keep this stamp.
    pub fn stamp(&mut self, ev: &mut Event) {
        if ev.ts_ns < self.last_ts {
            ev.ts_ns = self.last_ts;
            self.reordered += 1;
        } else {
            self.last_ts = ev.ts_ns;
        }
    }

    /// The CPU's LSTM state (made on first use).
    fn state_of<'a>(states: &'a mut Vec<Option<LstmState>>, scorer: &Scorer, cpu: u32) -> &'a mut LstmState {
        let i = cpu as usize;
        if states.len() <= i {
            states.resize(i + 1, None);
        }
        states[i].get_or_insert_with(|| scorer.zero_state())
    }

    /// Feeds one (stamped) event. On a switch the CPU's LSTM state steps; with `score` the
    /// model also ranks the candidates and the result says where it put the task that ran.
    pub fn observe(&mut self, ev: &Event, score: bool) -> Result<Option<Observed>> {
        let rows = match &self.ranker {
            Ranker::Model(s) => score || !s.advance_reads_step_only(),
            Ranker::RecentWakeup(_) => score,
        };
        let stepped = if rows {
            self.enc.event_into(ev, &mut self.step)
        } else {
            self.enc.event_step_into(ev, &mut self.step)
        };
        if !stepped {
            return Ok(None);
        }
        let (cpu, target) = (self.step.cpu, self.step.target);
        let rank = match &mut self.ranker {
            Ranker::Model(scorer) => {
                let state = Self::state_of(&mut self.states, scorer, cpu);
                if score {
                    let scores = scorer.run(&self.step.step, &self.step.cands, state)?;
                    rank_of(scores, target)
                } else {
                    scorer.advance(&self.step.step, &self.step.cands, state)?;
                    None
                }
            }
            Ranker::RecentWakeup(rule) if score => {
                rule.scores(&self.step.step, &self.step.cands, &mut self.rule_scores);
                rank_of(&self.rule_scores, target)
            }
            Ranker::RecentWakeup(_) => None,
        };
        Ok(Some(Observed { cpu, target, rank }))
    }

    /// The step of the last switch observed (what the LSTM state just consumed).
    pub fn last_step(&self) -> &Step {
        &self.step
    }

    /// The task running on `cpu` as the events tell it.
    pub fn current(&self, cpu: u32) -> Option<i32> {
        self.enc.current(cpu)
    }

    /// The encoded question for CPU `cpu` at `now` (see [`Encoder::decision_into`]); then
    /// [`LiveModel::rank`] answers it. Split so a caller can look at the candidates first.
    pub fn prepare(&mut self, cpu: u32, now: u64, prev_state: Option<&str>, nr_running: Option<u32>) -> &Step {
        self.enc.decision_into(cpu, now, prev_state, nr_running, &mut self.decision);
        &self.decision
    }

    /// Ranks the prepared step with the model (the CPU's state is not changed) and returns the
    /// best slot whose task `eligible` accepts; None when no candidate is eligible (then the
    /// model is not run at all).
    pub fn rank(&mut self, eligible: impl Fn(i32) -> bool) -> Result<Option<Pick>> {
        let d = &self.decision;
        self.wanted.clear();
        self.wanted.extend(d.cand_pids.iter().map(|p| p.is_some_and(&eligible)));
        if !self.wanted.contains(&true) {
            return Ok(None);
        }
        let scores = match &mut self.ranker {
            Ranker::Model(scorer) => {
                let state = Self::state_of(&mut self.states, scorer, d.cpu);
                scorer.peek(&d.step, &d.cands, state, Some(&self.wanted))?
            }
            Ranker::RecentWakeup(rule) => {
                rule.scores(&d.step, &d.cands, &mut self.rule_scores);
                &self.rule_scores
            }
        };
        let wanted = &self.wanted;
        Ok(pick_best(scores, &d.cand_pids, &mut self.order, |slot| wanted[slot]))
    }
}

/// The best-scored present slot that `eligible` accepts, ties to the lower slot (as in
/// rank.rs).
pub fn pick_best(
    scores: &[f32],
    cand_pids: &[Option<i32>],
    order: &mut Vec<usize>,
    eligible: impl Fn(usize) -> bool,
) -> Option<Pick> {
    order.clear();
    order.extend((0..scores.len()).filter(|&s| cand_pids.get(s).copied().flatten().is_some() && eligible(s)));
    let slot = order.iter().copied().reduce(|a, b| if scores[b] > scores[a] { b } else { a })?;
    Some(Pick { pid: cand_pids[slot]?, slot })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_with_slice(ns: &str) -> TraceMeta {
        TraceMeta::new("live").with(trace::meta::BASE_SLICE_KEY, ns).unwrap()
    }

    #[test]
    fn the_hosts_base_slice_sets_the_live_estimate_as_it_does_a_recording() {
        let compiled = crate::spec::Spec::compiled();
        let live = LiveModel::recent_wakeup().unwrap().on_host(&host_with_slice("1400000")).unwrap();
        assert_eq!(live.enc.spec().eevdf_slice_ns, 1_400_000);
        assert_eq!(*live.enc.spec(), compiled.for_trace(&host_with_slice("1400000")));
        // A host that does not show its slice (debugfs unreadable) keeps the model's default.
        let live = LiveModel::recent_wakeup().unwrap().on_host(&TraceMeta::new("live")).unwrap();
        assert_eq!(live.enc.spec().eevdf_slice_ns, compiled.eevdf_slice_ns);
        assert_eq!(live.enc.spec().eevdf_kernel_count, 1);
        // `scx_oracle run` names its policy as the scheduler: the kernel's run-queue counts are
        // sched_ext's then, with no delayed sleepers, and the estimate does not read them.
        let ours = host_with_slice("1400000").with(trace::meta::SCHEDULER_KEY, "scx_oracle-oracle").unwrap();
        let live = LiveModel::recent_wakeup().unwrap().on_host(&ours).unwrap();
        assert_eq!(live.enc.spec().eevdf_kernel_count, 0);
    }

    #[test]
    fn a_reloaded_model_keeps_the_hosts_base_slice() {
        let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/artifacts/oracle.onnx");
        let load = || Scorer::load(&model, crate::Backend::Native).unwrap();
        let mut live = LiveModel::new(load()).unwrap().on_host(&host_with_slice("2100000")).unwrap();
        assert_eq!(live.enc.spec().eevdf_slice_ns, 2_100_000);
        live.replace_scorer(load()).unwrap();
        assert_eq!(live.enc.spec().eevdf_slice_ns, 2_100_000);
    }

    #[test]
    fn best_eligible_slot_wins_ties_to_the_lower_slot() {
        let scores = [5.0, 2.0, 7.0, 7.0, -1e9];
        let pids = [Some(0), Some(11), Some(12), Some(13), None];
        let mut order = Vec::new();
        let p = pick_best(&scores, &pids, &mut order, |_| true).unwrap();
        assert_eq!((p.pid, p.slot), (12, 2));
        // Idle (slot 0) and 12 (slot 2) are not eligible: 13 is next.
        let p = pick_best(&scores, &pids, &mut order, |slot| slot != 2 && slot != 0).unwrap();
        assert_eq!((p.pid, p.slot), (13, 3));
        assert!(pick_best(&scores, &pids, &mut order, |_| false).is_none());
    }
}
