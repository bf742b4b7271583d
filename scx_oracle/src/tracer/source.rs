//! [`EventSource`]: the BPF tracer as a live, non-blocking stream of decoded
//! events, for `scx_oracle trace` and for in-process consumers (the agent's
//! policy and shadow mode).
use std::cell::{Cell, RefCell};
use std::mem::MaybeUninit;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use libbpf_rs::{Link, OpenObject, RingBuffer};
use trace::meta::{LossCause, LossTally};
use trace::Event;

use super::bpf::{Filters, Tracer};
use super::decode::Decoder;
use super::background::Batch;
use super::spool::SpoolChunk;

/// What to trace; the same knobs as `scx_oracle trace` (see `TraceArgs`).
#[derive(Clone, Debug)]
pub struct SourceOptions {
    /// BPF ring buffer size in MiB, a power of two, split between per-CPU rings.
    pub ring_mb: u32,
    /// Only events whose CPU or target CPU is listed (None: all).
    pub cpus: Option<Vec<u32>>,
    /// Only events whose prev or next comm starts with this (at most 15 bytes).
    pub comm_prefix: Option<String>,
    /// Hand out the ring's records undecoded, as spool frames
    /// ([`poll_raw`](EventSource::poll_raw)) instead of events ([`poll`](EventSource::poll)).
    pub raw: bool,
    /// Let BPF gather each CPU's events into batches of ~50 (one ring write
    /// each, ~30 ns an event less): a recorder's choice. An event then reaches
    /// a poll only once its CPU's batch is full (or at `stop`), so a live
    /// consumer leaves this off.
    pub batch: bool,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions { ring_mb: 64, cpus: None, comm_prefix: None, raw: false, batch: false }
    }
}

/// How often [`EventSource::poll`] reads the per-CPU drop counters (a syscall),
/// so a consumer polling in a tight loop does not pay for it each time.
const LOST_READ_INTERVAL: Duration = Duration::from_millis(10);

/// The loaded and attached BPF tracer.
///
/// Events are those of `scx_oracle trace` (switch, wakeup, wakeup_new,
/// migrate, exit), fully decoded (comm, prev_state, ...). The BPF side never
/// wakes userspace (that would add context switches to what we record): call
/// [`poll`](Self::poll) on your own schedule; every 20 ms keeps a 64 MiB ring
/// far from full at a few million events/s.
///
/// Order: one ring per CPU, read one after the other, so a poll returns each
/// CPU's events in time order but CPUs one after another: events of different
/// CPUs are out of timestamp order. An event sits in the ring of the CPU that
/// produced it, which is its `cpu` except for migrate events (`cpu` is the
/// origin CPU, produced wherever the migration ran). Consumers that need a
/// global order sort by `ts_ns` (stable, to keep same-timestamp order).
pub struct EventSource<'obj> {
    // Field order is drop order: the ring's callback and mapping first, then
    // the links (detaching waits for running programs), then the BPF object.
    ring: RingBuffer<'static>,
    decoded: Rc<RefCell<Vec<Event>>>,
    /// Raw mode: the records as spool frames (see `spool.rs`).
    frames: Rc<RefCell<SpoolChunk>>,
    malformed: Rc<Cell<u64>>,
    /// One per CPU's ring: each mirrors that CPU's comm cache.
    decoders: Vec<Rc<RefCell<Decoder>>>,
    links: Vec<Link>,
    tracer: Tracer<'obj>,
    start: Instant,
    start_ns: u64,
    lost_seen: Vec<u64>,
    lost_read_at: Instant,
    losses: LossTally,
}

impl<'obj> EventSource<'obj> {
    /// Loads the tracer with `opts` and attaches it: events flow from now on.
    /// `open_object` backs the BPF object (as for the scheduler's skeleton).
    pub fn open(open_object: &'obj mut MaybeUninit<OpenObject>, opts: &SourceOptions) -> Result<Self> {
        let filters = Filters { cpus: opts.cpus.as_deref(), comm_prefix: opts.comm_prefix.as_deref(), batch: opts.batch };
        let tracer = Tracer::load(open_object, opts.ring_mb << 20, &filters)?;
        let decoded = Rc::new(RefCell::new(Vec::<Event>::with_capacity(if opts.raw { 0 } else { 1 << 16 })));
        let frames = Rc::new(RefCell::new(if opts.raw { SpoolChunk::with_room(0) } else { SpoolChunk::default() }));
        let malformed = Rc::new(Cell::new(0u64));
        let mut decoders = Vec::new();
        let raw = opts.raw;
        let ring = tracer.ring(|cpu| {
            let (decoded, frames, malformed) = (decoded.clone(), frames.clone(), malformed.clone());
            let decoder = Rc::new(RefCell::new(Decoder::default()));
            decoders.push(decoder.clone());
            move |bytes: &[u8]| {
                if raw {
                    frames.borrow_mut().push(cpu, bytes);
                    return 0;
                }
                let bad = decoder.borrow_mut().decode_all(bytes, &mut decoded.borrow_mut());
                malformed.set(malformed.get() + bad);
                0
            }
        })?;
        let lost_seen = tracer.lost_per_cpu()?;
        let start_ns = monotonic_ns();
        let links = tracer.attach()?;
        let start = Instant::now();
        log::debug!("trace: attached, ring {} MiB", opts.ring_mb);
        Ok(EventSource {
            ring,
            decoded,
            frames,
            malformed,
            decoders,
            links,
            tracer,
            start,
            start_ns,
            lost_seen,
            lost_read_at: start,
            losses: LossTally::default(),
        })
    }

