//! First come, first served: the reference point any smarter policy must beat.
use std::collections::VecDeque;

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
        Some(Decision::for_task(&task, target, self.slice_ns, self.seq))
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
}
