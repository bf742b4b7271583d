//! The ring-buffer plumbing: load and attach the BPF scheduler, receive
//! queued tasks, send decisions, read counters and the exit info. Policies
//! never see this module.
use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::rc::Rc;

use anyhow::{bail, Context, Result};
use libbpf_rs::OpenObject;
use scx_utils::{scx_ops_attach, scx_ops_load, scx_ops_open, uei_exited, uei_report};
use crate::bpf_skel::types::oracle_counters;
use crate::bpf_skel::{BpfSkel, BpfSkelBuilder};
use crate::latency::Histogram;
use crate::task::{Decision, QueuedTask};
use crate::wire;

pub struct Options {
    pub slice_ns: u64,
    pub direct_idle: bool,
    pub preempt_agent: bool,
    /// End slices with a per-CPU timer (false: at the kernel's tick).
    pub slice_timer: bool,
    /// A woken task preempts a task that has run this long; 0 never.
    pub wakeup_preempt_ns: u64,
    /// The queued ring's size instead of the built-in one (libbpf rounds it up).
    pub queue_ring_bytes: Option<u32>,
    pub verbose: bool,
}

/// Why the kernel side stopped, from the scx user_exit_info.
#[derive(Clone, Debug)]
pub struct ExitInfo {
    pub kind_name: &'static str,
    pub reason: String,
    pub message: String,
    /// True when the kernel threw the scheduler out (error, stall, BPF error).
    pub ejected: bool,
}

pub struct BpfScheduler<'obj> {
    skel: BpfSkel<'obj>,
    queued: libbpf_rs::RingBuffer<'obj>,
    inbox: Rc<RefCell<Vec<QueuedTask>>>,
    decisions: libbpf_rs::UserRingBuffer,
    link: Option<libbpf_rs::Link>,
    malformed: Rc<Cell<u64>>,
}

/// Fails early, with the fix, on a kernel without sched_ext.
pub fn check_kernel_support() -> Result<()> {
    let state = std::path::Path::new("/sys/kernel/sched_ext/state");
    if !state.exists() {
        bail!(
            "this kernel ({}) has no sched_ext: {} is missing. scx_oracle needs \
             CONFIG_SCHED_CLASS_EXT=y; run it in the test VM instead: scripts/vm-run demo",
            std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
            state.display()
        );
    }
    if scx_utils::compat::is_sched_ext_enabled().unwrap_or(false) {
        let ops = std::fs::read_to_string("/sys/kernel/sched_ext/root/ops").unwrap_or_default();
        bail!("another sched_ext scheduler is already running ({})", ops.trim());
    }
    Ok(())
}

impl<'obj> BpfScheduler<'obj> {
    pub fn init(open_object: &'obj mut MaybeUninit<OpenObject>, opts: &Options) -> Result<Self> {
        check_kernel_support()?;
        let mut builder = BpfSkelBuilder::default();
        builder.obj_builder.debug(opts.verbose);
        let mut skel = scx_ops_open!(builder, open_object, oracle_ops, None::<libbpf_rs::libbpf_sys::bpf_object_open_opts>)?;

        let rodata = skel.maps.rodata_data.as_mut().context("BPF rodata missing")?;
        rodata.agent_pid = std::process::id();
        rodata.slice_ns = opts.slice_ns;
        rodata.direct_idle = opts.direct_idle;
        rodata.preempt_agent = opts.preempt_agent;
        rodata.slice_timer = opts.slice_timer;
        rodata.wakeup_preempt_ns = opts.wakeup_preempt_ns;
        if let Some(bytes) = opts.queue_ring_bytes {
            skel.maps.queued.set_max_entries(bytes).context("sizing the queued ring")?;
        }

        let mut skel = scx_ops_load!(skel, oracle_ops, uei)?;
        let link = scx_ops_attach!(skel, oracle_ops)?;

        let inbox = Rc::new(RefCell::new(Vec::with_capacity(8192)));
        let malformed = Rc::new(Cell::new(0u64));
        let (sink, bad) = (inbox.clone(), malformed.clone());
        let mut rbb = libbpf_rs::RingBufferBuilder::new();
        rbb.add(&skel.maps.queued, move |bytes: &[u8]| {
            match wire::decode_queued(bytes) {
                Some(t) => sink.borrow_mut().push(t),
                None => bad.set(bad.get() + 1),
            }
            0
        })?;
        let queued = rbb.build().context("building the queued ring buffer")?;
        let decisions = libbpf_rs::UserRingBuffer::new(&skel.maps.decisions)
            .context("opening the decisions user ring buffer")?;
        Ok(BpfScheduler { skel, queued, inbox, decisions, link: Some(link), malformed })
    }

