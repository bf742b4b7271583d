/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_oracle: a sched_ext scheduler whose decisions are made in userspace.
 *
 * ops.enqueue() hands every runnable task to the agent through the "queued"
 * ring buffer; the agent answers through the "decisions" user ring buffer,
 * drained in ops.dispatch() into per-CPU or shared DSQs. BPF keeps the
 * machine alive whatever the agent does:
 *  - the agent has its own DSQ, served first whenever work is pending;
 *  - a 1 s timer wakes the agent when it has not run for a while;
 *  - a full ring sends the task straight to the shared DSQ (congestion);
 *  - kernel threads and the agent's own helper threads never wait for userspace;
 *  - a decision for a task that was dequeued or re-enqueued since is dropped;
 *  - a policy that holds tasks back on purpose (oracle: one task queued ahead per CPU) is
 *    woken when a CPU's queue runs dry or the CPU is about to idle (see refill_needed).
 * Two things the agent's decisions rely on are enforced here, per CPU (struct cpu_slot):
 *  - a slice ends when the agent said, not at the next tick: sched_ext checks slices only
 *    at the tick (4 ms at HZ=250), so a 1.6 ms nice-5 slice ran 4 ms and a 5 ms nice-0 one
 *    8 ms, and nice 0 vs nice 5 shared a CPU 2:1 instead of 3:1 (see slice_timer_fn);
 *  - a woken task's decision preempts its CPU's task once that has run wakeup_preempt_ns,
 *    as the fair class preempts on wakeup; without it a woken task waited out the running
 *    task's whole slice (see preempt_for_wakeup).
 */
#include <scx/common.bpf.h>
#include "intf.h"

char _license[] SEC("license") = "GPL";

UEI_DEFINE(uei);

#define SHARED_DSQ	ORACLE_MAX_CPUS
#define AGENT_DSQ	(ORACLE_MAX_CPUS + 1)
#define HEARTBEAT_NS	(1000ULL * 1000 * 1000)
#define CLOCK_BOOTTIME	7

const volatile u32 agent_pid;
const volatile u64 slice_ns = 5ULL * 1000 * 1000;
/* Dispatch wakeups to idle CPUs in BPF instead of asking the agent. */
const volatile bool direct_idle;
/* Preempt a busy CPU to run the agent when work arrives (see wake_agent). */
const volatile bool preempt_agent = true;
/* End slices with a per-CPU timer rather than at the tick (see slice_timer_fn). */
const volatile bool slice_timer = true;
/* A woken task's decision preempts a task that has run this long (0: never). */
const volatile u64 wakeup_preempt_ns = 1000ULL * 1000;

struct oracle_counters cnt;
u64 lat_hist[ORACLE_LAT_BUCKETS];	/* enqueue -> dispatch, ns */
u64 agent_pending;			/* tasks the agent could dispatch now; the agent
					   also sets it while a round is under way, so a
					   preempted round is resumed first */
u64 agent_held;				/* tasks it holds back until a CPU needs one */
u64 agent_last_run;
static u32 agent_needed;
static bool agent_running;
static u32 agent_kicked;
static u64 nr_cpu_ids;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, ORACLE_RING_ENTRIES * sizeof(struct oracle_queued_task));
} queued SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, ORACLE_RING_ENTRIES * sizeof(struct oracle_decision));
} decisions SEC(".maps");

struct task_ctx {
	u64 gen;
	u64 wake_flags;
	u64 start_ts;
	u64 stop_ts;
	u64 exec_runtime;
	u64 sum_runtime;
	bool idle_cpu;
	bool woken;		/* its pending enqueue was a wakeup */
	u64 last_burst;		/* ns it ran before it last went to sleep */
};

/* What runs on a CPU, for the slice timer and wakeup preemption. */
struct cpu_slot {
	struct bpf_timer timer;
	u64 started;		/* bpf_ktime_get_ns() when our task started; 0: none runs */
	u64 slice_end;		/* when the armed timer ends its slice; 0: not armed */
	u64 burst;		/* that task's last burst before it slept (see preempt_for_wakeup) */
};

