//! Encoder behaviour on small hand-made event lists (the Python round-trip test covers real
//! traces; these pin the rules themselves).

use trace::{Event, ShortStr, Task as T};

use super::encoding::{Encoder, Step};
use super::spec::Spec;

/// 4 slots (idle + 3) and a 3-task recency list keep the cases small.
fn small_spec() -> Spec {
    let mut s = Spec::compiled();
    s.candidates = 4;
    s.recent_per_cpu = 3;
    s
}

fn task(pid: i32) -> T {
    T::new(
        pid,
        pid,
        if pid == 0 { b"swapper/0" } else { b"worker" },
        120,
    )
}

fn sw(ts: u64, cpu: u32, prev: i32, state: &str, next: i32) -> Event {
    Event::switch(ts, cpu, task(prev), Some(ShortStr::from(state)), task(next))
}

fn wake(ts: u64, cpu: u32, pid: i32) -> Event {
    Event::wakeup(ts, cpu, task(pid), Some(cpu))
}

struct Cols {
    spec: Spec,
}

impl Cols {
    fn c(&self, step: &Step, slot: usize, name: &str) -> f32 {
        let i = self
            .spec
            .candidate_features
            .iter()
            .position(|n| n == name)
            .unwrap();
        step.cands[slot * self.spec.candidate_width() + i]
    }
    fn s(&self, step: &Step, name: &str) -> f32 {
        let i = self
            .spec
            .step_features
            .iter()
            .position(|n| n == name)
            .unwrap();
        step.step[i]
    }
}

fn run(events: &[Event]) -> (Vec<Step>, Cols) {
    run_with(small_spec(), events)
}

fn run_with(spec: Spec, events: &[Event]) -> (Vec<Step>, Cols) {
    let mut enc = Encoder::new(spec.clone()).unwrap();
    let steps = events.iter().filter_map(|e| enc.event(e)).collect();
    (steps, Cols { spec })
}

fn pids(step: &Step) -> Vec<i32> {
    step.cand_pids.iter().map(|p| p.unwrap_or(-1)).collect()
}

#[test]
fn first_switch_has_only_the_idle_slot_and_misses_an_unknown_task() {
    let (steps, k) = run(&[Event::switch(1000, 0, task(0), None, task(5))]);
    let s = &steps[0];
    assert_eq!(pids(s), vec![0, -1, -1, -1]);
    assert_eq!(s.target, -1);
    assert_eq!(k.c(s, 0, "present"), 1.0);
    assert_eq!(k.c(s, 0, "is_idle"), 1.0);
    assert_eq!(k.c(s, 0, "since_ran"), 1.0, "unknown time is 1");
    assert_eq!(k.c(s, 1, "present"), 0.0);
    assert_eq!(k.s(s, "prev_idle"), 1.0);
    assert_eq!(k.s(s, "prev_state_other"), 1.0, "no prev_state");
    assert_eq!(k.s(s, "since_last_switch"), 1.0);
}

