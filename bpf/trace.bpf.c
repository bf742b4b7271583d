/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_oracle trace: scheduling events into per-CPU BPF ring buffers.
 *
 * Raw tracepoints only (tp_btf/fentry need BPF trampolines, which some of
 * our kernels lack), so task pointers are plain scalars; fields are read
 * with CO-RE (see TASK_RO). One fixed-size struct ot_event per event;
 * a full ring drops the event and counts it in the per-CPU "lost" array.
 *
 * Records are submitted with BPF_RB_NO_WAKEUP: userspace drains the ring on
 * a timer. Waking the tracer per batch would make it a source of the very
 * context switches it records.
 */
/*
 * Not <scx/common.bpf.h>: it brings sched_ext programs of its own (an fentry
 * probe) that cannot load where BPF trampolines or sched_ext are missing.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "trace_intf.h"

char _license[] SEC("license") = "GPL";

/* Set by userspace before load; frozen rodata lets the verifier drop unused filters. */
const volatile bool filter_cpus;
const volatile u64 cpu_mask[OT_MAX_CPUS / 64];
const volatile u32 comm_prefix_len;
const volatile char comm_prefix[OT_COMM_LEN];

/*
 * One ring per CPU: a shared ring's reservation lock and producer position
 * bounce between CPUs on every event, which is most of a record's cost under
 * a switch storm. Userspace sizes the array to the possible CPUs and fills
 * each slot with a ring of its own (--ring-mb split between them).
 */
struct ot_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);	/* template only: the real rings come from userspace */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);		/* resized to the possible CPUs by userspace */
	__type(key, u32);
	__array(values, struct ot_ring);
} rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} lost SEC(".maps");

static __always_inline bool cpu_traced(u32 cpu)
{
	if (!filter_cpus)
		return true;
	if (cpu >= OT_MAX_CPUS)
		return false;
	return cpu_mask[cpu / 64] & (1ULL << (cpu % 64));
}

static __always_inline bool comm_matches(const char *comm)
{
	for (int i = 0; i < OT_COMM_LEN; i++) {
		if (i >= comm_prefix_len)
			return true;
		if (comm[i] != comm_prefix[i])
			return false;
	}
	return true;
}

/* Reserves a record in the ring of the CPU we run on (not @cpu: a migrate
 * event of another CPU is still written here, where nothing else races). */
static __always_inline struct ot_event *reserve(u32 type, u32 cpu)
{
	u32 here = bpf_get_smp_processor_id();
	struct ot_event *e = NULL;
	void *ring = bpf_map_lookup_elem(&rings, &here);

	if (ring)
		e = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
	if (!e) {
		u32 zero = 0;
		u64 *n = bpf_map_lookup_elem(&lost, &zero);

		if (n)
			(*n)++;	/* per-CPU slot: no atomics needed */
		return NULL;
	}
	e->ts = bpf_ktime_get_ns();
	e->cpu = cpu;
	e->type = type;
	e->flags = 0;
	e->target_cpu = 0;
	e->nr_running = 0;
	e->prev_pid = e->prev_tgid = e->prev_prio = 0;
	e->prev_state = 0;
	e->prev_exit_state = 0;
	e->next_pid = e->next_tgid = e->next_prio = 0;
	e->__pad = 0;
	e->prev_comm[0] = 0;
	e->next_comm[0] = 0;
	return e;
}

/*
 * Submits @e unless the comm filter rejects it. The record was already
 * reserved, so a filtered event costs ring space until it is discarded, but
 * filtering on the comm needs the comm, which lives in the record.
 */
static __always_inline void submit(struct ot_event *e)
{
	if (comm_prefix_len && !comm_matches(e->prev_comm) && !comm_matches(e->next_comm)) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		return;
	}
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/*
 * Task fields are read through bpf_rdonly_cast() (kernel >= 6.2, any program
 * type): it turns the raw_tp scalar into an untrusted BTF pointer whose
 * loads are plain JITed loads with an exception-table fixup, several times
 * cheaper than one bpf_probe_read_kernel() call each (~50 ns in our VMs).
 * Kernels without the kfunc take the probe-read path; the verifier drops
 * the branch not taken.
 */
#define TASK_RO(p) ((struct task_struct *)bpf_rdonly_cast((p), \
		     bpf_core_type_id_kernel(struct task_struct)))
#define HAVE_RO	bpf_ksym_exists(bpf_rdonly_cast)