/*
 * The tick's length, 1 s / HZ (4 ms at HZ=250): ktime over jiffies since init, once a
 * second has passed; 0 until then. (Not the gaps between ticks: with NO_HZ_FULL a tick
 * restarts at any phase, and the shortest gap undercut the real tick.) A slice at least
 * this long is ended by the tick to within one tick, so its timer is armed only at its last
 * tick (oracle_tick), not at every switch: arming an hrtimer per switch cost a switch storm
 * most of its rate under emulation (stress-ng --switch: x1.91 of EEVDF with neither timer
 * nor wakeup cuts, x0.25 with both).
 */
static u64 tick_ns;
static u64 init_ktime, init_jiffies;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, ORACLE_MAX_CPUS);
	__type(key, u32);
	__type(value, struct cpu_slot);
} cpu_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

struct heartbeat {
	struct bpf_timer timer;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct heartbeat);
} heartbeat SEC(".maps");

static struct task_ctx *lookup_ctx(const struct task_struct *p)
{
	return bpf_task_storage_get(&task_ctxs, (struct task_struct *)p, 0, 0);
}

static bool is_agent(const struct task_struct *p)
{
	return p->pid == agent_pid;
}


static u64 cpu_dsq(s32 cpu)
{
	if (cpu < 0 || cpu >= ORACLE_MAX_CPUS || cpu >= nr_cpu_ids)
		return SHARED_DSQ;
	return (u64)cpu;
}

static bool agent_has_work(void)
{
	if (__sync_fetch_and_and(&agent_needed, 0))
		return true;
	if (agent_pending)
		return true;
	return bpf_ringbuf_query(&queued, BPF_RB_AVAIL_DATA) > 0;
}

/* Log-linear bucket of enqueue->dispatch latency: 4 buckets per power of 2. */
static void record_latency(u64 enq_ts)
{
	u64 now = scx_bpf_now(), d, top;
	u32 msb = 0, idx;

	if (!enq_ts || now < enq_ts)
		return;
	d = now - enq_ts;
	top = d;
	if (top >> 32) { msb += 32; top >>= 32; }
	if (top >> 16) { msb += 16; top >>= 16; }
	if (top >> 8)  { msb += 8;  top >>= 8; }
	if (top >> 4)  { msb += 4;  top >>= 4; }
	if (top >> 2)  { msb += 2;  top >>= 2; }
	if (top >> 1)  { msb += 1; }
	if (msb < ORACLE_LAT_SUB_BITS)
		idx = d;
	else
		idx = ((msb - ORACLE_LAT_SUB_BITS + 1) << ORACLE_LAT_SUB_BITS) |
		      ((d >> (msb - ORACLE_LAT_SUB_BITS)) & ((1 << ORACLE_LAT_SUB_BITS) - 1));
	if (idx >= ORACLE_LAT_BUCKETS)
		idx = ORACLE_LAT_BUCKETS - 1;
	__sync_fetch_and_add(&lat_hist[idx], 1);
}

/* Wake a CPU that can run @p: @cpu if allowed, else any idle allowed CPU. */
static void kick_for(const struct task_struct *p, s32 cpu)
{
	if (cpu >= 0 && bpf_cpumask_test_cpu(cpu, p->cpus_ptr)) {
		scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
		return;
	}
	cpu = scx_bpf_pick_idle_cpu(p->cpus_ptr, 0);
	if (cpu >= 0)
		scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
}

static struct cpu_slot *cpu_slot(s32 cpu)
{
	u32 key = cpu;

	if (cpu < 0 || cpu >= ORACLE_MAX_CPUS)
		return NULL;
	return bpf_map_lookup_elem(&cpu_slots, &key);
}