#[test]
fn waiting_tasks_come_first_in_eevdf_order() {
    let (steps, k) = run(&[
        wake(1000, 0, 1),
        sw(2000, 0, 0, "R", 1), // 1 runs
        wake(3000, 0, 2),
        wake(4000, 0, 3),
        sw(5000, 0, 1, "S", 2), // queued 2, 3 (eligible; 2 placed first: earlier deadline); 1 sleeps
        sw(6000, 0, 2, "R+", 3), // queued 3; 2 running until this switch, 1 sleeping
        sw(7000, 0, 3, "S", 2), // queued 2 (preempted at 6000); 3 running, 1 sleeping
    ]);
    assert_eq!(pids(&steps[0]), vec![0, 1, -1, -1]);
    assert_eq!(steps[0].target, 1);
    let s = &steps[1];
    assert_eq!(pids(s), vec![0, 2, 3, 1], "EEVDF order: earliest deadline first");
    assert_eq!(s.target, 1);
    assert_eq!(k.c(s, 3, "is_prev"), 1.0);
    assert_eq!(k.c(s, 1, "woken_here"), 1.0);
    // 3 was woken after 2: 2 has one later wakeup among the woken-here candidates.
    assert_eq!(k.c(s, 1, "wake_order"), (1.0f64 / 3.0) as f32);
    assert_eq!(k.c(s, 2, "wake_order"), 0.0);
    assert_eq!(k.s(s, "runnable_candidates"), (2.0f64 / 3.0) as f32);
    let s = &steps[2];
    assert_eq!(
        pids(s),
        vec![0, 3, 2, 1],
        "waiting 3, then running 2 and sleeping 1 by recency"
    );
    assert_eq!(s.target, 1);
    assert_eq!(k.s(s, "prev_state_runnable"), 1.0);
    let s = &steps[3];
    assert_eq!(pids(s), vec![0, 2, 3, 1], "preempted 2 waits, so first");
    assert_eq!(s.target, 1);
    assert_eq!(k.c(s, 1, "preempted"), 1.0);
    assert_eq!(k.c(s, 2, "preempted"), 0.0);
    assert_eq!(
        k.c(s, 3, "recency_rank"),
        1.0,
        "1 is last of 3: rank 2 / (3 - 1)"
    );
    assert_eq!(k.s(s, "prev_state_sleep"), 1.0);
    // the previous switch picked slot 1
    let one_hot = k.spec.step_features.len() - 1;
    assert_eq!(s.step[one_hot + 1], 1.0);
    assert_eq!(s.step[one_hot..].iter().sum::<f32>(), 1.0);
}

#[test]
fn more_waiting_than_slots_keeps_the_ones_eevdf_serves_first() {
    let (steps, k) = run(&[
        wake(1000, 0, 1),
        sw(1500, 0, 0, "R", 1),
        sw(2000, 0, 1, "R+", 0), // 1 preempted at 2000: virtual 500, a new full slice
        wake(3000, 0, 2),        // placed at the average (500), a full slice: deadline as 1's
        wake(4000, 0, 3),
        Event::wakeup_new(5000, 0, task(4), Some(0)), // new: half a slice, earlier deadlines
        Event::wakeup_new(5500, 0, task(5), Some(0)), // recent cap 3: [5, 4, 3]
        sw(6000, 0, 0, "R", 1),
    ]);
    let s = &steps[2];
    assert_eq!(
        pids(s),
        vec![0, 4, 5, 1],
        "all eligible: earliest deadline first, then pid; 2 and 3 are cut"
    );
    assert_eq!(s.target, 3);
    assert_eq!(k.c(s, 1, "recency_rank"), 0.5, "4 is second in the recent list");
    assert_eq!(k.c(s, 3, "recency_rank"), 1.0, "queued but out of the recent list");
    assert_eq!(k.c(s, 3, "eevdf_rank"), (2.0f64 / 3.0) as f32);
    assert_eq!(k.c(s, 1, "eevdf_deadline"), (750_000.0f64 / 1_500_000.0 / 3.0) as f32);
}

#[test]
fn dead_tasks_leave_at_their_last_switch_and_migrations_arrive() {
    let (steps, _) = run(&[
        wake(1000, 0, 2),
        wake(2000, 0, 3),
        sw(3000, 0, 0, "R", 3),
        Event::exit(3500, 0, task(3)), // still runs its exit path
        sw(4000, 0, 3, "R+", 2),       // preempted while exiting: waits again
        sw(5000, 0, 2, "S", 3),
        sw(6000, 0, 3, "X", 0), // dead
        wake(6500, 0, 2),
        Event::migrate(7000, 0, task(2), 1),
        sw(8000, 0, 0, "R", 0),
        sw(9000, 1, 0, "R", 2),
    ]);
    assert_eq!(pids(&steps[2]), vec![0, 3, 2, -1], "an exiting task can wait and run again");
    assert_eq!(steps[2].target, 1);
    assert_eq!(pids(&steps[3]), vec![0, 3, 2, -1], "3 is still running at its last switch");
    assert_eq!(steps[3].target, 0, "idle is slot 0");
    assert_eq!(steps[4].cpu, 0);
    assert_eq!(
        pids(&steps[4]),
        vec![0, 2, -1, -1],
        "3 is gone after its X switch-out; 2 waits on CPU 1 now"
    );
    assert_eq!(steps[4].target, 0);
    assert_eq!(steps[5].cpu, 1);
    assert_eq!(pids(&steps[5]), vec![0, 2, -1, -1], "2 migrated to CPU 1");
    assert_eq!(steps[5].target, 1);
    assert_eq!(steps.len(), 6, "exit and migrate make no step");
}