    /// Moves every task waiting in the ring into `out`; returns how many.
    pub fn receive(&mut self, out: &mut Vec<QueuedTask>) -> Result<usize> {
        self.queued.consume().context("consuming the queued ring buffer")?;
        let mut inbox = self.inbox.borrow_mut();
        let n = inbox.len();
        out.append(&mut inbox);
        Ok(n)
    }

    /// Queues one decision for ops.dispatch(). Err(()) means the ring is
    /// full: keep the decision and retry after the kernel drained some.
    pub fn send(&mut self, d: &Decision) -> std::result::Result<(), ()> {
        let wire = wire::encode_decision(d);
        let bytes = wire::decision_bytes(&wire);
        let mut sample = self.decisions.reserve(bytes.len()).map_err(|_| ())?;
        sample.copy_from_slice(bytes);
        self.decisions.submit(sample).map_err(|_| ())
    }

    /// Tells BPF how many tasks the agent still holds, so it keeps running
    /// the agent while work is pending.
    pub fn set_pending(&mut self, n: usize) {
        if let Some(bss) = self.skel.maps.bss_data.as_mut() {
            bss.agent_pending = n as u64;
        }
    }

    /// Tells BPF how many tasks the policy holds back until a CPU needs one, so it wakes the
    /// agent when a CPU's queue runs dry.
    pub fn set_held(&mut self, n: usize) {
        if let Some(bss) = self.skel.maps.bss_data.as_mut() {
            bss.agent_held = n as u64;
        }
    }

    /// The BPF counters (`struct oracle_counters` in bpf/intf.h), totals since load.
    pub fn counters(&self) -> oracle_counters {
        let c = &self.skel.maps.bss_data.as_ref().expect("BPF bss missing").cnt;
        // SAFETY: plain u64 counters updated atomically by BPF; a volatile read keeps the
        // compiler from caching them across loop rounds.
        unsafe { std::ptr::read_volatile(c) }
    }

    /// Records the ring delivered that were too short to decode.
    pub fn malformed_records(&self) -> u64 {
        self.malformed.get()
    }

    /// Kernel-measured enqueue -> dispatch latency histogram.
    pub fn dispatch_latency(&self) -> Histogram {
        let bss = self.skel.maps.bss_data.as_ref().expect("BPF bss missing");
        let counts: Vec<u64> =
            bss.lat_hist.iter().map(|v| unsafe { std::ptr::read_volatile(v) }).collect();
        Histogram::from_counts(&counts)
    }

    /// True once the kernel side has exited (error or unregistration).
    pub fn exited(&self) -> bool {
        uei_exited!(&self.skel, uei)
    }

    /// Detaches (if still attached) and reports why the kernel side exited.
    pub fn shutdown(&mut self) -> ExitInfo {
        drop(self.link.take());
        let info = self.exit_info();
        // Prints the kernel's debug dump, if any, to stderr.
        let _ = uei_report!(&self.skel, uei);
        info
    }

    fn exit_info(&self) -> ExitInfo {
        let uei = &self.skel.maps.data_data.as_ref().expect("BPF data missing").uei;
        let cstr = |b: &[std::ffi::c_char]| {
            let bytes: Vec<u8> = b.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        let kind = unsafe { std::ptr::read_volatile(&uei.kind) };
        ExitInfo {
            kind_name: exit_kind_name(kind),
            reason: cstr(&uei.reason),
            message: cstr(&uei.msg),
            ejected: kind >= scx_utils::ScxExitKind::Error as i32,
        }
    }
}

impl Drop for BpfScheduler<'_> {
    fn drop(&mut self) {
        drop(self.link.take());
    }
}

/// Names of enum scx_exit_kind (include/linux/sched/ext.h).
pub fn exit_kind_name(kind: i32) -> &'static str {
    use scx_utils::ScxExitKind as K;
    match kind {
        k if k == K::None as i32 => "none",
        k if k == K::Done as i32 => "done",
        k if k == K::Unreg as i32 => "unregistered",
        k if k == K::UnregBPF as i32 => "unregistered_by_bpf",
        k if k == K::UnregKern as i32 => "unregistered_by_kernel",
        k if k == K::SysRq as i32 => "sysrq",
        k if k == K::Error as i32 => "error",
        k if k == K::ErrorBPF as i32 => "bpf_error",
        k if k == K::ErrorStall as i32 => "stall",
        _ => "unknown",
    }
}