/* End the running task's slice @slice ns from @now with the CPU's timer (pinned here). */
static void arm_slice_timer(struct cpu_slot *slot, u64 now, u64 slice)
{
	if (!slice_timer || !slice || slice == SCX_SLICE_INF)
		return;
	slot->slice_end = now + slice;
	bpf_timer_start(&slot->timer, slice, BPF_F_TIMER_CPU_PIN);
}

/*
 * A woken task was just queued for @cpu: the task running there is preempted once it has
 * run wakeup_preempt_ns, as the fair class lets a waking task preempt one that has had its
 * share. It is preempted now if it has run that long; else, if it is a hog, its slice is
 * cut to end then (the CPU's slice timer; without that cut a woken task that came just
 * after a switch waited out the whole slice). An idle CPU was kicked by kick_for(); the
 * agent is never preempted here.
 */
static void preempt_for_wakeup(s32 cpu)
{
	struct cpu_slot *slot;
	u64 started, now, end;

	if (!wakeup_preempt_ns || !(slot = cpu_slot(cpu)))
		return;
	started = slot->started;
	if (!started)
		return;
	now = bpf_ktime_get_ns();
	end = started + wakeup_preempt_ns;
	if (now >= end) {
		slot->started = 0;	/* one kick per run of that task */
		slot->slice_end = 0;
		scx_bpf_kick_cpu(cpu, SCX_KICK_PREEMPT);
		__sync_fetch_and_add(&cnt.wakeup_preempts, 1);
		return;
	}
	if (slot->slice_end && slot->slice_end <= end)
		return;
	/*
	 * A task whose last burst was short will likely sleep before the cut: arming a timer
	 * for it is the per-switch cost the lazy slice timer avoids. A hog gets the cut.
	 */
	if (slot->burst < wakeup_preempt_ns)
		return;
	/* Not pinned: this runs on another CPU; the callback kicks @cpu from wherever. */
	slot->slice_end = end;
	bpf_timer_start(&slot->timer, end - now, 0);
	__sync_fetch_and_add(&cnt.wakeup_slice_cuts, 1);
}

/* The slice of the task on this CPU is over: end it now (pinned to its CPU). */
static int slice_timer_fn(void *map, int *key, struct cpu_slot *slot)
{
	u64 end = slot->slice_end;

	/* A stale firing: the task stopped, or the next one re-armed for later. */
	if (!end || bpf_ktime_get_ns() + 20000 < end)
		return 0;
	slot->slice_end = 0;
	scx_bpf_kick_cpu(*key, SCX_KICK_PREEMPT);
	__sync_fetch_and_add(&cnt.slice_timer_ends, 1);
	return 0;
}

/* BPF places @p itself: head of the shared DSQ (key 0), a CPU kicked for it. */
static void insert_shared(struct task_struct *p, u64 enq_flags)
{
	scx_bpf_dsq_insert_vtime(p, SHARED_DSQ, slice_ns, 0, enq_flags);
	kick_for(p, scx_bpf_task_cpu(p));
}

static void kick_agent(void)
{
	struct task_struct *agent = bpf_task_from_pid(agent_pid);

	if (!agent)
		return;
	scx_bpf_kick_cpu(scx_bpf_task_cpu(agent), SCX_KICK_IDLE);
	bpf_task_release(agent);
}

/*
 * Get the runnable agent onto a CPU now rather than when some task's slice runs out: an idle
 * CPU if there is one, else preempt the agent's CPU, at most once per agent run so a burst of
 * enqueues costs a single preemption. (Preempting the CPU that queued the work instead was
 * tried: wakeup p99 under CPU hogs went from 6 to 37 ms in the A/B scenario.)
 */
static void kick_agent_cpu(struct task_struct *agent)
{
	s32 cpu = scx_bpf_pick_idle_cpu(agent->cpus_ptr, 0);

	if (cpu >= 0) {
		scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
	} else if (preempt_agent && !__sync_fetch_and_or(&agent_kicked, 1)) {
		scx_bpf_kick_cpu(scx_bpf_task_cpu(agent), SCX_KICK_PREEMPT);
		__sync_fetch_and_add(&cnt.agent_preempts, 1);
	}
}

