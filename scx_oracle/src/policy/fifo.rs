//! First come, first served: the reference point any smarter policy must beat. Slices follow
//! the task's weight (weighted round robin), so nice keeps its meaning under FIFO order.
use std::collections::VecDeque;

use super::vruntime::weighted_slice;
use super::Policy;
use crate::task::{Decision, QueuedTask, Target};

pub struct Fifo {
    queue: VecDeque<QueuedTask>,
    slice_ns: u64,
    /// Monotonic sequence number used as the DSQ ordering key, so the
    /// kernel-side queue keeps arrival order.
    seq: u64,
}

impl Fifo {
    pub fn new(slice_ns: u64) -> Self {
        Fifo { queue: VecDeque::with_capacity(8192), slice_ns, seq: 0 }
    }
}

impl Policy for Fifo {
    fn name(&self) -> &'static str {
        "fifo"
    }

    fn enqueue(&mut self, task: QueuedTask) {
        self.queue.push_back(task);
    }

    fn pick(&mut self) -> Option<Decision> {
        let task = self.queue.pop_front()?;
        self.seq += 1;
        let target = task.pinned_cpu().map_or(Target::AnyCpu, Target::Cpu);
        Some(Decision::for_task(&task, target, weighted_slice(self.slice_ns, task.weight), self.seq))
    }

    fn pending(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::test_task;

    #[test]
    fn keeps_arrival_order_with_increasing_keys() {
        let mut p = Fifo::new(5_000_000);
        for pid in [30, 10, 20] {
            p.enqueue(test_task(pid));
        }
        assert_eq!(p.pending(), 3);
        let picked: Vec<_> = std::iter::from_fn(|| p.pick()).collect();
        assert_eq!(picked.iter().map(|d| d.pid).collect::<Vec<_>>(), vec![30, 10, 20]);
        assert!(picked.windows(2).all(|w| w[0].key < w[1].key));
        assert!(picked.iter().all(|d| d.target == Target::AnyCpu && d.slice_ns == 5_000_000));
        assert_eq!(p.pending(), 0);
    }

    #[test]
    fn pinned_task_goes_to_its_cpu_and_echoes_gen() {
        let mut p = Fifo::new(1);
        let mut t = test_task(7);
        t.nr_cpus_allowed = 1;
        t.cpu = 1;
        t.gen = 42;
        t.enq_ts = 99;
        p.enqueue(t);
        let d = p.pick().unwrap();
        assert_eq!((d.target, d.gen, d.enq_ts), (Target::Cpu(1), 42, 99));
    }

    #[test]
    fn slices_follow_the_weight() {
        let mut p = Fifo::new(6_000_000);
        for (pid, weight) in [(1, 100), (2, 32)] {
            let mut t = test_task(pid);
            t.weight = weight;
            p.enqueue(t);
        }
        let (a, b) = (p.pick().unwrap(), p.pick().unwrap());
        // nice 0 vs nice 5 taking turns: 6 ms vs 1.92 ms, the 3:1 share of their weights.
        assert_eq!((a.slice_ns, b.slice_ns), (6_000_000, 1_920_000));
    }
}
