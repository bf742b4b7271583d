//! Weighted virtual runtime, the idea behind CFS: a task's clock advances by
//! its CPU time scaled by 100/weight, and the smallest clock runs first.
//! Sleepers are clamped to one slice behind the current minimum so a long
//! sleep does not buy an unbounded burst.
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::Policy;
use crate::task::{Decision, QueuedTask, Target};

/// Per-task state kept between enqueues.
struct TaskClock {
    vruntime: u64,
    /// sum_runtime at the last enqueue, to charge only new CPU time.
    seen_runtime: u64,
    last_seen_ts: u64,
}

pub struct Vruntime {
    heap: BinaryHeap<Reverse<(u64, u64, QueuedTaskKey)>>,
    clocks: TaskClocks,
    seq: u64,
}

/// The per-task clocks alone, for any policy that wants "who has run least" (the oracle
/// policy's fallback orders its waiting tasks with them).
pub struct TaskClocks {
    tasks: HashMap<i32, TaskClock>,
    pub min_vruntime: u64,
    slice_ns: u64,
    nr_cpus: u64,
    enqueues: u64,
}

/// Heap payload; ordering falls back to arrival sequence for equal clocks.
#[derive(PartialEq, Eq)]
struct QueuedTaskKey(Box<QueuedTask>);
impl PartialOrd for QueuedTaskKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for QueuedTaskKey {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

/// No slice shorter than this, whatever the weight: a switch costs too much below it.
const MIN_SLICE_NS: u64 = 200_000;

/// CFS's timeslice: `base` at nice 0 (sched_ext weight 100), in proportion to the weight,
/// between MIN_SLICE_NS and 4 × base. Two tasks taking turns on one CPU then share it by
/// their weights whatever order a policy runs them in (BPF ends each slice on time).
pub fn weighted_slice(base: u64, weight: u64) -> u64 {
    let weighted = base.saturating_mul(weight.max(1)) / 100;
    weighted.clamp(MIN_SLICE_NS, base.saturating_mul(4).max(MIN_SLICE_NS))
}

/// Forget tasks not seen for this long (they exited or sleep forever).
const FORGET_AFTER_NS: u64 = 10_000_000_000;
const PRUNE_EVERY: u64 = 4096;

impl TaskClocks {
    pub fn new(slice_ns: u64, nr_cpus: usize) -> Self {
        TaskClocks {
            tasks: HashMap::with_capacity(4096),
            min_vruntime: 0,
            slice_ns,
            nr_cpus: nr_cpus.max(1) as u64,
            enqueues: 0,
        }
    }

    /// Charges the CPU time `task` used since its last enqueue; returns its virtual runtime.
    pub fn charge(&mut self, task: &QueuedTask) -> u64 {
        self.enqueues += 1;
        if self.enqueues.is_multiple_of(PRUNE_EVERY) {
            let now = task.enq_ts;
            self.tasks.retain(|_, c| now.saturating_sub(c.last_seen_ts) < FORGET_AFTER_NS);
        }
        let weight = task.weight.max(1);
        let floor = self.min_vruntime.saturating_sub(self.slice_ns);
        let clock = self.tasks.entry(task.pid).or_insert(TaskClock {
            vruntime: floor,
            seen_runtime: task.sum_runtime,
            last_seen_ts: task.enq_ts,
        });
        let ran = task.sum_runtime.saturating_sub(clock.seen_runtime);
        clock.vruntime = clock.vruntime.saturating_add(ran.saturating_mul(100) / weight).max(floor);
        clock.seen_runtime = task.sum_runtime;
        clock.last_seen_ts = task.enq_ts;
        clock.vruntime
    }

    /// A task with this clock was dispatched.
    pub fn ran(&mut self, vruntime: u64) {
        self.min_vruntime = self.min_vruntime.max(vruntime);
    }

    /// Shorter slices when many tasks wait, so each gets a turn sooner; and in proportion to
    /// the task's weight (CFS's timeslice), because ordering by weighted clocks alone cannot
    /// express nice when two tasks take turns on one CPU: the one waiting always goes next,
    /// whatever its weight (measured: nice 0 vs nice 5 hogs shared a CPU 1:1, not 3:1).
    pub fn slice_for(&self, waiting: usize, weight: u64) -> u64 {
        let per_cpu = (waiting as u64).div_ceil(self.nr_cpus).max(1);
        let base = (self.slice_ns / per_cpu).max(self.slice_ns / 8).max(250_000);
        weighted_slice(base, weight)
    }
}

impl Vruntime {
    pub fn new(slice_ns: u64, nr_cpus: usize) -> Self {
        Vruntime {
            heap: BinaryHeap::with_capacity(8192),
            clocks: TaskClocks::new(slice_ns, nr_cpus),
            seq: 0,
        }
    }
}

impl Policy for Vruntime {
    fn name(&self) -> &'static str {
        "vruntime"
    }