#[test]
fn woken_here_follows_a_migration() {
    let (steps, k) = run(&[
        wake(1000, 0, 7),
        Event::migrate(1500, 0, task(7), 1),
        sw(2000, 1, 0, "R", 7),
    ]);
    let s = &steps[0];
    assert_eq!(pids(s), vec![0, 7, -1, -1]);
    assert_eq!(k.c(s, 1, "woken_here"), 1.0);
    assert_eq!(k.c(s, 1, "last_cpu_here"), 0.0);
}

#[test]
fn unknown_features_are_refused() {
    let mut spec = small_spec();
    spec.candidate_features.push("future_feature".into());
    let e = Encoder::new(spec).err().unwrap().to_string();
    assert!(e.contains("future_feature"), "{e}");
}

#[test]
fn waiting_tasks_follow_the_eevdf_estimate_and_carry_its_features() {
    // 2 runs 1000..11000 (virtual 10000), 1 (woken at 2000, placed at the average 1000) runs
    // 11000..12000 (to 2000), both preempted. At 13000 both wait; 2 has been off a CPU longer,
    // but EEVDF's average is 6000 and only 1 is eligible: 1 comes first.
    let (steps, k) = run(&[
        wake(1000, 0, 2),
        sw(1000, 0, 0, "R", 2),
        wake(2000, 0, 1),
        sw(11000, 0, 2, "R", 1),
        sw(12000, 0, 1, "R", 0),
        sw(13000, 0, 0, "R", 1),
        sw(25000, 0, 1, "S", 0), // 1 ran to 14000 > average 12000: asleep but queued, delayed
        sw(26000, 0, 0, "R", 2),
    ]);
    let slice = 1_500_000.0f64;
    let clip = |x: f64| (x.clamp(-3.0, 3.0) / 3.0) as f32;
    let s = &steps[3];
    assert_eq!(pids(s), vec![0, 1, 2, -1], "the eligible one first");
    assert_eq!(k.c(s, 1, "eevdf_eligible"), 1.0);
    assert_eq!(k.c(s, 1, "eevdf_lag"), clip(4000.0 / slice));
    assert_eq!(k.c(s, 1, "eevdf_deadline"), clip((1_502_000.0 - 6000.0) / slice));
    assert_eq!(k.c(s, 1, "eevdf_rank"), 0.0);
    assert_eq!(k.c(s, 2, "eevdf_eligible"), 0.0);
    assert_eq!(k.c(s, 2, "eevdf_lag"), clip(-4000.0 / slice));
    // 2 keeps its deadline (a slice after its placement at v 0): preempted by 1, woken since
    // 2 switched in, 10 us into its slice
    assert_eq!(k.c(s, 2, "eevdf_deadline"), clip((1_500_000.0 - 6000.0) / slice));
    assert_eq!(k.c(s, 2, "eevdf_rank"), (1.0f64 / 3.0) as f32);
    let s = &steps[5];
    assert_eq!(pids(s), vec![0, 2, 1, -1], "1 sleeps: after the waiting 2");
    assert_eq!(k.c(s, 2, "eevdf_delayed"), 1.0);
    assert_eq!(k.c(s, 2, "eevdf_eligible"), 0.0);
    assert_eq!(k.c(s, 2, "eevdf_rank"), 1.0, "not in the order");
    assert_eq!(k.c(s, 2, "eevdf_lag"), clip(-2000.0 / slice));
    assert_eq!(k.c(s, 1, "eevdf_delayed"), 0.0);
    assert_eq!(k.c(s, 1, "eevdf_eligible"), 1.0);
    assert_eq!(k.c(s, 1, "eevdf_rank"), 0.0);
}