/*
 * Work was queued for the agent. If it waits in its DSQ, kick a CPU for it. If it sleeps,
 * do nothing: the ring's wakeup enqueues it, and oracle_enqueue() kicks then. A kick now
 * would find no agent to run, and the preempted task would get a fresh slice while the
 * agent, its one kick spent, waited for that slice to end. (The agent's loop yields rather
 * than sleeps, so this is the rarer path; see run.rs.)
 */
static void wake_agent(void)
{
	struct task_struct *agent;

	if (agent_running)
		return;
	agent = bpf_task_from_pid(agent_pid);
	if (!agent)
		return;
	if (agent->scx.flags & SCX_TASK_QUEUED)
		kick_agent_cpu(agent);
	bpf_task_release(agent);
}

s32 BPF_STRUCT_OPS(oracle_select_cpu, struct task_struct *p, s32 prev_cpu,
		   u64 wake_flags)
{
	struct task_ctx *tctx = lookup_ctx(p);
	bool is_idle = false;
	s32 cpu;

	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	if (tctx) {
		tctx->wake_flags = wake_flags;
		tctx->idle_cpu = is_idle;
	}
	if (is_idle && direct_idle && !is_agent(p)) {
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, slice_ns, 0);
		__sync_fetch_and_add(&cnt.direct_dispatches, 1);
	}
	return cpu;
}

static void send_to_agent(struct task_struct *p, struct task_ctx *tctx,
			  u64 enq_flags)
{
	struct oracle_queued_task *m;

	m = bpf_ringbuf_reserve(&queued, sizeof(*m), 0);
	if (!m) {
		/* Agent too slow: keep the task moving, and say so. */
		__sync_fetch_and_add(&cnt.congested, 1);
		insert_shared(p, enq_flags);
		return;
	}
	m->pid = p->pid;
	m->tgid = p->tgid;
	m->cpu = scx_bpf_task_cpu(p);
	m->nr_cpus_allowed = p->nr_cpus_allowed;
	m->enq_flags = enq_flags;
	m->wake_flags = tctx->wake_flags;
	m->enq_ts = scx_bpf_now();
	m->last_ran_ts = tctx->stop_ts;
	m->exec_runtime = tctx->exec_runtime;
	m->sum_runtime = tctx->sum_runtime;
	m->weight = p->scx.weight;
	m->nice = p->static_prio - 120;
	m->flags = 0;
	if (enq_flags & SCX_ENQ_WAKEUP)
		m->flags |= ORACLE_TF_WAKEUP;
	if (tctx->idle_cpu)
		m->flags |= ORACLE_TF_IDLE_CPU;
	if (enq_flags & SCX_ENQ_LAST)
		m->flags |= ORACLE_TF_LAST;
	m->enq_gen = ++tctx->gen;
	bpf_probe_read_kernel_str(m->comm, sizeof(m->comm), p->comm);
	tctx->woken = enq_flags & SCX_ENQ_WAKEUP;
	tctx->wake_flags = 0;
	tctx->idle_cpu = false;
	bpf_ringbuf_submit(m, 0);
	__sync_fetch_and_add(&cnt.queued, 1);
	wake_agent();
}

