/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Record format shared by the scheduling-event tracer (trace.bpf.c) and its
 * Rust reader (bindgen turns this header into scx_oracle's trace_intf.rs).
 * Naturally aligned fixed-width fields only, so both sides agree on the
 * layout; the Rust unit tests check the size.
 */
#ifndef __ORACLE_TRACE_INTF_H
#define __ORACLE_TRACE_INTF_H

#ifndef __VMLINUX_H__
typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed int s32;
#endif

enum ot_consts {
	OT_COMM_LEN		= 16,
	/* --cpus bitmap size; CPUs beyond it can only be traced unfiltered. */
	OT_MAX_CPUS		= 4096,
	/*
	 * Slots of each CPU's comm cache (a power of two): a task's comm is sent
	 * when it differs from what slot pid % OT_COMM_SLOTS of this CPU last
	 * sent, so one task costs its comm once per CPU, not once per event.
	 */
	OT_COMM_SLOTS		= 1024,
	/*
	 * Bytes of records a CPU gathers before it writes them to its ring as
	 * one ring record (when batching: see struct ot_stage).
	 */
	OT_STAGE_BYTES		= 4096,
};

/* Values of ot_event.type, one per raw tracepoint. */
enum ot_event_type {
	OT_SWITCH		= 1,
	OT_WAKEUP		= 2,
	OT_WAKEUP_NEW	= 3,
	OT_MIGRATE		= 4,
	OT_EXIT		= 5,
};

/* ot_event.flags */
enum ot_event_flags {
	OT_F_PREEMPT		= 1 << 0, /* switch: prev was preempted (R+) */
	OT_F_NR_RUNNING	= 1 << 1, /* nr_running is valid */
	OT_F_PREV_COMM	= 1 << 2, /* prev's comm follows the record */
	OT_F_NEXT_COMM	= 1 << 3, /* next's comm follows (after prev's, if both) */
	/*
	 * Recorded while another program of ours ran on this CPU (an interrupt
	 * during a wakeup or migrate): its comms are sent but not cached, so the
	 * cache only changes in ring order and userspace can mirror it exactly.
	 */
	OT_F_NESTED		= 1 << 4,
	/*
	 * wakeup: prev_pid and prev_runtime hold the task running on target_cpu
	 * as the woken one was enqueued, and its CPU time then (the enqueue
	 * charged it first: update_curr()), so the fair class's average that the
	 * wakee is placed against can be replayed exactly.
	 */
	OT_F_CURR		= 1 << 5,
};

/*
 * One event: this header, then 0, 1 or 2 comms of OT_COMM_LEN bytes (see
 * OT_F_PREV_COMM, OT_F_NEXT_COMM). A comm left out equals the one the
 * cache slot of its pid holds (the last one sent for that pid by this
 * CPU's ring, in a record without OT_F_NESTED). prev_* is the outgoing (switch) or exiting (exit) task, next_*
 * the incoming (switch) or concerned (wakeup, migrate) task; fields an event
 * does not use are left zero and ignored by the reader. prev_state and
 * prev_exit_state are the raw kernel values: userspace folds them into the
 * tracepoint's report bits (cheaper to test there than in BPF).
 */
struct ot_event {
	u64	ts;		/* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	u32	cpu;		/* migrate: orig_cpu */
	u32	type;		/* enum ot_event_type */
	u32	flags;		/* enum ot_event_flags */
	u32	target_cpu;	/* wakeup: task_cpu(p); migrate: dest_cpu */
	u32	nr_running;	/* rq->nr_running of @cpu, if OT_F_NR_RUNNING */
	s32	prev_pid;
	s32	prev_tgid;
	s32	prev_prio;
	u32	prev_state;	/* sched_switch's prev_state argument */
	s32	prev_exit_state;
	s32	next_pid;
	s32	next_tgid;
	s32	next_prio;
	u32	__pad;
	u64	prev_runtime;	/* switch: prev->se.sum_exec_runtime, its CPU time so far;
				 * wakeup with OT_F_CURR: the same of target_cpu's curr */
};

/*
 * A CPU's batch of records not yet written to its ring (batching on:
 * scx_oracle trace). Records are appended here and the batch becomes one
 * ring record when the next one would not fit, so the ring's reservation
 * and commit are paid once per ~50 events. Userspace reads what is left
 * after detaching. A record's bytes are claimed before they are written, so
 * a program that interrupts another (OT_F_NESTED) appends after it; only if
 * the batch is full then does it go to the ring alone, ahead of the batch.
 */
struct ot_stage {
	u32	len;		/* bytes of data in use */
	u32	events;		/* records in data */
	u8	data[OT_STAGE_BYTES];
};

/* One slot of a CPU's comm cache (BPF-only; userspace keeps a mirror). */
struct ot_comm_slot {
	s32	pid;
	u32	valid;
	char	comm[OT_COMM_LEN];
};

#endif /* __ORACLE_TRACE_INTF_H */
