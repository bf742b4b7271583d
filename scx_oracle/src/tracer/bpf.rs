//! Loads and attaches trace.bpf.c, hands out its ring buffer and lost counter.
use std::mem::MaybeUninit;
use std::path::Path;

use anyhow::{bail, Context, Result};
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, OpenObject, RingBuffer, RingBufferBuilder};

use super::intf::TRACE_MAX_CPUS;
use super::skel::{TraceSkel, TraceSkelBuilder};

/// What the BPF side filters on (see TraceArgs).
pub struct Filters<'a> {
    pub cpus: Option<&'a [u32]>,
    pub comm_prefix: Option<&'a str>,
}

pub struct Tracer<'obj> {
    skel: TraceSkel<'obj>,
}

const BTF_PATH: &str = "/sys/kernel/btf/vmlinux";

impl<'obj> Tracer<'obj> {
    /// Opens, configures and loads the BPF object; nothing is attached yet.
    pub fn load(
        open_object: &'obj mut MaybeUninit<OpenObject>,
        ring_bytes: u32,
        filters: &Filters,
    ) -> Result<Self> {
        // CO-RE relocations need the running kernel's BTF; say so plainly.
        if !Path::new(BTF_PATH).exists() {
            bail!("kernel BTF not found ({BTF_PATH} missing): the tracer needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
        }
        let mut open = TraceSkelBuilder::default()
            .open(open_object)
            .map_err(|e| anyhow::anyhow!(e))
            .with_context(|| format!("opening the BPF tracer{}", privilege_hint()))?;
        open.maps
            .events
            .set_max_entries(ring_bytes)
            .context("sizing the BPF ring buffer")?;
        let ro = open.maps.rodata_data.as_mut().context("BPF rodata missing")?;
        if let Some(cpus) = filters.cpus {
            ro.filter_cpus = true;
            for &c in cpus {
                debug_assert!(c < TRACE_MAX_CPUS);
                ro.cpu_mask[(c / 64) as usize] |= 1u64 << (c % 64);
            }
        }
        if let Some(p) = filters.comm_prefix {
            ro.comm_prefix_len = p.len() as u32;
            for (d, s) in ro.comm_prefix.iter_mut().zip(p.bytes()) {
                *d = s as _;
            }
        }
        let skel = open
            .load()
            .map_err(|e| anyhow::anyhow!(e))
            .with_context(|| format!("loading the BPF tracer{}", privilege_hint()))?;
        Ok(Tracer { skel })
    }

    /// Attaches the five raw tracepoints; events flow until the links are dropped
    /// (dropping waits for programs still running).
    pub fn attach(&self) -> Result<Vec<Link>> {
        let p = &self.skel.progs;
        let mut links = Vec::new();
        for (name, prog) in [
            ("sched_switch", &p.on_switch),
            ("sched_wakeup", &p.on_wakeup),
            ("sched_wakeup_new", &p.on_wakeup_new),
            ("sched_migrate_task", &p.on_migrate),
            ("sched_process_exit", &p.on_exit),
        ] {
            let link = prog
                .attach()
                .with_context(|| format!("attaching raw tracepoint {name}{}", privilege_hint()))?;
            links.push(link);
        }
        Ok(links)
    }

    /// A ring buffer reader calling `f` for each record (it keeps its own
    /// mapping of the ring, so it may outlive this borrow).
    pub fn ring<F>(&self, f: F) -> Result<RingBuffer<'static>>
    where
        F: FnMut(&[u8]) -> i32 + 'static,
    {
        let mut b = RingBufferBuilder::new();
        b.add(&self.skel.maps.events, f).context("opening the BPF ring buffer")?;
        b.build().context("opening the BPF ring buffer")
    }

    /// Events dropped in BPF because the ring was full, per CPU (index = CPU id).
    pub fn lost_per_cpu(&self) -> Result<Vec<u64>> {
        let per_cpu = self
            .skel
            .maps
            .lost
            .lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY)
            .context("reading the lost-events counter")?
            .unwrap_or_default();
        Ok(per_cpu
            .iter()
            .map(|v| v.get(..8).map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap())))
            .collect())
    }
}

/// A hint appended to load/attach errors when we lack the usual privilege.
fn privilege_hint() -> &'static str {
    if !nix::unistd::geteuid().is_root() {
        " (not running as root: BPF tracing needs root, or CAP_BPF + CAP_PERFMON)"
    } else {
        ""
    }
}