#[test]
fn the_step_only_path_and_the_live_question_agree_with_the_full_encoding() {
    let events = [
        wake(1000, 0, 2),
        sw(1000, 0, 0, "R", 2),
        wake(2000, 0, 1),
        sw(11000, 0, 2, "R", 1),
        sw(12000, 0, 1, "R", 0),
        wake(12500, 0, 3),
        sw(13000, 0, 0, "R", 1),
    ];
    let spec = small_spec();
    let (mut full, mut lean) = (Encoder::new(spec.clone()).unwrap(), Encoder::new(spec.clone()).unwrap());
    let (mut a, mut b, mut asked) = (Step::zeroed(&spec), Step::zeroed(&spec), Step::zeroed(&spec));
    for ev in &events {
        if ev.kind == trace::EventKind::Switch {
            // asked before the switch arrives: the same rows, and nothing changes
            full.decision_into(0, ev.ts_ns, Some("R"), None, &mut asked);
            full.decision_into(0, ev.ts_ns, Some("R"), None, &mut asked);
        }
        let got = full.event_into(ev, &mut a);
        assert_eq!(got, lean.event_step_into(ev, &mut b));
        if got {
            assert_eq!((&a.cand_pids, &a.step, a.target), (&b.cand_pids, &b.step, b.target));
            assert_eq!((&asked.cand_pids, &asked.cands), (&a.cand_pids, &a.cands));
        }
    }
}

/// The estimate is trusted on a CPU only while its picks agree with it: here the kernel keeps
/// picking task 1, which has run 10 ms more than task 2 and so is never eligible in the
/// estimate. After the 7th such pick (eevdf_trust_max_misses is 6) the step says so and the
/// candidates' eevdf_* features are blank. The passed-over correction is off: with it, each
/// pick of 1 moves 2 (eligible, earlier deadline) and 1 towards agreement, and the estimate
/// keeps the CPU's trust (checked last).
#[test]
fn the_estimate_is_dropped_where_the_picks_disagree_with_it() {
    let mut events = vec![wake(0, 0, 1), wake(0, 0, 2), sw(0, 0, 0, "R", 1)];
    events.push(sw(10_000_000, 0, 1, "R", 2)); // 2 is eligible: agrees
    let mut t = 10_000_000;
    for _ in 0..8 {
        t += 100_000;
        events.push(sw(t, 0, 2, "R", 1)); // 1 is not: a miss
        t += 100_000;
        events.push(sw(t, 0, 1, "R", 2));
    }
    let spec = Spec { eevdf_passed_over_max: 0, ..small_spec() };
    let (steps, cols) = run_with(spec, &events);
    assert_eq!(cols.spec.eevdf_trust_max_misses, 6);
    assert_eq!(steps.len(), 18);
    // step 2m picks 1 for the m-th time, so (i - 1) / 2 misses come before step i
    for (i, st) in steps.iter().enumerate() {
        let misses_before = i.saturating_sub(1) / 2;
        let want = if misses_before <= 6 { 1.0 } else { 0.0 };
        assert_eq!(cols.s(st, "eevdf_trusted"), want, "step {i}");
    }
    let ranked = |st: &Step| {
        (1..4)
            .filter(|&slot| cols.c(st, slot, "present") > 0.0 && cols.c(st, slot, "eevdf_rank") < 1.0)
            .count()
    };
    assert_eq!(ranked(&steps[14]), 2, "trusted: both queued tasks ranked");
    let last = steps.last().unwrap();
    assert_eq!(ranked(last), 0, "untrusted: no ranks");
    for slot in 1..4 {
        assert_eq!(cols.c(last, slot, "eevdf_eligible"), 0.0);
        assert_eq!(cols.c(last, slot, "eevdf_lag"), 0.0);
        assert_eq!(cols.c(last, slot, "eevdf_deadline"), 0.0);
    }
    let (steps, cols) = run(&events);
    assert!(cols.spec.eevdf_passed_over_max > 0);
    assert!(steps.iter().all(|st| cols.s(st, "eevdf_trusted") == 1.0), "corrected: trusted");
}