/* Reads one task into the prev_* (@prev) or next_* fields. */
#define READ_TASK(e, side, p)						\
	do {								\
		if (HAVE_RO) {						\
			struct task_struct *t = TASK_RO(p);		\
			e->side##_pid = t->pid;				\
			e->side##_tgid = t->tgid;			\
			e->side##_prio = t->prio;			\
			__builtin_memcpy(e->side##_comm, t->comm, OT_COMM_LEN); \
		} else {						\
			e->side##_pid = BPF_CORE_READ(p, pid);		\
			e->side##_tgid = BPF_CORE_READ(p, tgid);	\
			e->side##_prio = BPF_CORE_READ(p, prio);	\
			bpf_core_read(e->side##_comm, OT_COMM_LEN, &p->comm); \
		}							\
	} while (0)

static __always_inline u32 task_cpu(struct task_struct *p)
{
	if (HAVE_RO)
		return TASK_RO(p)->thread_info.cpu;
	return BPF_CORE_READ(p, thread_info.cpu);
}

/* rq of each CPU, learnt from a task on it (an rq never moves). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OT_MAX_CPUS);
	__type(key, u32);
	__type(value, u64);
} rq_of_cpu SEC(".maps");

/*
 * nr_running of @cpu's rq, found through p->se.cfs_rq->rq for a task @p on
 * @cpu, then cached. The direct way, bpf_per_cpu_ptr(&runqueues, cpu),
 * needs the kernel to resolve the "runqueues" ksym by kallsyms, which fails
 * without CONFIG_KALLSYMS_ALL (our 6.18 host: "ldimm64 failed to find the
 * address for kernel symbol 'runqueues'") and makes the whole object fail
 * to load. cfs_rq->rq exists with CONFIG_FAIR_GROUP_SCHED (Debian, our
 * kernels); without it nr_running stays null. Every task, idle included,
 * has se.cfs_rq set to a cfs_rq of its CPU by set_task_rq().
 */
static __always_inline void read_nr_running(struct ot_event *e, u32 cpu, struct task_struct *p)
{
	struct rq *rq;
	u64 *slot;

	if (!bpf_core_field_exists(struct cfs_rq, rq) ||
	    !bpf_core_field_exists(struct sched_entity, cfs_rq))
		return;
	slot = bpf_map_lookup_elem(&rq_of_cpu, &cpu);
	if (!slot)
		return;
	rq = (struct rq *)*slot;
	if (!rq) {
		rq = BPF_CORE_READ(p, se.cfs_rq, rq);
		if (!rq)
			return;
		*slot = (u64)rq;
	}
	if (HAVE_RO)
		e->nr_running = ((struct rq *)bpf_rdonly_cast(rq, bpf_core_type_id_kernel(struct rq)))->nr_running;
	else
		e->nr_running = BPF_CORE_READ(rq, nr_running);
	e->flags |= OT_F_NR_RUNNING;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	u32 cpu = bpf_get_smp_processor_id();
	struct ot_event *e;

	if (!cpu_traced(cpu) || !(e = reserve(OT_SWITCH, cpu)))
		return 0;
	READ_TASK(e, prev, prev);
	e->prev_state = prev_state;
	e->prev_exit_state = HAVE_RO ? TASK_RO(prev)->exit_state : BPF_CORE_READ(prev, exit_state);
	if (preempt)
		e->flags |= OT_F_PREEMPT;
	READ_TASK(e, next, next);
	read_nr_running(e, cpu, prev);
	submit(e);
	return 0;
}

static __always_inline void wakeup(u32 type, struct task_struct *p)
{
	u32 cpu = bpf_get_smp_processor_id();
	/* What the tracepoint prints as target_cpu: task_cpu(p), already chosen. */
	u32 target = task_cpu(p);
	struct ot_event *e;

	if (!cpu_traced(cpu) && !cpu_traced(target))
		return;
	if (!(e = reserve(type, cpu)))
		return;
	e->target_cpu = target;
	READ_TASK(e, next, p);
	read_nr_running(e, cpu, (struct task_struct *)bpf_get_current_task());
	submit(e);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *p)
{
	wakeup(OT_WAKEUP, p);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(on_wakeup_new, struct task_struct *p)
{
	wakeup(OT_WAKEUP_NEW, p);
	return 0;
}

SEC("raw_tp/sched_migrate_task")
int BPF_PROG(on_migrate, struct task_struct *p, int dest_cpu)
{
	/* The tracepoint fires before set_task_cpu() moves p: task_cpu(p) is the origin. */
	u32 orig = task_cpu(p);
	struct ot_event *e;

	if (!cpu_traced(orig) && !cpu_traced(dest_cpu))
		return 0;
	if (!(e = reserve(OT_MIGRATE, orig)))
		return 0;
	e->target_cpu = dest_cpu;
	READ_TASK(e, next, p);
	read_nr_running(e, orig, p);
	submit(e);
	return 0;
}

/* Only arg 0: newer kernels add bool group_dead, older ones do not. */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p)
{
	u32 cpu = bpf_get_smp_processor_id();
	struct ot_event *e;

	if (!cpu_traced(cpu) || !(e = reserve(OT_EXIT, cpu)))
		return 0;
	READ_TASK(e, prev, p);
	read_nr_running(e, cpu, p);
	submit(e);
	return 0;
}
