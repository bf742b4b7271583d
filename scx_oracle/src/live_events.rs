//! The scheduler events an in-process consumer reads live (the oracle policies, shadow mode):
//! the tracer's BPF programs ([`EventSource`]), each poll put in time order, handed to the
//! consumer one by one, and optionally recorded (`--record T.parquet`) exactly as the
//! consumer left them, so `scx_oracle eval`/`encode` on the recording replays what it saw.
use std::mem::MaybeUninit;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use libbpf_rs::OpenObject;
use trace::{source, Event, TraceMeta, TraceWriter};

use crate::tracer::{with_fair_class, BackgroundWriter, EventSource, Priority, QueueOptions, SourceOptions};

struct Recording {
    writer: BackgroundWriter,
    path: PathBuf,
    meta: TraceMeta,
    batch: Vec<Event>,
}

pub struct LiveEvents<'obj> {
    source: EventSource<'obj>,
    /// The last poll, sorted; `buf[next..]` not handed over yet.
    buf: Vec<Event>,
    next: usize,
    record: Option<Recording>,
}

impl<'obj> LiveEvents<'obj> {
    /// Loads and attaches the tracer with `ring_mb` MiB of BPF rings (split between CPUs; the
    /// consumer drains them every round, and their pages count in its locked memory). With
    /// `record`, events also go to that trace file (`meta` is its metadata; the loss report is
    /// added at the end).
    pub fn open(
        open_object: &'obj mut MaybeUninit<OpenObject>,
        ring_mb: u32,
        record: Option<&Path>,
        meta: TraceMeta,
    ) -> Result<Self> {
        // Fail on a bad output path before loading anything.
        let writer = record.map(TraceWriter::create).transpose()?;
        let source = EventSource::open(open_object, &SourceOptions { ring_mb, ..SourceOptions::default() })
            .context("loading the scheduler-event tracer (raw tracepoints)")?;
        let record = match (writer, record) {
            (Some(w), Some(path)) => Some(Recording {
                // SCHED_FIFO like `scx_oracle trace`'s writer: at normal priority a busy host
                // starves it and the recording drops events (counted, but holes).
                writer: BackgroundWriter::spawn(
                    w,
                    source.start_ns(),
                    QueueOptions { priority: Priority::Fifo(1), ..QueueOptions::default() },
                )?,
                path: path.to_path_buf(),
                meta,
                batch: Vec::new(),
            }),
            _ => None,
        };
        Ok(LiveEvents { source, buf: Vec::with_capacity(1 << 16), next: 0, record })
    }

    /// Metadata for a recording made by `what` (e.g. "run --policy oracle").
    pub fn meta(what: &str) -> Result<TraceMeta> {
        with_fair_class(TraceMeta::new(source::BPF_TRACER).with("recorded_by", format!("scx_oracle {what}"))?)
    }

    /// Hands every event available now to `consume`, oldest first (each poll sorted by time,
    /// stable), then records them as `consume` left them. Returns how many.
    pub fn pump(&mut self, consume: impl FnMut(&mut Event) -> Result<()>) -> Result<usize> {
        self.pump_for(None, consume)
    }

    /// [`LiveEvents::pump`], stopping after about `budget` (the rest waits for the next call):
    /// a scheduling round must get back to its decisions even when a burst of events arrives,
    /// or the tasks it holds wait for the whole burst.
    pub fn pump_for(
        &mut self,
        budget: Option<Duration>,
        mut consume: impl FnMut(&mut Event) -> Result<()>,
    ) -> Result<usize> {
        if self.next >= self.buf.len() {
            self.refill(false)?;
        }
        let start = Instant::now();
        let from = self.next;
        let mut first_err = None;
        while self.next < self.buf.len() {
            if let Err(e) = consume(&mut self.buf[self.next]) {
                first_err.get_or_insert(e);
            }
            self.next += 1;
            if (self.next - from) % 64 == 0 && budget.is_some_and(|b| start.elapsed() >= b) {
                break;
            }
        }
        if let Some(r) = &mut self.record {
            r.batch.extend_from_slice(&self.buf[from..self.next]);
            r.writer.send(&mut r.batch)?;
        }
        first_err.map_or(Ok(self.next - from), Err)
    }

    /// The next batch, in time order: what the rings hold now, or (`stopping`) the last
    /// events after the probes are detached.
    fn refill(&mut self, stopping: bool) -> Result<()> {
        self.buf.clear();
        self.next = 0;
        if stopping {
            self.source.stop(&mut self.buf)?;
        } else {
            self.source.poll(&mut self.buf)?;
        }
        self.buf.sort_by_key(|e| e.ts_ns);
        Ok(())
    }

    /// Events the BPF rings dropped so far (and the recorder, when it fell behind).
    pub fn lost(&self) -> u64 {
        self.source.lost() + self.record.as_ref().map_or(0, |r| r.writer.dropped())
    }

    pub fn elapsed_s(&self) -> f64 {
        self.source.elapsed().as_secs_f64()
    }

    /// Detaches, hands over the last events, and completes the recording (its path and
    /// metadata, None when not recording).
    pub fn finish(
        mut self,
        mut consume: impl FnMut(&mut Event) -> Result<()>,
    ) -> Result<Option<(PathBuf, TraceMeta)>> {
        let mut handed = self.pump(&mut consume).map(|_| ());
        self.refill(true)?;
        handed = handed.and(self.pump(&mut consume).map(|_| ()));
        let Some(r) = self.record.take() else { return handed.map(|_| None) };
        let mut meta = r.meta;
        meta.insert("duration_s", format!("{:.3}", self.source.elapsed().as_secs_f64()))?;
        let meta = r.writer.finish(meta, self.source.losses())?;
        handed?;
        Ok(Some((r.path, meta)))
    }
}