    fn enqueue(&mut self, task: QueuedTask) {
        let vr = self.clocks.charge(&task);
        self.seq += 1;
        self.heap.push(Reverse((vr, self.seq, QueuedTaskKey(Box::new(task)))));
    }

    fn pick(&mut self) -> Option<Decision> {
        let waiting = self.heap.len();
        let Reverse((vr, _, QueuedTaskKey(task))) = self.heap.pop()?;
        let slice = self.clocks.slice_for(waiting, task.weight);
        self.clocks.ran(vr);
        let target = task.pinned_cpu().map_or(Target::AnyCpu, Target::Cpu);
        Some(Decision::for_task(&task, target, slice, vr))
    }

    fn pending(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::test_task;

    fn run(p: &mut Vruntime, pid: i32, sum_runtime: u64, weight: u64) -> Decision {
        let mut t = test_task(pid);
        t.sum_runtime = sum_runtime;
        t.weight = weight;
        p.enqueue(t);
        p.pick().unwrap()
    }

    #[test]
    fn task_that_ran_less_goes_first() {
        let mut p = Vruntime::new(4_000_000, 2);
        // Both first seen at runtime 0, then the hog runs 10 ms, the other 1 ms.
        run(&mut p, 1, 0, 100);
        run(&mut p, 2, 0, 100);
        let mut hog = test_task(1);
        hog.sum_runtime = 10_000_000;
        let mut light = test_task(2);
        light.sum_runtime = 1_000_000;
        p.enqueue(hog);
        p.enqueue(light);
        assert_eq!(p.pick().unwrap().pid, 2);
        assert_eq!(p.pick().unwrap().pid, 1);
    }

    #[test]
    fn heavier_weight_is_charged_less() {
        let mut p = Vruntime::new(4_000_000, 1);
        run(&mut p, 1, 0, 100);
        run(&mut p, 2, 0, 200);
        let a = run(&mut p, 1, 8_000_000, 100);
        let b = run(&mut p, 2, 8_000_000, 200);
        // Same CPU time; weight 200 advances half as fast as weight 100.
        assert!(b.key < a.key, "weight 200 key {} not below weight 100 key {}", b.key, a.key);
    }

    #[test]
    fn sleeper_credit_is_bounded_by_one_slice() {
        let slice = 4_000_000;
        let mut p = Vruntime::new(slice, 1);
        run(&mut p, 1, 0, 100); // runs once, then sleeps
        for i in 1..=20 {
            run(&mut p, 2, i * slice, 100); // meanwhile the other task runs 76 ms
        }
        let min = p.clocks.min_vruntime;
        assert_eq!(min, 19 * slice);
        // Its clock is still 0: unclamped, it would run ~19 slices before task 2 got a turn.
        let woke = run(&mut p, 1, 0, 100);
        assert_eq!(woke.key, min - slice, "a sleeper wakes one slice behind the minimum");
    }

    #[test]
    fn newcomer_starts_one_slice_behind() {
        let mut p = Vruntime::new(4_000_000, 1);
        for i in 1..=20 {
            run(&mut p, 1, i * 4_000_000, 100);
        }
        let min = p.clocks.min_vruntime;
        let newcomer = run(&mut p, 9, 0, 100);
        assert_eq!(newcomer.key, min - 4_000_000);
    }

    #[test]
    fn slices_shrink_under_load_but_not_below_floor() {
        let p = TaskClocks::new(8_000_000, 2);
        assert_eq!(p.slice_for(1, 100), 8_000_000);
        assert_eq!(p.slice_for(4, 100), 4_000_000);
        assert_eq!(p.slice_for(1000, 100), 1_000_000);
    }

    #[test]
    fn slices_follow_the_weight_within_bounds() {
        let p = TaskClocks::new(6_000_000, 1);
        // nice 5 (sched_ext weight 32) gets about a third of a nice-0 slice: the 3:1 share.
        assert_eq!(p.slice_for(1, 32), 1_920_000);
        assert_eq!(p.slice_for(1, 100), 6_000_000);
        assert_eq!(p.slice_for(1, 10_000), 24_000_000, "at most 4 slices");
        assert_eq!(p.slice_for(1, 1), MIN_SLICE_NS);
    }
}
