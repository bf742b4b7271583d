/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_oracle trace: scheduling events into per-CPU BPF ring buffers.
 *
 * Raw tracepoints only (tp_btf/fentry need BPF trampolines, which some of
 * our kernels lack), so task pointers are plain scalars; fields are read
 * with CO-RE (see TASK_RO). One struct ot_event per event, followed by
 * the comms this CPU's ring has not sent yet for those pids (see reserve());
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
/* Gather records per CPU (struct ot_stage); off for a live consumer that wants each event now. */
const volatile bool batch;

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

/*
 * What each CPU keeps between events, in one per-CPU value (one lookup an
 * event): its batch, and its comm cache, what its ring last sent per pid
 * slot (see OT_COMM_SLOTS).
 */
struct cpu_state {
	struct ot_stage stage;	/* first: userspace reads it at offset 0 */
	u32	depth;		/* our programs now running on this CPU (> 1: nested) */
	u32	claiming;	/* one of them is claiming room in the batch (see reserve()) */
	u64	rq;		/* this CPU's struct rq, once learnt (see read_nr_running()) */
	struct ot_comm_slot slot[OT_COMM_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct cpu_state);
} cpu_state SEC(".maps");

/* A task as read for one record: its record fields and its comm. */
struct task_info {
	s32	pid;
	s32	tgid;
	s32	prio;
	u32	__pad;
	u64	comm[OT_COMM_LEN / 8];	/* two words: the cache compares it in two loads */
};

/* A record with both comms; shorter records are a prefix of it. */
struct ot_rec {
	struct ot_event e;
	u64 comm[2][OT_COMM_LEN / 8];
};

static __always_inline bool cached(struct ot_comm_slot *s, const struct task_info *t)
{
	const u64 *have = (const u64 *)s->comm;

	return s->valid && s->pid == t->pid && have[0] == t->comm[0] && have[1] == t->comm[1];
}

static __always_inline void remember(struct ot_comm_slot *s, const struct task_info *t)
{
	u64 *have = (u64 *)s->comm;

	s->pid = t->pid;
	s->valid = 1;
	have[0] = t->comm[0];
	have[1] = t->comm[1];
}

static __always_inline void copy_comm(u64 *to, const struct task_info *t)
{
	to[0] = t->comm[0];
	to[1] = t->comm[1];
}

static __always_inline void count_lost(u32 events)
{
	u32 zero = 0;
	u64 *n = bpf_map_lookup_elem(&lost, &zero);

	if (n)
		*n += events;	/* per-CPU slot: no atomics needed */
}

/* The ring of the CPU we run on. */
static __always_inline void *my_ring(void)
{
	u32 here = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&rings, &here);
}

/* Writes this CPU's batch to its ring as one record (or counts its events lost). */
static __always_inline void flush(struct ot_stage *st)
{
	void *ring = my_ring();
	u32 len = st->len;

	if (len > OT_STAGE_BYTES)	/* never: a bound for the verifier */
		len = OT_STAGE_BYTES;
	/* The bounded value itself must reach the call: without this, clang may pass a
	 * copy taken before the check, which 6.1's verifier sees as unbounded. */
	barrier_var(len);
	if (len && (!ring || bpf_ringbuf_output(ring, st->data, len, BPF_RB_NO_WAKEUP)))
		count_lost(st->events);
	st->len = 0;
	st->events = 0;
}

/* What reserve() leaves for submit(). */
struct sender {
	struct cpu_state *cache;
	struct ot_comm_slot *ps, *ns;	/* slots to update once submitted */
	struct ot_stage *stage;		/* the record is staged there (batching) */
	u32 size;			/* its size */
};

/*
 * Reserves a record in the ring of the CPU we run on (not @cpu: a migrate
 * event of another CPU is still written here, where nothing else races), with
 * room for the comms that this CPU's cache does not hold yet, and writes them
 * (@p for prev, @n for next; NULL where the event has no such task). The
 * cache is updated only once the record is submitted (submit()) and never
 * when nested, so it changes in ring order. A full ring drops the event and
 * counts it in "lost".
 */
