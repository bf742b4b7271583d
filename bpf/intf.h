/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wire format shared by the BPF scheduler (oracle.bpf.c) and the Rust agent
 * (bindgen turns this header into scx_oracle's bpf_intf.rs). Every struct is
 * made of naturally aligned fixed-width fields, so the layout is identical
 * on both sides; the agent's unit tests check sizes and offsets.
 */
#ifndef __ORACLE_INTF_H
#define __ORACLE_INTF_H

#ifndef __VMLINUX_H__
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed int s32;
typedef signed long long s64;
#endif

enum oracle_consts {
	ORACLE_MAX_CPUS		= 1024,
	ORACLE_COMM_LEN		= 16,
	/* Decision target: the shared DSQ, first allowed CPU that is free. */
	ORACLE_CPU_ANY		= -1,
	/* Ring capacity in messages, both directions. */
	ORACLE_RING_ENTRIES	= 8192,
	/* Latency histogram: 4 sub-buckets per power of two, up to 2^48 ns. */
	ORACLE_LAT_SUB_BITS	= 2,
	ORACLE_LAT_BUCKETS	= 49 << 2,
};

/* ops.select_cpu()/enqueue() facts worth a policy's attention. */
enum oracle_task_flags {
	ORACLE_TF_WAKEUP	= 1 << 0, /* enqueued by a wakeup */
	/* 1 << 1 was "kernel thread": kthreads no longer reach the agent. */
	ORACLE_TF_IDLE_CPU	= 1 << 2, /* @cpu was idle at select_cpu() */
	ORACLE_TF_LAST		= 1 << 3, /* last runnable task on its CPU */
};

/* Kernel -> agent: a task became runnable (BPF ring buffer "queued"). */
struct oracle_queued_task {
	s32 pid;
	s32 tgid;
	s32 cpu;		/* CPU suggested by select_cpu (or its last CPU) */
	s32 nr_cpus_allowed;
	u64 enq_flags;		/* SCX_ENQ_* as passed to ops.enqueue() */
	u64 wake_flags;		/* SCX_WAKE_* seen by ops.select_cpu() */
	u64 enq_ts;		/* scx_bpf_now() at enqueue */
	u64 last_ran_ts;	/* when it last stopped running, 0 if never */
	u64 exec_runtime;	/* ns run since it last slept */
	u64 sum_runtime;	/* ns run since it joined the scheduler */
	u64 weight;		/* p->scx.weight, 100 at nice 0 */
	s32 nice;
	u32 flags;		/* enum oracle_task_flags */
	u64 enq_gen;		/* per-task enqueue generation */
	char comm[ORACLE_COMM_LEN];
};

/* Agent -> kernel: run this task there (BPF user ring buffer "decisions"). */
struct oracle_decision {
	s32 pid;
	s32 cpu;		/* target CPU or ORACLE_CPU_ANY */
	u64 slice_ns;		/* 0 = default slice */
	u64 key;		/* ordering key within the DSQ (smaller first) */
	u64 enq_gen;		/* echo of oracle_queued_task.enq_gen: stale if older */
	u64 enq_ts;		/* echo of oracle_queued_task.enq_ts, for latency */
};

/* Counters in .bss, read by the agent for stats. */
struct oracle_counters {
	u64 queued;		/* tasks sent to the agent */
	u64 user_dispatches;	/* agent decisions applied in ops.dispatch */
	u64 direct_dispatches;	/* dispatched in BPF without the agent */
	u64 kthread_dispatches;	/* ...of which kernel threads */
	u64 congested;		/* ring full: straight to the shared DSQ */
	u64 stale_dropped;	/* decisions for a task no longer waiting */
	u64 bounced;		/* target CPU not allowed: went to shared DSQ */
	u64 agent_dispatches;	/* times the agent itself was put on a CPU */
	u64 heartbeats;		/* timer kicks of an idle-looking agent */
	u64 agent_preempts;	/* CPUs preempted to run a parked agent */
	u64 drain_errors;	/* bpf_user_ringbuf_drain() failures */
	u64 drain_busy;		/* ...found another CPU draining (-EBUSY): not failures */
	u64 refill_wakeups;	/* agent woken to refill a drained CPU queue */
	u64 agent_thread_dispatches; /* the agent's helper threads, placed by BPF */
	u64 slice_timer_ends;	/* slices ended on time by the per-CPU timer */
	u64 wakeup_preempts;	/* CPUs preempted for a woken task's decision */
	u64 wakeup_slice_cuts;	/* ...or whose running slice was cut short for one */
};

#endif /* __ORACLE_INTF_H */
