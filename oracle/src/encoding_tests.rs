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
fn runnable_tasks_come_first_each_group_most_recent_first() {
    let (steps, k) = run(&[
        wake(1000, 0, 1),
        sw(2000, 0, 0, "R", 1), // 1 runs
        wake(3000, 0, 2),
        wake(4000, 0, 3),
        sw(5000, 0, 1, "S", 2), // recent [3, 2, 1]; 1 running, 2 and 3 runnable
        sw(6000, 0, 2, "R+", 3), // recent [2, 1, 3]; 2 still running until this switch
        sw(7000, 0, 3, "S", 2), // recent [3, 2, 1]; 2 preempted, 1 sleeps, 3 running
    ]);
    assert_eq!(pids(&steps[0]), vec![0, 1, -1, -1]);
    assert_eq!(steps[0].target, 1);
    let s = &steps[1];
    assert_eq!(pids(s), vec![0, 3, 2, 1]);
    assert_eq!(s.target, 2);
    assert_eq!(k.c(s, 3, "is_prev"), 1.0);
    assert_eq!(k.c(s, 1, "woken_here"), 1.0);
    // 3 was woken after 2: 2 has one later wakeup among the woken-here candidates.
    assert_eq!(k.c(s, 2, "wake_order"), (1.0f64 / 3.0) as f32);
    assert_eq!(k.c(s, 1, "wake_order"), 0.0);
    assert_eq!(k.s(s, "runnable_candidates"), (2.0f64 / 3.0) as f32);
    let s = &steps[2];
    assert_eq!(
        pids(s),
        vec![0, 3, 2, 1],
        "runnable 3, then running 2 and sleeping 1"
    );
    assert_eq!(s.target, 1);
    assert_eq!(k.s(s, "prev_state_runnable"), 1.0);
    let s = &steps[3];
    assert_eq!(
        pids(s),
        vec![0, 2, 3, 1],
        "preempted 2 is runnable, so first"
    );
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
fn recency_is_capped_exits_leave_and_migrations_arrive() {
    let (steps, _) = run(&[
        wake(1000, 0, 1),
        wake(2000, 0, 2),
        wake(3000, 0, 3),
        wake(4000, 0, 4), // cap 3: 1 drops out
        sw(5000, 0, 0, "R", 4),
        Event::exit(6000, 0, task(3)),
        Event::migrate(7000, 0, task(2), 1),
        sw(8000, 0, 4, "S", 0),
        sw(9000, 1, 0, "R", 2),
    ]);
    assert_eq!(pids(&steps[0]), vec![0, 4, 3, 2]);
    assert_eq!(steps[0].target, 1);
    assert_eq!(
        pids(&steps[1]),
        vec![0, 2, 4, -1],
        "3 exited, runnable 2 before 4"
    );
    assert_eq!(steps[1].target, 0, "idle is slot 0");
    assert_eq!(steps[2].cpu, 1);
    assert_eq!(pids(&steps[2]), vec![0, 2, -1, -1], "2 migrated to CPU 1");
    assert_eq!(steps[2].target, 1);
    assert_eq!(steps.len(), 3, "exit and migrate make no step");
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