static __always_inline struct ot_event *reserve(struct sender *s, u32 type, u32 cpu,
						const struct task_info *p,
						const struct task_info *n)
{
	u32 zero = 0;
	struct cpu_state *c = bpf_map_lookup_elem(&cpu_state, &zero);
	bool send_prev = p, send_next = n, nested = true;
	struct ot_rec *r = NULL;

	s->cache = c;
	s->ps = s->ns = NULL;
	if (c && ++c->depth == 1) {
		nested = false;
		if (p) {
			s->ps = &c->slot[(u32)p->pid & (OT_COMM_SLOTS - 1)];
			send_prev = !cached(s->ps, p);
		}
		if (n) {
			s->ns = &c->slot[(u32)n->pid & (OT_COMM_SLOTS - 1)];
			send_next = !cached(s->ns, n);
		}
	}
	s->stage = NULL;
	s->size = sizeof(struct ot_event) + (send_prev ? OT_COMM_LEN : 0) + (send_next ? OT_COMM_LEN : 0);
	if (batch && c && !c->claiming) {
		struct ot_stage *st = &c->stage;
		u32 at;

		/*
		 * A program that interrupts this one between reading and writing
		 * st->len sees claiming set and writes to the ring on its own,
		 * ahead of the batch; otherwise it appends after our record.
		 */
		c->claiming = 1;
		barrier();
		at = st->len;
		/* Full: the outermost program writes the batch out (a nested one
		 * must not: the one it interrupted may be writing into it). */
		if (at > OT_STAGE_BYTES - sizeof(struct ot_rec) && !nested) {
			flush(st);
			at = 0;
		}
		barrier_var(at);
		if (at <= OT_STAGE_BYTES - sizeof(struct ot_rec)) {
			st->len = at + s->size;
			r = (struct ot_rec *)&st->data[at];
			s->stage = st;
		}
		barrier();
		c->claiming = 0;
	}
	/* Not staged: a record of its own. bpf_ringbuf_reserve() wants a
	 * constant size: one call per size. The ring is looked up only here
	 * and in flush(): a staged record needs none. */
	if (!r) {
		void *ring = my_ring();

		if (!ring)
			goto lost;
		if (send_prev && send_next)
			r = bpf_ringbuf_reserve(ring, sizeof(struct ot_event) + 2 * OT_COMM_LEN, 0);
		else if (send_prev || send_next)
			r = bpf_ringbuf_reserve(ring, sizeof(struct ot_event) + OT_COMM_LEN, 0);
		else
			r = bpf_ringbuf_reserve(ring, sizeof(struct ot_event), 0);
	}
	if (!r)
		goto lost;
	/* The comms sent, prev's first (the order the reader takes them in). */
	if (send_prev && send_next) {
		copy_comm(r->comm[0], p);
		copy_comm(r->comm[1], n);
	} else if (send_prev) {
		copy_comm(r->comm[0], p);
	} else if (send_next) {
		copy_comm(r->comm[0], n);
	}
	if (!send_prev)
		s->ps = NULL;
	if (!send_next)
		s->ns = NULL;
	r->e.ts = bpf_ktime_get_ns();
	r->e.cpu = cpu;
	r->e.type = type;
	r->e.flags = (send_prev ? OT_F_PREV_COMM : 0) | (send_next ? OT_F_NEXT_COMM : 0) |
		     (nested ? OT_F_NESTED : 0);
	r->e.target_cpu = 0;
	r->e.nr_running = 0;
	r->e.prev_pid = p ? p->pid : 0;
	r->e.prev_tgid = p ? p->tgid : 0;
	r->e.prev_prio = p ? p->prio : 0;
	r->e.prev_state = 0;
	r->e.prev_exit_state = 0;
	r->e.next_pid = n ? n->pid : 0;
	r->e.next_tgid = n ? n->tgid : 0;
	r->e.next_prio = n ? n->prio : 0;
	r->e.__pad = 0;
	return &r->e;
lost:
	count_lost(1);
	if (c)
		c->depth--;
	return NULL;
}