void BPF_STRUCT_OPS(oracle_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx;

	if (is_agent(p)) {
		scx_bpf_dsq_insert(p, AGENT_DSQ, slice_ns, enq_flags);
		/* Woken, by the ring or a timer: it has work, run it now (see wake_agent). */
		if (enq_flags & SCX_ENQ_WAKEUP)
			kick_agent_cpu(p);
		return;
	}
	/*
	 * Kernel threads never wait for the agent: per-CPU ones (ksoftirqd...)
	 * and unbound kworkers run the sched_ext watchdog and the I/O the agent
	 * itself may wait on.
	 */
	if (p->flags & PF_KTHREAD) {
		if (p->nr_cpus_allowed == 1)
			scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, slice_ns, enq_flags);
		else
			insert_shared(p, enq_flags);
		__sync_fetch_and_add(&cnt.direct_dispatches, 1);
		__sync_fetch_and_add(&cnt.kthread_dispatches, 1);
		return;
	}
	/*
	 * The agent's other threads (model reload, stats server, trace writer) serve the agent:
	 * they must not wait on its decisions, nor queue behind the load it schedules.
	 */
	if (p->tgid == agent_pid) {
		insert_shared(p, enq_flags);
		__sync_fetch_and_add(&cnt.agent_thread_dispatches, 1);
		return;
	}
	tctx = lookup_ctx(p);
	if (!tctx) {
		insert_shared(p, enq_flags);
		__sync_fetch_and_add(&cnt.direct_dispatches, 1);
		return;
	}
	send_to_agent(p, tctx, enq_flags);
}

/* Apply one agent decision; called from ops.dispatch() via the drain. */
static long apply_decision(struct bpf_dynptr *dynptr, void *ctx)
{
	const struct oracle_decision *d;
	struct task_struct *p;
	struct task_ctx *tctx;
	u64 dsq, slice;
	s32 cpu;

	d = bpf_dynptr_data(dynptr, 0, sizeof(*d));
	if (!d)
		return 0;
	p = bpf_task_from_pid(d->pid);
	if (!p) {
		__sync_fetch_and_add(&cnt.stale_dropped, 1);
		return 1;
	}
	tctx = lookup_ctx(p);
	/* Re-enqueued (newer gen) or no longer queued: the decision is stale. */
	if (!tctx || tctx->gen != d->enq_gen || !(p->scx.flags & SCX_TASK_QUEUED)) {
		__sync_fetch_and_add(&cnt.stale_dropped, 1);
		goto out;
	}
	cpu = d->cpu;
	if (cpu != ORACLE_CPU_ANY && !bpf_cpumask_test_cpu(cpu, p->cpus_ptr)) {
		__sync_fetch_and_add(&cnt.bounced, 1);
		cpu = ORACLE_CPU_ANY;
	}
	dsq = cpu == ORACLE_CPU_ANY ? SHARED_DSQ : cpu_dsq(cpu);
	slice = d->slice_ns ? d->slice_ns : slice_ns;
	/* Bump gen first: a duplicate decision for this enqueue is now stale. */
	tctx->gen++;
	scx_bpf_dsq_insert_vtime(p, dsq, slice, d->key, 0);
	__sync_fetch_and_add(&cnt.user_dispatches, 1);
	record_latency(d->enq_ts);
	if (cpu == ORACLE_CPU_ANY)
		cpu = scx_bpf_task_cpu(p);
	kick_for(p, cpu);
	if (tctx->woken)
		preempt_for_wakeup(cpu);
out:
	bpf_task_release(p);
	return scx_bpf_dispatch_nr_slots() ? 1 : 0;
}

/*
 * A CPU whose queue just ran dry, or that found nothing to run, while the agent holds tasks
 * back: the agent must run to choose this CPU's next task. Its events say which CPU.
 */
static void refill_needed(s32 cpu)
{
	if (agent_held && !scx_bpf_dsq_nr_queued(cpu_dsq(cpu))) {
		__sync_fetch_and_add(&cnt.refill_wakeups, 1);
		__sync_fetch_and_or(&agent_needed, 1);
		wake_agent();
	}
}

/*
 * Serve this CPU's queue and the shared one in key order: with a fixed
 * priority, a CPU kept busy by tasks pinned to it (stress-ng --affinity-pin)
 * would never reach the shared queue and its tasks would stall.
 */
static bool consume_by_key(s32 cpu)
{
	u64 local = cpu_dsq(cpu);
	struct task_struct *lp, *sp;
	bool local_first;

	lp = __COMPAT_scx_bpf_dsq_peek(local);
	sp = __COMPAT_scx_bpf_dsq_peek(SHARED_DSQ);
	local_first = lp && (!sp || lp->scx.dsq_vtime <= sp->scx.dsq_vtime);
	if (local_first && scx_bpf_dsq_move_to_local(local, 0))
		return true;
	/* The shared head may be pinned elsewhere: then the local queue. */
	return scx_bpf_dsq_move_to_local(SHARED_DSQ, 0) ||
	       scx_bpf_dsq_move_to_local(local, 0);
}

