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
    let spec = small_spec();
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
fn waiting_tasks_come_first_longest_off_a_cpu_first() {
    let (steps, k) = run(&[
        wake(1000, 0, 1),
        sw(2000, 0, 0, "R", 1), // 1 runs
        wake(3000, 0, 2),
        wake(4000, 0, 3),
        sw(5000, 0, 1, "S", 2), // queued 2, 3 (never ran: by wake time); 1 ran, sleeps now
        sw(6000, 0, 2, "R+", 3), // queued 3; 2 running until this switch, 1 sleeping
        sw(7000, 0, 3, "S", 2), // queued 2 (preempted at 6000); 3 running, 1 sleeping
    ]);
    assert_eq!(pids(&steps[0]), vec![0, 1, -1, -1]);
    assert_eq!(steps[0].target, 1);
    let s = &steps[1];
    assert_eq!(pids(s), vec![0, 2, 3, 1], "never ran: oldest wakeup first");
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
fn more_waiting_than_slots_keeps_the_longest_off_a_cpu() {
    let (steps, k) = run(&[
        wake(1000, 0, 1),
        sw(1500, 0, 0, "R", 1),
        sw(2000, 0, 1, "R+", 0), // 1 preempted at 2000
        wake(3000, 0, 2),
        wake(4000, 0, 3),
        wake(5000, 0, 4),
        wake(5500, 0, 5), // recent cap 3: [5, 4, 3]; 2 dropped out of it, still waiting
        sw(6000, 0, 0, "R", 1),
    ]);
    let s = &steps[2];
    assert_eq!(pids(s), vec![0, 2, 3, 4], "never ran first, by wake time; 5 and 1 are cut");
    assert_eq!(s.target, -1, "the pick (1) was cut: a miss");
    assert_eq!(k.c(s, 1, "recency_rank"), 1.0, "queued but out of the recent list");
    assert_eq!(k.c(s, 3, "recency_rank"), 0.5, "4 is second in the recent list");
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
