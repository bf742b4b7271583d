//! Loads and attaches trace.bpf.c, hands out its per-CPU ring buffers and lost counter.
use std::mem::MaybeUninit;
use std::path::Path;

use anyhow::{bail, Context, Result};
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use std::os::fd::{AsFd, AsRawFd};

use libbpf_rs::{Link, MapCore, MapFlags, MapHandle, MapType, OpenObject, RingBuffer, RingBufferBuilder};

use super::intf::TRACE_MAX_CPUS;
use super::skel::{TraceSkel, TraceSkelBuilder};

/// What the BPF side filters on (see TraceArgs), and how it writes.
pub struct Filters<'a> {
    pub cpus: Option<&'a [u32]>,
    pub comm_prefix: Option<&'a str>,
    /// Gather each CPU's records into one ring record per `OT_STAGE_BYTES`
    /// (struct ot_stage): cheaper, but a record reaches the ring only when its
    /// batch is full, and the rest is read by [`Tracer::leftovers`] at the end.
    pub batch: bool,
}

pub struct Tracer<'obj> {
    skel: TraceSkel<'obj>,
    /// One ring per possible CPU, also held by the BPF `rings` array.
    rings: Vec<MapHandle>,
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
        let ncpus = libbpf_rs::num_possible_cpus().context("counting possible CPUs")?;
        open.maps
            .rings
            .set_max_entries(ncpus as u32)
            .context("sizing the BPF ring array")?;
        let ro = open.maps.rodata_data.as_mut().context("BPF rodata missing")?;
        if let Some(cpus) = filters.cpus {
            ro.filter_cpus = true;
            for &c in cpus {
                debug_assert!(c < TRACE_MAX_CPUS);
                ro.cpu_mask[(c / 64) as usize] |= 1u64 << (c % 64);
            }
        }
        ro.batch = filters.batch;
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
        let rings = (0..ncpus)
            .map(|cpu| make_ring(&skel, cpu as u32, per_cpu_ring_bytes(ring_bytes, ncpus)))
            .collect::<Result<_>>()?;
        Ok(Tracer { skel, rings })
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

    /// A reader of every CPU's ring calling, for each record of CPU `c`'s ring,
    /// the callback `make(c)` returned; it keeps its own mappings, so it may
    /// outlive this borrow.
    pub fn ring<F>(&self, mut make: impl FnMut(u32) -> F) -> Result<RingBuffer<'static>>
    where
        F: FnMut(&[u8]) -> i32 + 'static,
    {
        let mut b = RingBufferBuilder::new();
        for (cpu, r) in self.rings.iter().enumerate() {
            b.add(r, make(cpu as u32)).context("opening the BPF ring buffers")?;
        }
        b.build().context("opening the BPF ring buffers")
    }

    /// What each CPU's batch still holds (index = CPU id; empty if nothing):
    /// read it after detaching, once the rings are drained, and decode it
    /// after that CPU's ring records.
    pub fn leftovers(&self) -> Result<Vec<Vec<u8>>> {
        let per_cpu = per_cpu_values(&self.skel.maps.cpu_state, "reading the BPF batches")?;
        Ok(per_cpu.iter().map(|v| stage_records(v).to_vec()).collect())
    }

    /// Events dropped in BPF because the ring was full, per CPU (index = CPU id).
    pub fn lost_per_cpu(&self) -> Result<Vec<u64>> {
        let per_cpu = per_cpu_values(&self.skel.maps.lost, "reading the lost-events counter")?;
        Ok(per_cpu
            .iter()
            .map(|v| v.get(..8).map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap())))
            .collect())
    }
}

/// Every CPU's value of entry 0 of a per-CPU array map.
fn per_cpu_values(map: &impl MapCore, what: &'static str) -> Result<Vec<Vec<u8>>> {
    Ok(map.lookup_percpu(&0u32.to_ne_bytes(), MapFlags::ANY).context(what)?.unwrap_or_default())
}

/// The records in a struct ot_stage's bytes (u32 len, u32 events, data), at
/// the start of trace.bpf.c's struct cpu_state.
fn stage_records(value: &[u8]) -> &[u8] {
    let len = value.get(..4).map_or(0, |b| u32::from_ne_bytes(b.try_into().unwrap()) as usize);
    value.get(8..8 + len).unwrap_or_default()
}

/// Each CPU's share of the --ring-mb total: a power of two (what the kernel
/// accepts), at least 64 KiB.
fn per_cpu_ring_bytes(total: u32, ncpus: usize) -> u32 {
    let share = (total / ncpus.max(1) as u32).max(64 << 10);
    1 << (31 - share.leading_zeros())
}

/// Creates CPU `cpu`'s ring and puts it in the BPF `rings` array.
fn make_ring(skel: &TraceSkel, cpu: u32, bytes: u32) -> Result<MapHandle> {
    let opts = libbpf_rs::libbpf_sys::bpf_map_create_opts {
        sz: std::mem::size_of::<libbpf_rs::libbpf_sys::bpf_map_create_opts>() as _,
        ..Default::default()
    };
    let ring = MapHandle::create(MapType::RingBuf, Some(format!("ot_ring{cpu}")), 0, 0, bytes, &opts)
        .with_context(|| format!("creating the {} KiB BPF ring of CPU {cpu}", bytes >> 10))?;
    let fd = ring.as_fd().as_raw_fd() as u32;
    skel.maps
        .rings
        .update(&cpu.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
        .with_context(|| format!("installing the BPF ring of CPU {cpu}"))?;
    Ok(ring)
}

/// A hint appended to load/attach errors when we lack the usual privilege.
fn privilege_hint() -> &'static str {
    if !nix::unistd::geteuid().is_root() {
        " (not running as root: BPF tracing needs root, or CAP_BPF + CAP_PERFMON)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::per_cpu_ring_bytes;

    #[test]
    fn ring_shares_are_powers_of_two() {
        assert_eq!(per_cpu_ring_bytes(64 << 20, 2), 32 << 20);
        assert_eq!(per_cpu_ring_bytes(64 << 20, 3), 16 << 20);
        assert_eq!(per_cpu_ring_bytes(1 << 20, 64), 64 << 10);
        assert_eq!(per_cpu_ring_bytes(1 << 20, 1), 1 << 20);
    }
}