    /// Appends every event available now to `out` and returns how many; never blocks.
    pub fn poll(&mut self, out: &mut Vec<Event>) -> Result<usize> {
        self.consume()?;
        let mut d = self.decoded.borrow_mut();
        let n = d.len();
        if out.is_empty() {
            std::mem::swap(out, &mut d); // the common case: no copy
        } else {
            out.append(&mut d);
        }
        Ok(n)
    }

    /// Raw mode: appends every record available now to `frames` as spool
    /// frames; never blocks.
    pub fn poll_raw(&mut self, frames: &mut SpoolChunk) -> Result<()> {
        self.poll_raw_from(frames, 0).map(drop)
    }

    /// [`poll_raw`](Self::poll_raw), but the records stay pending here (no
    /// copy, they just accumulate) unless they make at least `min_bytes`.
    /// Returns whether they were handed over. Give it an empty chunk with room
    /// (`Batch::with_room`): it becomes the next one records accumulate in.
    pub fn poll_raw_from(&mut self, frames: &mut SpoolChunk, min_bytes: usize) -> Result<bool> {
        self.consume()?;
        let mut f = self.frames.borrow_mut();
        if f.len_bytes() < min_bytes.max(1) {
            return Ok(false);
        }
        if frames.is_empty() {
            std::mem::swap(frames, &mut f);
        } else {
            frames.append(&mut f);
        }
        Ok(true)
    }

    fn consume(&mut self) -> Result<()> {
        self.ring.consume().context("reading the BPF ring buffer")?;
        if self.lost_read_at.elapsed() >= LOST_READ_INTERVAL {
            self.read_lost()?;
        }
        Ok(())
    }

    /// Detaches the probes (waiting for programs still running), then appends
    /// the last events to `out`. Later polls return nothing.
    pub fn stop(&mut self, out: &mut Vec<Event>) -> Result<usize> {
        self.detach();
        let n = out.len();
        self.poll(out)?;
        for (cpu, records) in self.tracer.leftovers()?.iter().enumerate() {
            if let Some(d) = self.decoders.get(cpu) {
                let bad = d.borrow_mut().decode_all(records, out);
                self.malformed.set(self.malformed.get() + bad);
            }
        }
        self.read_lost()?;
        Ok(out.len() - n)
    }

    /// [`stop`](Self::stop) in raw mode: the last records into `frames`.
    pub fn stop_raw(&mut self, frames: &mut SpoolChunk) -> Result<()> {
        self.detach();
        self.poll_raw(frames)?;
        for (cpu, records) in self.tracer.leftovers()?.iter().enumerate() {
            if !records.is_empty() {
                frames.push(cpu as u32, records);
            }
        }
        self.read_lost()
    }

    /// Detaching waits for running programs, so a drain after it sees every record.
    fn detach(&mut self) {
        self.links.clear();
    }

    /// CLOCK_MONOTONIC (the clock of `Event::ts_ns`) when the probes were attached.
    pub fn start_ns(&self) -> u64 {
        self.start_ns
    }

    /// Time since the probes were attached.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Events the BPF side dropped because the ring was full, per CPU, as of the
    /// last poll (index = CPU id).
    pub fn lost_per_cpu(&self) -> &[u64] {
        &self.lost_seen
    }

    /// Total of [`lost_per_cpu`](Self::lost_per_cpu).
    pub fn lost(&self) -> u64 {
        self.lost_seen.iter().sum()
    }

    /// Ring drops by CPU and time (of the poll that saw them), for the file's loss report.
    pub fn losses(&self) -> &LossTally {
        &self.losses
    }

    /// Records that did not decode (never expected; not returned by poll).
    pub fn malformed(&self) -> u64 {
        self.malformed.get()
    }

    /// Comms left out of a record that the decoder could not fill (never
    /// expected; those rows have a null comm).
    pub fn unknown_comms(&self) -> u64 {
        self.decoders.iter().map(|d| d.borrow().unknown_comms()).sum()
    }

    fn read_lost(&mut self) -> Result<()> {
        let now = self.tracer.lost_per_cpu()?;
        let at_ns = self.start.elapsed().as_nanos() as u64;
        for (cpu, (&n, seen)) in now.iter().zip(self.lost_seen.iter_mut()).enumerate() {
            if n > *seen {
                log::debug!("trace: CPU {cpu}: {} events lost (BPF ring full)", n - *seen);
                self.losses.add(LossCause::Ring, cpu as u32, at_ns, n - *seen);
                *seen = n;
            }
        }
        self.lost_read_at = Instant::now();
        Ok(())
    }
}

/// CLOCK_MONOTONIC in ns, the clock of bpf_ktime_get_ns().
pub fn monotonic_ns() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC");
    t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64
}