/* Submits the record reserve() returned, then updates the cache (prev first,
 * then next: the order userspace applies them in). */
static __always_inline void submit(struct sender *s, struct ot_event *e,
				   const struct task_info *p, const struct task_info *n)
{
	if (s->stage) {
		s->stage->events++;	/* its bytes were claimed in reserve() */
	} else {
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	}
	if (s->ps && p)
		remember(s->ps, p);
	if (s->ns && n)
		remember(s->ns, n);
	if (s->cache)
		s->cache->depth--;
}

/* The comm filter passes an event if any of its tasks' (non-NULL) comm matches. */
static __always_inline bool comm_passes(const struct task_info *p, const struct task_info *n)
{
	if (!comm_prefix_len)
		return true;
	return (p && comm_matches((const char *)p->comm)) || (n && comm_matches((const char *)n->comm));
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

/* Reads task @p into @ti. */
static __always_inline void read_task(struct task_info *ti, struct task_struct *p)
{
	if (HAVE_RO) {
		struct task_struct *t = TASK_RO(p);

		ti->pid = t->pid;
		ti->tgid = t->tgid;
		ti->prio = t->prio;
		__builtin_memcpy(ti->comm, t->comm, OT_COMM_LEN);
	} else {
		ti->pid = BPF_CORE_READ(p, pid);
		ti->tgid = BPF_CORE_READ(p, tgid);
		ti->prio = BPF_CORE_READ(p, prio);
		bpf_core_read(ti->comm, OT_COMM_LEN, &p->comm);
	}
}

static __always_inline u32 task_cpu(struct task_struct *p)
{
	if (HAVE_RO)
		return TASK_RO(p)->thread_info.cpu;
	return BPF_CORE_READ(p, thread_info.cpu);
}

/* rq of each CPU, learnt from a task on it (an rq never moves), for migrate events. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OT_MAX_CPUS);
	__type(key, u32);
	__type(value, u64);
} rq_of_cpu SEC(".maps");

/*
 * nr_running of a CPU's rq, found through p->se.cfs_rq->rq for a task @p on
 * that CPU (NULL: the current task), then kept in @slot: this CPU's
 * cpu_state (one lookup an event already pays) or, for another CPU's rq
 * (migrate), rq_of_cpu. The direct way, bpf_per_cpu_ptr(&runqueues, cpu),
 * needs the kernel to resolve the "runqueues" ksym by kallsyms, which fails
 * without CONFIG_KALLSYMS_ALL (our 6.18 host: "ldimm64 failed to find the
 * address for kernel symbol 'runqueues'") and makes the whole object fail
 * to load. cfs_rq->rq exists with CONFIG_FAIR_GROUP_SCHED (Debian, our
 * kernels); without it nr_running stays null. Every task, idle included,
 * has se.cfs_rq set to a cfs_rq of its CPU by set_task_rq().
 */
static __always_inline void read_nr_running(struct ot_event *e, u64 *slot, struct task_struct *p)
{
	struct rq *rq;

	if (!bpf_core_field_exists(struct cfs_rq, rq) ||
	    !bpf_core_field_exists(struct sched_entity, cfs_rq) || !slot)
		return;
	rq = (struct rq *)*slot;
	if (!rq) {
		if (!p)
			p = (struct task_struct *)bpf_get_current_task();
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

/*
 * The task running on the CPU @p was just enqueued on (p->se.cfs_rq->rq->curr)
 * and its CPU time: the enqueue charged it (update_curr()) before this
 * tracepoint, so userspace can charge it exactly as the kernel did when it
 * placed @p against the queue's average. Same config needs as read_nr_running().
 */
static __always_inline void read_curr(struct ot_event *e, struct task_struct *p)
{
	struct task_struct *curr;

	if (!bpf_core_field_exists(struct cfs_rq, rq) ||
	    !bpf_core_field_exists(struct sched_entity, cfs_rq))
		return;
	if (HAVE_RO) {
		curr = TASK_RO(p)->se.cfs_rq->rq->curr;
		if (!curr)
			return;
		curr = TASK_RO(curr);
		e->prev_pid = curr->pid;
		e->prev_runtime = curr->se.sum_exec_runtime;
	} else {
		curr = BPF_CORE_READ(p, se.cfs_rq, rq, curr);
		if (!curr)
			return;
		e->prev_pid = BPF_CORE_READ(curr, pid);
		e->prev_runtime = BPF_CORE_READ(curr, se.sum_exec_runtime);
	}
	e->flags |= OT_F_CURR;
}

/* The rq slot of the CPU we run on. */
static __always_inline u64 *my_rq(const struct sender *s)
{
	return s->cache ? &s->cache->rq : NULL;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next, unsigned int prev_state)
{
	u32 cpu = bpf_get_smp_processor_id();
	struct task_info p, n;
	struct sender s;
	struct ot_event *e;

	if (!cpu_traced(cpu))
		return 0;
	read_task(&p, prev);
	read_task(&n, next);
	if (!comm_passes(&p, &n) || !(e = reserve(&s, OT_SWITCH, cpu, &p, &n)))
		return 0;
	e->prev_state = prev_state;
	e->prev_exit_state = HAVE_RO ? TASK_RO(prev)->exit_state : BPF_CORE_READ(prev, exit_state);
	/*
	 * The CPU time the kernel charged prev, up to this switch (update_curr() ran
	 * before the pick): EEVDF's virtual runtime grows by exactly this, which a
	 * timestamp difference only approximates (it also counts IRQ time and the
	 * path through __schedule()).
	 */
	e->prev_runtime = HAVE_RO ? TASK_RO(prev)->se.sum_exec_runtime
				  : BPF_CORE_READ(prev, se.sum_exec_runtime);
	if (preempt)
		e->flags |= OT_F_PREEMPT;
	read_nr_running(e, my_rq(&s), prev);
	submit(&s, e, &p, &n);
	return 0;
}

static __always_inline void wakeup(u32 type, struct task_struct *task)
{
	u32 cpu = bpf_get_smp_processor_id();
	/* What the tracepoint prints as target_cpu: task_cpu(p), already chosen. */
	u32 target = task_cpu(task);
	struct task_info n;
	struct sender s;
	struct ot_event *e;

	if (!cpu_traced(cpu) && !cpu_traced(target))
		return;
	read_task(&n, task);
	if (!comm_passes(NULL, &n) || !(e = reserve(&s, type, cpu, NULL, &n)))
		return;
	e->target_cpu = target;
	read_curr(e, task);
	read_nr_running(e, my_rq(&s), NULL);
	submit(&s, e, NULL, &n);
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
int BPF_PROG(on_migrate, struct task_struct *task, int dest_cpu)
{
	/* The tracepoint fires before set_task_cpu() moves p: task_cpu(p) is the origin. */
	u32 orig = task_cpu(task);
	struct task_info n;
	struct sender s;
	struct ot_event *e;

	if (!cpu_traced(orig) && !cpu_traced(dest_cpu))
		return 0;
	read_task(&n, task);
	if (!comm_passes(NULL, &n) || !(e = reserve(&s, OT_MIGRATE, orig, NULL, &n)))
		return 0;
	e->target_cpu = dest_cpu;
	read_nr_running(e, bpf_map_lookup_elem(&rq_of_cpu, &orig), task);
	submit(&s, e, NULL, &n);
	return 0;
}

/* Only arg 0: newer kernels add bool group_dead, older ones do not. */
SEC("raw_tp/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	u32 cpu = bpf_get_smp_processor_id();
	struct task_info p;
	struct sender s;
	struct ot_event *e;

	if (!cpu_traced(cpu))
		return 0;
	read_task(&p, task);
	if (!comm_passes(&p, NULL) || !(e = reserve(&s, OT_EXIT, cpu, &p, NULL)))
		return 0;
	read_nr_running(e, my_rq(&s), task);
	submit(&s, e, &p, NULL);
	return 0;
}