void BPF_STRUCT_OPS(oracle_dispatch, s32 cpu, struct task_struct *prev)
{
	bool agent_work;
	long ret;

	ret = bpf_user_ringbuf_drain(&decisions, apply_decision, NULL, BPF_RB_NO_WAKEUP);
	/* One consumer at a time: another CPU draining now is -EBUSY, not a failure. */
	if (ret == -EBUSY)
		__sync_fetch_and_add(&cnt.drain_busy, 1);
	else if (ret < 0)
		__sync_fetch_and_add(&cnt.drain_errors, 1);

	/* Once per call: agent_has_work() consumes the heartbeat flag. */
	agent_work = agent_has_work();
	if (agent_work && scx_bpf_dsq_move_to_local(AGENT_DSQ, 0)) {
		__sync_fetch_and_add(&cnt.agent_dispatches, 1);
		return;
	}
	if (consume_by_key(cpu)) {
		refill_needed(cpu);
		return;
	}
	refill_needed(cpu);
	/* Nothing else wants this CPU: let @prev run on, except an idle agent. */
	if (prev && (prev->scx.flags & SCX_TASK_QUEUED) &&
	    (!is_agent(prev) || agent_work))
		scx_bpf_task_set_slice(prev, slice_ns);
}

void BPF_STRUCT_OPS(oracle_runnable, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx = lookup_ctx(p);

	if (tctx)
		tctx->exec_runtime = 0;
}

void BPF_STRUCT_OPS(oracle_running, struct task_struct *p)
{
	struct task_ctx *tctx;
	struct cpu_slot *slot;
	u64 now, slice;

	if (is_agent(p)) {
		agent_last_run = scx_bpf_now();
		agent_running = true;
		agent_kicked = 0;
		return;
	}
	tctx = lookup_ctx(p);
	if (tctx)
		tctx->start_ts = scx_bpf_now();
	slot = cpu_slot(bpf_get_smp_processor_id());
	if (!slot)
		return;
	now = bpf_ktime_get_ns();
	slot->started = now;
	slot->slice_end = 0;
	/* How long it tends to run: its last burst, or this one so far if longer (a hog). */
	slot->burst = tctx ? (tctx->exec_runtime > tctx->last_burst ? tctx->exec_runtime :
						       tctx->last_burst) : 0;
	slice = p->scx.slice;
	/* Shorter than a tick (or the tick not known yet): only a timer ends it on time. */
	if (!tick_ns || slice < tick_ns)
		arm_slice_timer(slot, now, slice);
}

/* The last tick of a slice: arm its timer so the slice ends on time, not at the next tick. */
void BPF_STRUCT_OPS(oracle_tick, struct task_struct *p)
{
	struct cpu_slot *slot = cpu_slot(bpf_get_smp_processor_id());
	u64 now = bpf_ktime_get_ns(), jiffies;

	if (!slot)
		return;
	if (!tick_ns && now - init_ktime > 1000ULL * 1000 * 1000) {
		jiffies = bpf_jiffies64() - init_jiffies;
		if (jiffies)
			tick_ns = (now - init_ktime) / jiffies;
	}
	if (slot->started && !slot->slice_end && tick_ns && p->scx.slice < tick_ns && !is_agent(p))
		arm_slice_timer(slot, now, p->scx.slice);
}

