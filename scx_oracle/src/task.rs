//! What the agent knows about a runnable task, and what it decides for it.
//! Plain Rust types: policies never see the wire structs or the rings.

/// A task the kernel handed to the agent (decoded `struct oracle_queued_task`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedTask {
    pub pid: i32,
    pub tgid: i32,
    /// CPU suggested by the kernel's select_cpu, or the task's last CPU.
    pub cpu: i32,
    pub nr_cpus_allowed: i32,
    pub enq_flags: u64,
    pub wake_flags: u64,
    /// Kernel clock (ns) when the task was enqueued.
    pub enq_ts: u64,
    /// Kernel clock (ns) when the task last stopped running; 0 if never.
    pub last_ran_ts: u64,
    /// ns run since the task last slept.
    pub exec_runtime: u64,
    /// ns run since the task joined the scheduler.
    pub sum_runtime: u64,
    /// sched_ext weight: 100 at nice 0, ~1.25x per nice step.
    pub weight: u64,
    pub nice: i32,
    /// `ORACLE_TF_*` bits.
    pub flags: u32,
    /// Enqueue generation; echoed in the decision so stale ones are dropped.
    pub gen: u64,
    pub comm: [u8; 16],
}

impl QueuedTask {
    #[allow(dead_code)] // used by tests now, by feature encoders later
    pub fn comm_str(&self) -> String {
        let end = self.comm.iter().position(|&b| b == 0).unwrap_or(self.comm.len());
        String::from_utf8_lossy(&self.comm[..end]).into_owned()
    }

    /// A task bound to one CPU can only be placed there.
    pub fn pinned_cpu(&self) -> Option<u32> {
        (self.nr_cpus_allowed == 1 && self.cpu >= 0).then_some(self.cpu as u32)
    }
}

/// Where a dispatched task should run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The shared queue: the first allowed CPU that frees up takes it.
    AnyCpu,
    Cpu(u32),
}

/// The agent's answer for one queued task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub pid: i32,
    pub target: Target,
    /// Time slice in ns; 0 lets the BPF side use its default.
    pub slice_ns: u64,
    /// Order within the target queue: smaller runs first.
    pub key: u64,
    pub gen: u64,
    pub enq_ts: u64,
}

impl Decision {
    pub fn for_task(task: &QueuedTask, target: Target, slice_ns: u64, key: u64) -> Self {
        Decision { pid: task.pid, target, slice_ns, key, gen: task.gen, enq_ts: task.enq_ts }
    }
}

#[cfg(test)]
pub fn test_task(pid: i32) -> QueuedTask {
    QueuedTask {
        pid,
        tgid: pid,
        cpu: 0,
        nr_cpus_allowed: 2,
        enq_flags: 0,
        wake_flags: 0,
        enq_ts: 1_000,
        last_ran_ts: 0,
        exec_runtime: 0,
        sum_runtime: 0,
        weight: 100,
        nice: 0,
        flags: 0,
        gen: 1,
        comm: *b"task\0\0\0\0\0\0\0\0\0\0\0\0",
    }
}