/// The stale-task rule with short limits: 1 ms after an idle pick, 5 ms in all.
fn stale_spec() -> Spec {
    Spec { stale_after_idle_ns: 1_000_000, stale_after_ns: 5_000_000, ..small_spec() }
}

/// Whether `pid` is a runnable candidate of `step`.
fn waiting(cols: &Cols, step: &Step, pid: i32) -> bool {
    pids(step)
        .iter()
        .position(|&p| p == pid)
        .is_some_and(|slot| cols.c(step, slot, "runnable") == 1.0)
}

#[test]
fn a_task_never_seen_again_leaves_the_queue_after_an_idle_pick() {
    // 9 is woken on CPU 0 and never runs (its later events are missing); 1 and 2 take turns
    // with idle.
    let mut events = vec![wake(0, 0, 9), wake(0, 0, 1), sw(100_000, 0, 0, "R", 1)];
    events.push(sw(400_000, 0, 1, "S", 0)); // idle picked while 9 "waits": the kernel would not
    let mut t = 400_000;
    for _ in 0..6 {
        t += 300_000;
        events.push(wake(t, 0, 2));
        events.push(sw(t + 1, 0, 0, "R", 2));
        t += 300_000;
        events.push(sw(t, 0, 2, "S", 0));
    }
    let (steps, cols) = run_with(stale_spec(), &events);
    let at = |ts: u64| steps.iter().find(|s| s.ts >= ts).unwrap();
    assert!(waiting(&cols, at(700_000), 9), "0.7 ms: still waiting");
    assert!(waiting(&cols, at(1_300_000), 9), "checked after each switch: seen until the next one");
    assert!(!waiting(&cols, at(1_400_000), 9), "over 1 ms with idle picked since: taken out");
    assert!(!waiting(&cols, steps.last().unwrap(), 9));
    // The same events under the default limits (1 s, 2 s): it stays.
    let (steps, cols) = run(&events);
    assert!(waiting(&cols, steps.last().unwrap(), 9));
}

#[test]
fn a_busy_cpu_keeps_a_waiting_task_until_the_overall_limit() {
    // CPU 0 never picks idle: 1 and 2 preempt each other while 9 waits (it is never picked).
    let mut events = vec![wake(0, 0, 9), wake(0, 0, 1), wake(0, 0, 2), sw(100_000, 0, 0, "R", 1)];
    let mut t = 100_000;
    let mut prev = 1;
    while t < 7_000_000 {
        t += 500_000;
        let next = 3 - prev;
        events.push(sw(t, 0, prev, "R", next));
        prev = next;
    }
    let (steps, cols) = run_with(stale_spec(), &events);
    let at = |ts: u64| steps.iter().find(|s| s.ts >= ts).unwrap();
    assert!(waiting(&cols, at(4_600_000), 9), "no idle pick: the 1 ms limit does not apply");
    assert!(!waiting(&cols, at(5_200_000), 9), "over 5 ms in all: taken out");
    // 1 and 2 wait in turn, never that long: each pick is a waiting task.
    assert!(steps.iter().all(|s| waiting(&cols, s, s.next_pid)));
}

#[test]
fn a_task_taken_out_and_woken_again_waits_again() {
    let events = vec![
        wake(0, 0, 9),
        wake(0, 0, 1),
        sw(100_000, 0, 0, "R", 1),
        sw(200_000, 0, 1, "S", 0), // idle picked while 9 "waits"
        wake(1_500_000, 0, 1),
        sw(1_500_001, 0, 0, "R", 1), // checked after this switch: 1.5 ms, taken out
        sw(1_600_000, 0, 1, "S", 0),
        wake(1_700_000, 0, 9),
        sw(1_800_000, 0, 0, "R", 9),
    ];
    let (steps, cols) = run_with(stale_spec(), &events);
    assert!(waiting(&cols, &steps[2], 9), "the rule is checked after a switch, not before");
    assert!(!waiting(&cols, &steps[3], 9));
    assert!(waiting(&cols, &steps[4], 9), "woken again: waits again");
    assert!(steps[4].target > 0);
}