void BPF_STRUCT_OPS(oracle_stopping, struct task_struct *p, bool runnable)
{
	struct cpu_slot *slot;
	struct task_ctx *tctx;
	u64 now = scx_bpf_now();

	if (is_agent(p)) {
		agent_running = false;
		return;
	}
	slot = cpu_slot(bpf_get_smp_processor_id());
	if (slot) {
		slot->started = 0;
		slot->slice_end = 0;
	}
	tctx = lookup_ctx(p);
	if (!tctx || !tctx->start_ts)
		return;
	tctx->stop_ts = now;
	if (now > tctx->start_ts) {
		tctx->exec_runtime += now - tctx->start_ts;
		tctx->sum_runtime += now - tctx->start_ts;
	}
	if (!runnable)
		tctx->last_burst = tctx->exec_runtime;
}

s32 BPF_STRUCT_OPS(oracle_init_task, struct task_struct *p,
		   struct scx_init_task_args *args)
{
	if (!bpf_task_storage_get(&task_ctxs, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE))
		return -ENOMEM;
	return 0;
}

/* Keeps the agent from looking stalled when nothing else would wake it. */
static int heartbeat_fn(void *map, int *key, struct bpf_timer *timer)
{
	u64 now = scx_bpf_now();

	if (now - agent_last_run >= HEARTBEAT_NS) {
		__sync_fetch_and_or(&agent_needed, 1);
		__sync_fetch_and_add(&cnt.heartbeats, 1);
		kick_agent();
	}
	bpf_timer_start(timer, HEARTBEAT_NS, 0);
	return 0;
}

s32 BPF_STRUCT_OPS_SLEEPABLE(oracle_init)
{
	struct heartbeat *hb;
	u32 key = 0;
	s32 cpu;
	int err;

	nr_cpu_ids = scx_bpf_nr_cpu_ids();
	init_ktime = bpf_ktime_get_ns();
	init_jiffies = bpf_jiffies64();
	bpf_for(cpu, 0, nr_cpu_ids) {
		struct cpu_slot *slot;

		if (cpu >= ORACLE_MAX_CPUS)
			break;
		err = scx_bpf_create_dsq(cpu, -1);
		if (err) {
			scx_bpf_error("create DSQ for CPU %d: %d", cpu, err);
			return err;
		}
		slot = cpu_slot(cpu);
		if (!slot) {
			scx_bpf_error("cpu_slots lookup failed for CPU %d", cpu);
			return -ESRCH;
		}
		bpf_timer_init(&slot->timer, &cpu_slots, CLOCK_MONOTONIC);
		bpf_timer_set_callback(&slot->timer, slice_timer_fn);
	}
	err = scx_bpf_create_dsq(SHARED_DSQ, -1);
	if (!err)
		err = scx_bpf_create_dsq(AGENT_DSQ, -1);
	if (err) {
		scx_bpf_error("create shared/agent DSQ: %d", err);
		return err;
	}

	hb = bpf_map_lookup_elem(&heartbeat, &key);
	if (!hb) {
		scx_bpf_error("heartbeat map lookup failed");
		return -ESRCH;
	}
	bpf_timer_init(&hb->timer, &heartbeat, CLOCK_BOOTTIME);
	bpf_timer_set_callback(&hb->timer, heartbeat_fn);
	return bpf_timer_start(&hb->timer, HEARTBEAT_NS, 0);
}

void BPF_STRUCT_OPS(oracle_exit, struct scx_exit_info *ei)
{
	UEI_RECORD(uei, ei);
}

SCX_OPS_DEFINE(oracle_ops,
	       .select_cpu		= (void *)oracle_select_cpu,
	       .enqueue			= (void *)oracle_enqueue,
	       .dispatch		= (void *)oracle_dispatch,
	       .runnable		= (void *)oracle_runnable,
	       .running			= (void *)oracle_running,
	       .tick			= (void *)oracle_tick,
	       .stopping		= (void *)oracle_stopping,
	       .init_task		= (void *)oracle_init_task,
	       .init			= (void *)oracle_init,
	       .exit			= (void *)oracle_exit,
	       .flags			= SCX_OPS_ENQ_LAST,
	       .timeout_ms		= 5000,
	       .dispatch_max_batch	= 512,
	       .name			= "oracle");
